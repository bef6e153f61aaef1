from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.models import Invoice, InvoiceLine
from billing.periods import Period
from billing.quotes import Quote
from billing.selectors import organisation_today
from telecom.locks import organisation_for_update


@transaction.atomic
def invoice_issue(
    *,
    organisation: Organisation,
    kind: str,
    quote: Quote,
    actor,
    period: Period | None = None,
    at: datetime | None = None,
) -> Invoice:
    """Issue an invoice with the quote's lines and a gapless sequential number (DESIGN.md s. 4).

    The number is taken under the organisation's row lock, so concurrent issues for one
    organisation queue here and get consecutive numbers; a rollback gives its number back.
    """
    at = at or timezone.now()
    org = organisation_for_update(organisation.pk)
    org.last_invoice_sequence += 1
    org.save(update_fields=["last_invoice_sequence"])
    issued_on = organisation_today(org, at=at)
    invoice = Invoice.objects.create(
        organisation=org,
        sequence=org.last_invoice_sequence,
        number=f"{org.invoice_prefix}-{org.last_invoice_sequence:06d}",
        kind=kind,
        issued_at=at,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=settings.INVOICE_DUE_DAYS),
        period_start=period.start if period else None,
        period_end=period.last_day if period else None,
        currency=quote.currency,
        tax_rate=quote.tax_rate,
        subtotal=quote.subtotal,
        tax=quote.tax,
        total=quote.total,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=line.description,
            kind=line.kind,
            licence_type=line.licence_type,
            quantity=line.quantity,
            unit_price=line.unit_price,
            period_start=line.period_start,
            period_end=line.period_end,
            amount=line.amount,
        )
        for position, line in enumerate(quote.lines, start=1)
    )
    audit_record(
        organisation=org,
        actor=actor,
        action="invoice.issued",
        target=invoice,
        changes={"kind": kind, "total": str(invoice.total), "currency": invoice.currency},
    )
    return invoice
