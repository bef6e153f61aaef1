"""Licences: buy, remove, restore, terminate, assign, add-ons, extensions, lines (rules 1-2, 11-15,
18).

Every public function is one transaction that locks the organisation row first
(`telecom.locks`), then the licences it changes, and checks its rule on the locked rows.

- `checks`: what every service checks first;
- `purchase`: obtaining licences (`LicenceSupply`: free, restore, buy) and their review;
- `removal`: removing, terminating, restoring;
- `assignment`: assigning licences, add-ons, extensions;
- `lines`: non-person assignees;
- `devices`: device orders (rule 22), charged on the next invoice."""

from licensing.services.assignment import (
    AddonOption,
    AddonsReview,
    AllocationResult,
    licence_addons_preview,
    licence_addons_quote,
    licence_allocate,
    licence_assign,
    licence_set_addons,
    licence_set_extension,
    licence_unassign,
    normalise_extension,
    register_number_rules,
)
from licensing.services.checks import (
    check_assignee,
    ensure_not_restricted,
    licences_of,
)
from licensing.services.devices import device_order, device_order_preview
from licensing.services.lines import (
    line_create,
    line_delete,
    line_update,
)
from licensing.services.purchase import (
    FREE_LICENCE_SCAN,
    LicenceSupply,
    PurchaseResult,
    licence_obtain_locked,
    licences_buy_locked,
    licences_purchase,
    licences_purchase_quote,
    licences_restore_locked,
    purchase_lines,
    purchase_quote,
    refuse_unless_auto_purchase,
)
from licensing.services.removal import (
    RemovalResult,
    licence_restore,
    licence_terminate,
    licence_termination_quote,
    licences_end_all_locked,
    licences_removal_quote,
    licences_schedule_removal,
)

__all__ = [
    "FREE_LICENCE_SCAN",
    "AddonOption",
    "AddonsReview",
    "AllocationResult",
    "LicenceSupply",
    "PurchaseResult",
    "RemovalResult",
    "check_assignee",
    "device_order",
    "device_order_preview",
    "ensure_not_restricted",
    "licence_addons_preview",
    "licence_addons_quote",
    "licence_allocate",
    "licence_assign",
    "licence_obtain_locked",
    "licence_restore",
    "licence_set_addons",
    "licence_set_extension",
    "licence_terminate",
    "licence_termination_quote",
    "licence_unassign",
    "licences_buy_locked",
    "licences_end_all_locked",
    "licences_of",
    "licences_purchase",
    "licences_purchase_quote",
    "licences_removal_quote",
    "licences_restore_locked",
    "licences_schedule_removal",
    "line_create",
    "line_delete",
    "line_update",
    "normalise_extension",
    "purchase_lines",
    "purchase_quote",
    "refuse_unless_auto_purchase",
    "register_number_rules",
]
