import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organisation, invoice_prefix
from accounts.roles import ensure_platform_staff as _ensure_platform_staff

# Commitments (rule 16) are billing/commitment_services.py; re-exported for this module's callers.
from billing.commitment_services import commitment_create as commitment_create
from billing.commitment_services import commitment_delete as commitment_delete
from billing.commitment_services import commitment_update as commitment_update
from billing.models import (
    BillingDetails,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    RecordedPaymentMethod,
    UsageCounter,
    UsageDirection,
    UsageRecord,
)
from billing.payments.collection import collect_after_commit
from billing.periods import Period, local_midnight
from billing.quotes import Quote
from billing.restriction import organisation_is_suspended
from billing.selectors import invoice_amount_due, organisation_period, organisation_today
from telecom.errors import AccountSuspended, CallingCreditCapReached, InvoiceNotPayable
from telecom.locks import organisation_for_update

# The billing details in force (the latest version), read with the organisation's lock.
_CURRENT_DETAILS = Subquery(
    BillingDetails.objects.filter(organisation=OuterRef("pk"))
    .order_by("-created_at")
    .values("pk")[:1]
)


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
    """Issue an invoice with the quote's lines and a gapless sequential number (docs/rules.md).

    The number is taken under the organisation's row lock, so concurrent issues for one
    organisation queue here and get consecutive numbers; a rollback gives its number back.
    (Renewals issue theirs in SQL, `billing.renewal`, with the same numbers and audit rows.)
    """
    org = organisation_for_update(organisation.pk, billing_details_id=_CURRENT_DETAILS)
    at = at or timezone.now()
    org.last_invoice_sequence += 1
    issued_on = organisation_today(org, at=at)
    subtotal, tax = quote.subtotal, quote.tax  # each a sum over the lines
    invoice = Invoice.objects.create(
        organisation=org,
        sequence=org.last_invoice_sequence,
        number=invoice_number(org.pk, org.last_invoice_sequence),
        kind=kind,
        issued_at=at,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=settings.INVOICE_DUE_DAYS),
        period_start=period.start if period else None,
        period_end=period.last_day if period else None,
        currency=quote.currency,
        tax_rate=quote.tax_rate,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        created_by=actor if getattr(actor, "pk", None) else None,
        billing_details_id=org.billing_details_id,
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
    org.save(update_fields=["last_invoice_sequence"])
    audit_record(
        organisation=org,
        actor=actor,
        action="invoice.issued",
        target=invoice,
        changes={"kind": str(kind), "total": str(invoice.total), "currency": invoice.currency},
    )
    collect_after_commit([invoice.pk])  # charge the default method (docs/rules.md, payments)
    return invoice


def invoice_number(organisation_id: uuid.UUID, sequence: int) -> str:
    """The number of an organisation's invoice `sequence` (gapless per organisation)."""
    return f"{invoice_prefix(organisation_id)}-{sequence:06d}"


# --- usage and calling credits (rule 21) -------------------------------------------------------


@transaction.atomic
def usage_record(
    *,
    number,
    kind: str,
    direction: str,
    started_at: datetime,
    cost: Decimal,
    duration_seconds: int = 0,
    destination: str = "",
) -> UsageRecord:
    """Store one usage record, refusing it (and storing nothing) if it would cross the cap.

    The cap check is one conditional UPDATE of the period's counter row: PostgreSQL re-checks
    the condition on the latest row version, so concurrent usages cannot both slip under it.
    """
    if cost < 0:
        raise ValidationError(
            {"cost": ValidationError("Cost cannot be negative.", code="min_value")}
        )
    if destination and not _DESTINATION.fullmatch(destination):
        raise ValidationError(
            {
                "destination": ValidationError(
                    "The destination is a phone number: digits, with + in front if "
                    "international (* and # for service codes).",
                    code="invalid_destination",
                )
            }
        )
    organisation = number.organisation
    _validate_usage_start(organisation, started_at)
    if direction == UsageDirection.OUTBOUND and organisation_is_suspended(
        organisation, at=started_at
    ):
        raise AccountSuspended()
    # The record belongs to the period of its start, by the organisation's local date.
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
        organisation=organisation,
        number=number,
        member=member,
        kind=kind,
        direction=direction,
        started_at=started_at,
        duration_seconds=duration_seconds,
        destination=destination,
        cost=cost,
        period_start=period.start,
    )


