"""Console pages for phone numbers (docs/rules.md, rules 1-10 in the administration console).

- `numbers`: the numbers list (filters, search by digits) and each number's page, with its
  assignment history and audit trail; no add or edit form.
- `flows`: every change is a small flow ending in one service call (numbering.services) after a
  page that says what will happen: assign (with a review of the licence it takes and what a
  bought one costs, rules 1-2), reassign (rule 7), change (rule 8), delete into quarantine
  (rule 6) and, for platform staff, recover. A refusal is a message in plain words (no code).
- `members`: the numbers a member holds, on the member's page.
- `console`: numbers by status on the dashboard, numbers by digits in the global search.
"""

from numbering.admin.console import numbers_dashboard, numbers_search
from numbering.admin.members import MemberNumberInline
from numbering.admin.numbers import PhoneNumberAdmin

__all__ = ["MemberNumberInline", "PhoneNumberAdmin", "numbers_dashboard", "numbers_search"]

# The porting requests (rule 20) live in numbering.porting.admin; registered here, on import.
from numbering.porting import admin as porting_admin

porting_admin.register()
