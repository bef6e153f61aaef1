"""Roles map to capabilities here, and only here. The API and the admin both ask this module.

The matrix is API.md's "Roles" table. Platform staff (superusers) hold every capability; a
capability no role lists below (recording a payment, changing the catalogue) is theirs alone.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    FINANCE = "finance"
    USER = "user"


class Cap(StrEnum):
    ORGANISATION_READ = "organisation.read"
    ORGANISATION_CHANGE = "organisation.change"  # also payment method and plan
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    LICENCES_MANAGE = "licences.manage"  # buy, remove, terminate, restore, assign, add-ons, ext.
    LICENCES_READ_ALL = "licences.read_all"
    NUMBERS_MANAGE = "numbers.manage"  # assign, reassign, change, delete numbers; porting
    NUMBERS_READ_ALL = "numbers.read_all"
    INVOICES_READ = "invoices.read"  # read, PDF, CSV export
    BILLING_DETAILS_CHANGE = "billing_details.change"  # who invoices go to and how they are taxed
    # Marking an invoice paid by hand (a transfer received): platform staff only. No customer
    # role ever changes an invoice's payment status; the payment backend records its own.
    PAYMENTS_RECORD = "payments.record"
    # Cards and SEPA mandates: add, remove, choose the default (the owner); "Pay now" an open
    # invoice with one of them (the owner and finance). Reading them is INVOICES_READ.
    PAYMENT_METHODS_MANAGE = "payment_methods.manage"
    INVOICES_PAY = "invoices.pay"
    DEVICES_ORDER = "devices.order"
    USAGE_READ_ALL = "usage.read_all"
    AUDIT_READ = "audit.read"
    CATALOGUE_CHANGE = "catalogue.change"  # platform staff only


_STAFF_READ = {
    Cap.ORGANISATION_READ,
    Cap.MEMBERS_READ,
    Cap.LICENCES_READ_ALL,
    Cap.NUMBERS_READ_ALL,
    Cap.INVOICES_READ,
    Cap.USAGE_READ_ALL,
    Cap.AUDIT_READ,
}
_MANAGE = {Cap.MEMBERS_MANAGE, Cap.LICENCES_MANAGE, Cap.NUMBERS_MANAGE, Cap.DEVICES_ORDER}

CAPABILITIES: dict[Role, frozenset[Cap]] = {
    Role.OWNER: frozenset(
        _STAFF_READ
        | _MANAGE
        | {
            Cap.ORGANISATION_CHANGE,
            Cap.BILLING_DETAILS_CHANGE,
            Cap.PAYMENT_METHODS_MANAGE,
            Cap.INVOICES_PAY,
        }
    ),
    Role.ADMIN: frozenset(_STAFF_READ | _MANAGE),
    Role.FINANCE: frozenset(_STAFF_READ | {Cap.BILLING_DETAILS_CHANGE, Cap.INVOICES_PAY}),
    Role.USER: frozenset({Cap.ORGANISATION_READ}),
}

# Roles a member with this role may give (create, change, delete members holding them).
ASSIGNABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.OWNER: frozenset(Role),
    Role.ADMIN: frozenset({Role.USER, Role.FINANCE}),
    Role.FINANCE: frozenset(),
    Role.USER: frozenset(),
}

# Roles that may sign in to the administration console (the Django admin).
CONSOLE_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.FINANCE})

# Django model permissions ("app_label.model" -> action -> capability) for the admin console.
# A model or action missing here is platform staff only.
MODEL_PERMISSIONS: dict[str, dict[str, Cap]] = {
    "accounts.organisation": {"view": Cap.ORGANISATION_READ, "change": Cap.ORGANISATION_CHANGE},
    "accounts.user": {
        "view": Cap.MEMBERS_READ,
        "add": Cap.MEMBERS_MANAGE,
        "change": Cap.MEMBERS_MANAGE,
        "delete": Cap.MEMBERS_MANAGE,
    },
    "accounts.auditevent": {"view": Cap.AUDIT_READ},
    "licensing.licence": {"view": Cap.LICENCES_READ_ALL, "change": Cap.LICENCES_MANAGE},
    "licensing.line": {
        "view": Cap.LICENCES_READ_ALL,
        "add": Cap.LICENCES_MANAGE,
        "change": Cap.LICENCES_MANAGE,
        "delete": Cap.LICENCES_MANAGE,
    },
    "licensing.licencetype": {"view": Cap.ORGANISATION_READ},
    "licensing.device": {"view": Cap.ORGANISATION_READ},
    "billing.invoice": {"view": Cap.INVOICES_READ},
    # Credit notes are issued by platform staff (billing.credit_notes); members read them.
    "billing.creditnote": {"view": Cap.INVOICES_READ},
    # Who each invoice and credit note was e-mailed to, and whether it went (billing.mail).
    "billing.documentsend": {"view": Cap.INVOICES_READ},
    "billing.billingdetails": {"view": Cap.INVOICES_READ, "add": Cap.BILLING_DETAILS_CHANGE},
    # Commitments (rule 16) are set by platform staff; members read their own.
    "billing.commitment": {"view": Cap.INVOICES_READ},
    # Charges waiting for the next invoice; "add" is the "Order devices" page (rule 22).
    "billing.charge": {"view": Cap.INVOICES_READ, "add": Cap.DEVICES_ORDER},
    "billing.usagerecord": {"view": Cap.USAGE_READ_ALL},
    "billing.paymentmethod": {
        "view": Cap.INVOICES_READ,
        "add": Cap.PAYMENT_METHODS_MANAGE,
        "change": Cap.PAYMENT_METHODS_MANAGE,
        "delete": Cap.PAYMENT_METHODS_MANAGE,
    },
    "numbering.phonenumber": {"view": Cap.NUMBERS_READ_ALL, "change": Cap.NUMBERS_MANAGE},
}


def capabilities_of(user) -> frozenset[Cap]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(Cap)
    return CAPABILITIES.get(Role(user.role), frozenset())


def has_capability(user, cap: Cap) -> bool:
    return cap in capabilities_of(user)


def can_assign_role(actor, role: str) -> bool:
    if actor.is_superuser:
        return True
    return Role(role) in ASSIGNABLE_ROLES.get(Role(actor.role), frozenset())


def ensure_platform_staff(actor, what: str) -> None:
    """Platform staff, or None for the system itself (jobs, the payment backend)."""
    if actor is not None and not getattr(actor, "is_superuser", False):
        raise PermissionDenied(f"Only platform staff may {what}.")
