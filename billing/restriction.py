"""Rule 18, restriction: an organisation with no payment method on file, or an invoice overdue,
cannot buy licences, take numbers or port (docs/rules.md). It belongs to the billing ledger,
which knows invoices; the layers above (licensing, numbering, mass configuration, the console
and the API) ask here."""

from datetime import datetime

from accounts.models import Organisation
from billing.models import Invoice, InvoiceStatus
from billing.selectors import organisation_has_overdue_invoice, organisation_today


def organisation_is_restricted(organisation: Organisation, *, at: datetime | None = None) -> bool:
    """Rule 18: no payment method on file, or an invoice overdue."""
    if not organisation.has_payment_method:
        return True
    today = organisation_today(organisation, at=at)
    return organisation_has_overdue_invoice(organisation, today=today)


def organisation_status(organisation: Organisation, *, at: datetime | None = None) -> str:
    if organisation.closed_at:
        return "closed"
    return "restricted" if organisation_is_restricted(organisation, at=at) else "active"


def organisation_restriction_reasons(
    organisation: Organisation, *, at: datetime | None = None
) -> list[str]:
    """Rule 18, explained: why the organisation is restricted; empty when it is not."""
    reasons = []
    if organisation.closed_at:
        reasons.append("The organisation is closed.")
    if not organisation.has_payment_method:
        reasons.append("No payment method is on file.")
    overdue = list(
        Invoice.objects.filter(
            organisation=organisation,
            status=InvoiceStatus.ISSUED,
            due_on__lt=organisation_today(organisation, at=at),
        )
        .order_by("due_on", "sequence")
        .values_list("number", flat=True)[:6]
    )
    if overdue:
        shown = ", ".join(overdue[:5]) + (", ..." if len(overdue) > 5 else "")
        reasons.append(f"An invoice is overdue: {shown}.")
    return reasons
