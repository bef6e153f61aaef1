from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.models import (
    Charge,
    ChargeKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    UsageCounter,
    UsageRecord,
)
from billing.periods import Period
from billing.quotes import Quote
from billing.selectors import organisation_period, organisation_today
from licensing.models import DevicePrice
from telecom.errors import CallingCreditCapReached, InvoiceNotPayable
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


# --- usage and calling credits (rule 21) -------------------------------------------------------


@transaction.atomic
def usage_record(
    *, number, kind: str, direction: str, started_at: datetime, cost: Decimal,
    duration_seconds: int = 0, destination: str = "",
) -> UsageRecord:
    """Store one usage record, refusing it (and storing nothing) if it would cross the cap.

    The cap check is one conditional UPDATE of the period's counter row: PostgreSQL re-checks
    the condition on the latest row version, so concurrent usages cannot both slip under it.
    """
    if cost < 0:
        raise ValidationError({"cost": ValidationError("Cost cannot be negative.",
                                                       code="min_value")})
    organisation = number.organisation
    period = organisation_period(organisation, at=started_at)
    counter, _ = UsageCounter.objects.get_or_create(
        organisation=organisation, period_start=period.start
    )
    updated = UsageCounter.objects.filter(
        pk=counter.pk, used__lte=organisation.calling_credit_cap - cost
    ).update(used=F("used") + cost)
    if not updated:
        raise CallingCreditCapReached(
            f"This usage ({cost} {organisation.currency}) would exceed the calling-credit cap "
            f"of {organisation.calling_credit_cap} {organisation.currency} for the period."
        )
    from numbering.selectors import number_holder

    member, _line = number_holder(number)
    return UsageRecord.objects.create(
        organisation=organisation, number=number, member=member, kind=kind,
        direction=direction, started_at=started_at, duration_seconds=duration_seconds,
        destination=destination, cost=cost, period_start=period.start,
    )


def usage_used(organisation: Organisation, *, at: datetime | None = None) -> Decimal:
    period = organisation_period(organisation, at=at)
    row = UsageCounter.objects.filter(organisation=organisation,
                                      period_start=period.start).first()
    return row.used if row else Decimal("0.00")


# --- device orders (rule 22) ---------------------------------------------------------------------


@transaction.atomic
def device_order(*, organisation: Organisation, device, quantity: int, actor) -> Charge:
    """A one-off charge for devices, billed on the next invoice (rule 22)."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 1000:
        raise ValidationError({"quantity": ValidationError(
            "Quantity must be a whole number from 1 to 1000.", code="invalid")})
    org = organisation_for_update(organisation.pk)
    unit_price = DevicePrice.objects.get(device=device, currency=org.currency).unit_price
    charge = Charge.objects.create(
        organisation=org, kind=ChargeKind.DEVICE, device=device, quantity=quantity,
        unit_price=unit_price, amount=unit_price * quantity,
        description=f"{device.name} × {quantity}", created_by=actor,
    )
    audit_record(organisation=org, actor=actor, action="device.ordered", target=charge,
                 changes={"device": device.code, "quantity": quantity,
                          "amount": str(charge.amount)})
    return charge


# --- payments, void and reissue (rule 18, DESIGN.md section 4) ------------------------------------


@transaction.atomic
def invoice_record_payment(
    *, invoice: Invoice, actor, method: str = "manual", reference: str = "",
    at: datetime | None = None,
) -> Invoice:
    """Record that an issued invoice was paid in full. Paying lifts the restriction (rule 18)."""
    organisation_for_update(invoice.organisation_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceNotPayable(f"Invoice {invoice.number} is {invoice.status}.")
    at = at or timezone.now()
    Payment.objects.create(invoice=invoice, amount=invoice.total, paid_at=at, method=method,
                           reference=reference, recorded_by=actor)
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = at
    invoice.save(update_fields=["status", "paid_at"])
    audit_record(organisation=invoice.organisation, actor=actor, action="invoice.paid",
                 target=invoice, changes={"amount": str(invoice.total), "method": method})
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor, reason: str) -> Invoice:
    """Void an issued invoice (never edit it); a corrected one is issued with `replaces`."""
    organisation_for_update(invoice.organisation_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceNotPayable(f"Only an issued invoice can be voided; {invoice.number} is "
                                f"{invoice.status}.")
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.save(update_fields=["status", "voided_at"])
    audit_record(organisation=invoice.organisation, actor=actor, action="invoice.voided",
                 target=invoice, changes={"reason": reason})
    return invoice


@transaction.atomic
def invoice_reissue(*, invoice: Invoice, quote: Quote, actor, reason: str) -> Invoice:
    """Void `invoice` and issue a corrected one that replaces it, with a new number."""
    voided = invoice_void(invoice=invoice, actor=actor, reason=reason)
    corrected = invoice_issue(
        organisation=voided.organisation, kind=InvoiceKind.CORRECTION, quote=quote, actor=actor,
        period=None,
    )
    corrected.period_start, corrected.period_end = voided.period_start, voided.period_end
    corrected.replaces = voided
    corrected.save(update_fields=["period_start", "period_end", "replaces"])
    return corrected


@transaction.atomic
def invoices_flag_overdue(*, at: datetime | None = None) -> int:
    """Daily: record each invoice that became overdue (once), restricting its organisation.

    Restriction itself is computed from unpaid overdue invoices (rule 18), so it holds from the
    first day past due whether or not this job has run; the job leaves the audit trail.
    """
    from accounts.models import AuditEvent

    at = at or timezone.now()
    flagged = 0
    candidates = Invoice.objects.filter(
        status=InvoiceStatus.ISSUED, due_on__lt=at.date() + timedelta(days=1)
    ).select_related("organisation")
    already = set(AuditEvent.objects.filter(action="invoice.overdue").values_list(
        "target_id", flat=True))
    for invoice in candidates:
        if str(invoice.pk) in already or not invoice.is_overdue(
                organisation_today(invoice.organisation, at=at)):
            continue
        audit_record(organisation=invoice.organisation, actor=None, action="invoice.overdue",
                     target=invoice, changes={"due_on": invoice.due_on.isoformat()})
        flagged += 1
    return flagged
