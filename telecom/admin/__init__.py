"""The administration console's shared bases: tenancy (`tenancy`), service refusals and the
action pages (`bases`), and the console site with its dashboard and search (`site`).

The names below are what the apps' admin modules import (`from telecom.admin import TenantAdmin`).
"""

from telecom.admin.bases import (
    REFUSALS,
    ActionPages,
    ReadOnlyInline,
    ReviewThenConfirm,
    ServiceRefused,
    YesNoFilter,
    audit_events_of,
    call_service,
    posted,
    refusal_message,
)
from telecom.admin.filters import RowSearchFilter
from telecom.admin.site import (
    TelecomAdminSite,
    organisation_dashboard,
    organisation_from_param,
    platform_overview,
)
from telecom.admin.tenancy import (
    SHARED,
    SHARED_MODELS,
    CatalogueAdmin,
    StaffOnlyAdmin,
    TenantAdmin,
    is_platform_staff,
    organisation_of,
    scope_queryset,
    tenant_path,
)

__all__ = [
    "REFUSALS",
    "SHARED",
    "SHARED_MODELS",
    "ActionPages",
    "CatalogueAdmin",
    "ReadOnlyInline",
    "ReviewThenConfirm",
    "RowSearchFilter",
    "ServiceRefused",
    "StaffOnlyAdmin",
    "TelecomAdminSite",
    "TenantAdmin",
    "YesNoFilter",
    "audit_events_of",
    "call_service",
    "is_platform_staff",
    "organisation_dashboard",
    "organisation_from_param",
    "organisation_of",
    "platform_overview",
    "posted",
    "refusal_message",
    "scope_queryset",
    "tenant_path",
]
