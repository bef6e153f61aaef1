from datetime import date, datetime

from django.utils import timezone

from accounts.models import Organisation
from billing.models import Invoice, InvoiceStatus
from billing.periods import Period, local_date, period_containing


def organisation_today(organisation: Organisation, *, at: datetime | None = None) -> date:
    """The organisation's local date (periods are local dates, docs/rules.md, billing)."""
    return local_date(at or timezone.now(), organisation.timezone)


def organisation_period(organisation: Organisation, *, at: datetime | None = None) -> Period:
    """The billing period the organisation is in at `at` (now by default)."""
    today = max(organisation_today(organisation, at=at), organisation.billing_anchor)
    return period_containing(
        anchor=organisation.billing_anchor, frequency=organisation.billing_frequency, on=today
    )


def organisation_has_overdue_invoice(organisation: Organisation, *, today: date) -> bool:
    return Invoice.objects.filter(
        organisation=organisation, status=InvoiceStatus.ISSUED, due_on__lt=today
    ).exists()


def invoice_list(*, organisation: Organisation | None):
    qs = Invoice.objects.select_related("organisation").prefetch_related("lines__licence_type")
    return qs if organisation is None else qs.filter(organisation=organisation)