# A dialled number: E.164, a national number or a service code; never free text.
_DESTINATION = re.compile(r"\+?[0-9*#]{1,20}")
# How far ahead of our clock the telephony platform's may run; a later start is a mistake.
USAGE_CLOCK_SKEW = timedelta(minutes=5)


def _validate_usage_start(organisation: Organisation, started_at: datetime) -> None:
    """A usage starts within the organisation's life: not before its first billing period began
    (local midnight of its anchor day, the day it signed up), nor more than a few minutes
    ahead of now. Either would be counted in a period that does not hold it."""
    began = local_midnight(organisation.billing_anchor, organisation.timezone)
    if started_at < began:
        raise ValidationError(
            {
                "started_at": ValidationError(
                    f"This usage starts before the organisation's account began "
                    f"({began.isoformat()}).",
                    code="before_organisation",
                )
            }
        )
    latest = timezone.now() + USAGE_CLOCK_SKEW
    if started_at > latest:
        raise ValidationError(
            {
                "started_at": ValidationError(
                    f"This usage starts in the future (after {latest.isoformat()}); "
                    "send it once it has started.",
                    code="in_the_future",
                )
            }
        )


def usage_used(
    organisation: Organisation, *, at: datetime | None = None, lock: bool = False
) -> Decimal:
    """What the period has used of its calling credit; with `lock`, the period's counter row is
    locked (inside the caller's transaction) so that no usage is recorded meanwhile."""
    period = organisation_period(organisation, at=at)
    rows = UsageCounter.objects.filter(organisation=organisation, period_start=period.start)
    row = (rows.select_for_update() if lock else rows).first()
    return row.used if row else Decimal("0.00")


def calling_credit_cap_validate(
    organisation: Organisation, cap: Decimal, *, lock: bool = False
) -> None:
    """Rule 21: a cap is a non-negative amount, and not below what the current period has
    already used (that usage happened; a lower cap would be crossed before it was set).

    With `lock` (inside the service's transaction) the period's counter row is locked, so a
    usage being recorded now is counted before the comparison or waits until the cap is set.
    """
    if cap is None or cap < 0:
        raise ValidationError(
            {
                "calling_credit_cap": ValidationError(
                    "The calling-credit cap cannot be negative.", code="min_value"
                )
            }
        )
    used = usage_used(organisation, lock=lock)
    if cap < used:
        raise ValidationError(
            {
                "calling_credit_cap": ValidationError(
                    f"This period has already used {used} {organisation.currency} of calling "
                    f"credit; the cap cannot be set below that ({cap} {organisation.currency}).",
                    code="below_used",
                )
            }
        )


# --- payments, void and reissue (rule 18, docs/rules.md) ---------------------------------------


