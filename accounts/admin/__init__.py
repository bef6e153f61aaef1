"""Console pages for the organisation, its members and its audit trail. Importing the package
registers every admin (Django's autodiscovery)."""

from accounts.admin import audit, members, organisation
from accounts.admin.members import MemberAdmin
from accounts.admin.organisation import OrganisationAdmin

__all__ = ["MemberAdmin", "OrganisationAdmin", "audit", "members", "organisation"]
