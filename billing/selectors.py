from datetime import date, datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from accounts.models import Organisation
from billing.models import Invoice, InvoiceStatus, Payment
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


def invoice_amount_due(invoice: Invoice) -> Decimal:
    """What is left to pay on an issued invoice: its total less the payments received (and,
    once they exist, its credit notes); zero for a paid or void one. The one home of this sum:
    collection, "Pay now" and the dunning ladder ask here."""
    if invoice.status != InvoiceStatus.ISSUED:
        return Decimal("0.00")
    return max(invoice.total - invoice_paid_amount(invoice), Decimal("0.00"))


def invoice_paid_amount(invoice: Invoice) -> Decimal:
    """The sum of the payments received for `invoice`."""
    paid = Payment.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"]
    return paid or Decimal("0.00")
