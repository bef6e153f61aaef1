from copy import copy
from datetime import date, datetime
from decimal import Decimal

from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Organisation
from billing.models import CreditNote, Invoice, InvoiceStatus, Payment, Refund
from billing.payments.models import RefundStatus
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
    """Invoices with what was credited and paid on each read in the same query, for
    `invoice_amount_due`."""
    qs = (
        Invoice.objects.select_related("organisation")
        .prefetch_related("lines__licence_type")
        .annotate(credited_sum=_sum_of(CreditNote, "total"), **_paid_and_refunded())
    )
    return qs if organisation is None else qs.filter(organisation=organisation)


def _paid_and_refunded() -> dict:
    """The payments received and what succeeded in refunding them, as annotations."""
    return {
        "paid_sum": _sum_of(Payment, "amount"),
        "refunded_sum": _sum_of(
            Refund, "amount", invoice="payment__invoice", status=RefundStatus.SUCCEEDED
        ),
    }


def _sum_of(model, field: str, *, invoice: str = "invoice", **where):
    rows = model.objects.filter(**{invoice: OuterRef("pk")}, **where).order_by().values(invoice)
    return Coalesce(
        Subquery(rows.annotate(sum=Sum(field)).values("sum")[:1]), Value(Decimal("0.00"))
    )


def invoice_amount_due(invoice: Invoice) -> Decimal:
    """What the invoice still asks: its total less its credit notes and the payments received,
    each payment less what was refunded of it (docs/rules.md, "Credit notes", "Refunds"). The
    one place this is computed: pages, the API, the PDF, Factur-X, e-mails, collection,
    "Pay now" and the dunning ladder read it here."""
    credited = getattr(invoice, "credited_sum", None)
    if credited is None:  # not read with `invoice_list`
        credited = invoice.credit_notes.aggregate(sum=Sum("total"))["sum"] or Decimal("0.00")
    paid = getattr(invoice, "paid_sum", None)
    refunded = getattr(invoice, "refunded_sum", None)
    if paid is None or refunded is None:  # one query for both
        paid, refunded = _paid_and_refunded_of(invoice)
    paid -= refunded
    # Never below zero: a payment that crossed a credit note is an overpayment, not a debt.
    return max(invoice.total - credited - paid, Decimal("0.00"))


def invoice_amount_due_after(
    invoice: Invoice, *, credit: Decimal, refund: Decimal = Decimal("0.00")
) -> Decimal:
    """What `invoice_amount_due` will say once a credit note of `credit` (and a refund of
    `refund`) is added: the same function, given the sums it would read then."""
    after = copy(invoice)
    after.credited_sum = sum(invoice_credited(invoice), Decimal("0.00")) + credit
    after.paid_sum, refunded = _paid_and_refunded_of(invoice)
    after.refunded_sum = refunded + refund
    return invoice_amount_due(after)


def invoice_credited(invoice: Invoice) -> tuple[Decimal, Decimal]:
    """(subtotal, tax) already credited on the invoice by its credit notes."""
    sums = invoice.credit_notes.aggregate(subtotal=Sum("subtotal"), tax=Sum("tax"))
    return sums["subtotal"] or Decimal("0.00"), sums["tax"] or Decimal("0.00")


def credit_note_list(*, organisation: Organisation | None):
    qs = CreditNote.objects.select_related("organisation", "invoice").prefetch_related("lines")
    return qs if organisation is None else qs.filter(organisation=organisation)


def _paid_and_refunded_of(invoice: Invoice) -> tuple[Decimal, Decimal]:
    sums = Invoice.objects.filter(pk=invoice.pk).annotate(**_paid_and_refunded())
    return sums.values_list("paid_sum", "refunded_sum").get()