@transaction.atomic
def invoice_record_payment(
    *,
    invoice: Invoice,
    actor,
    method: str = "manual",
    reference: str = "",
    at: datetime | None = None,
) -> Invoice:
    """Record that an issued invoice was paid in full. Paying lifts the restriction (rule 18).

    `actor` is platform staff, or None for the payment backend itself: no customer role ever
    changes an invoice's payment status. Staff name how it was paid (one of
    `RecordedPaymentMethod`) and the bank's or processor's reference, so the payment can be
    traced; the backend's own records carry what the provider gives.
    """
    _ensure_platform_staff(actor, "record a payment")
    method, reference = (method or "").strip(), (reference or "").strip()
    _validate_payment_record(actor, method=method, reference=reference)
    organisation_for_update(invoice.organisation_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    due = invoice_amount_due(invoice)
    if invoice.status != InvoiceStatus.ISSUED or due <= 0:
        raise InvoiceNotPayable(f"Invoice {invoice.number} is {invoice.status}.")
    at = at or timezone.now()
    Payment.objects.create(
        invoice=invoice,
        amount=due,
        paid_at=at,
        method=method,
        reference=reference,
        recorded_by=actor,
    )
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = at
    invoice.save(update_fields=["status", "paid_at"])
    audit_record(
        organisation=invoice.organisation,
        actor=actor,
        action="invoice.paid",
        target=invoice,
        changes={"amount": str(due), "method": method},
    )
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor, reason: str) -> Invoice:
    """Void an issued invoice (never edit it); a corrected one is issued with `replaces`."""
    _ensure_platform_staff(actor, "void or reissue an invoice")
    organisation_for_update(invoice.organisation_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceNotPayable(
            f"Only an issued invoice can be voided; {invoice.number} is {invoice.status}."
        )
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.save(update_fields=["status", "voided_at"])
    audit_record(
        organisation=invoice.organisation,
        actor=actor,
        action="invoice.voided",
        target=invoice,
        changes={"reason": reason},
    )
    return invoice


@transaction.atomic
def invoice_reissue(*, invoice: Invoice, quote: Quote, actor, reason: str) -> Invoice:
    """Void `invoice` and issue a corrected one that replaces it, with a new number."""
    voided = invoice_void(invoice=invoice, actor=actor, reason=reason)
    corrected = invoice_issue(
        organisation=voided.organisation,
        kind=InvoiceKind.CORRECTION,
        quote=quote,
        actor=actor,
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
    first day past due whether or not this job has run; the job leaves the audit trail. Each
    invoice is marked by one conditional UPDATE (`overdue_flagged_at IS NULL`), and only the rows
    that UPDATE changed are audited: two runs at once record each invoice once
    (docs/rules.md#rule-18).
    """
    at = at or timezone.now()
    candidates = Invoice.objects.filter(
        status=InvoiceStatus.ISSUED,
        overdue_flagged_at__isnull=True,
        due_on__lt=at.date() + timedelta(days=1),
    ).select_related("organisation")
    overdue = {
        invoice.pk: invoice
        for invoice in candidates
        if invoice.is_overdue(organisation_today(invoice.organisation, at=at))
    }
    if not overdue:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        # A concurrent run's UPDATE of the same row waits for ours to commit, then finds
        # `overdue_flagged_at` set and leaves the row out of its RETURNING.
        cursor.execute(
            f"UPDATE {Invoice._meta.db_table} SET overdue_flagged_at = %s"
            " WHERE id = ANY(%s) AND overdue_flagged_at IS NULL AND status = %s"
            " RETURNING id",
            [at, list(overdue), InvoiceStatus.ISSUED],
        )
        changed = sorted(str(row[0]) for row in cursor.fetchall())
        for pk in changed:
            invoice = overdue[uuid.UUID(pk)]
            audit_record(
                organisation=invoice.organisation,
                actor=None,
                action="invoice.overdue",
                target=invoice,
                changes={"due_on": invoice.due_on.isoformat()},
            )
    return len(changed)


def _validate_payment_record(actor, *, method: str, reference: str) -> None:
    errors = {}
    by_person = actor is not None
    if not method:
        errors["method"] = ValidationError(
            "Say how the invoice was paid (bank transfer, card, ...).", code="required"
        )
    elif by_person and method not in RecordedPaymentMethod.values:
        errors["method"] = ValidationError(
            f"“{method}” is not a payment method; use one of "
            f"{', '.join(RecordedPaymentMethod.values)}.",
            code="invalid_choice",
        )
    if by_person and not reference:
        errors["reference"] = ValidationError(
            "Give the bank's or the processor's reference of the payment, so it can be traced.",
            code="required",
        )
    if errors:
        raise ValidationError(errors)
