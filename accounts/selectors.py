from datetime import datetime

from accounts.models import MemberStatus, Organisation, User


def organisation_is_restricted(organisation: Organisation, *, at: datetime | None = None) -> bool:
    """Rule 18: no payment method on file, or an invoice overdue."""
    from billing.selectors import organisation_has_overdue_invoice, organisation_today

    if not organisation.has_payment_method:
        return True
    today = organisation_today(organisation, at=at)
    return organisation_has_overdue_invoice(organisation, today=today)


def organisation_status(organisation: Organisation, *, at: datetime | None = None) -> str:
    if organisation.closed_at:
        return "closed"
    return "restricted" if organisation_is_restricted(organisation, at=at) else "active"


def member_list(*, organisation: Organisation | None):
    qs = User.objects.filter(is_superuser=False)
    return qs if organisation is None else qs.filter(organisation=organisation)


def active_members(*, organisation: Organisation):
    return member_list(organisation=organisation).exclude(status=MemberStatus.DEACTIVATED)
