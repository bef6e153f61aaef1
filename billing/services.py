import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organisation, invoice_prefix
from accounts.roles import ensure_platform_staff as _ensure_platform_staff

# Commitments (rule 16) are billing/commitment_services.py; re-exported for this module's callers.
from billing.commitment_services import commitment_create as commitment_create
from billing.commitment_services import commitment_delete as commitment_delete
from billing.commitment_services import commitment_update as commitment_update
from billing.mail import documents_mail_after_commit
from billing.models import (
    BillingDetails,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    RecordedPaymentMethod,
)
from billing.payments.collection import collect_after_commit
from billing.periods import Period
from billing.quotes import Quote
from billing.selectors import invoice_amount_due, organisation_today
from telecom.errors import InvoiceNotPayable
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
    replaces: Invoice | None = None,
) -> Invoice:
    """Issue an invoice with the quote's lines and a gapless sequential number (docs/rules.md).

    The number is taken under the organisation's row lock, so concurrent issues for one
    organisation queue here and get consecutive numbers; a rollback gives its number back.
    (Renewals issue theirs in SQL, `billing.renewal`, with the same numbers and audit rows.)
    A corrected invoice names the one it `replaces` and bills its period
    (billing.credit_notes.invoice_reissue).
    """
    org = organisation_for_update(organisation.pk, billing_details_id=_CURRENT_DETAILS)
    at = at or timezone.now()
    sequence = sequence_take(org, "last_invoice_sequence")
    issued_on = organisation_today(org, at=at)
    subtotal, tax = quote.subtotal, quote.tax  # each a sum over the lines
    invoice = Invoice.objects.create(
        organisation=org,
        sequence=sequence,
        number=invoice_number(org.pk, sequence),
        kind=kind,
        issued_at=at,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=settings.INVOICE_DUE_DAYS),
        period_start=period.start if period else getattr(replaces, "period_start", None),
        period_end=period.last_day if period else getattr(replaces, "period_end", None),
        replaces=replaces,
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
    audit_record(
        organisation=org,
        actor=actor,
        action="invoice.issued",
        target=invoice,
        changes={"kind": str(kind), "total": str(invoice.total), "currency": invoice.currency},
    )
    documents_mail_after_commit(invoice)
    collect_after_commit([invoice.pk])  # charge the default method (docs/rules.md, payments)
    return invoice


def sequence_take(organisation: Organisation, series: str) -> int:
    """The next number of one of the organisation's gapless series (`last_invoice_sequence`,
    `last_credit_note_sequence`), taken on its row locked by `organisation_for_update`: concurrent
    issues queue on the lock and get consecutive numbers, and a rollback gives the number back.
    A unique (organisation, sequence) constraint on each document catches a path without it."""
    value = getattr(organisation, series) + 1
    setattr(organisation, series, value)
    organisation.save(update_fields=[series])
    return value


def invoice_number(organisation_id: uuid.UUID, sequence: int, series: str = "") -> str:
    """The number of an organisation's invoice `sequence` (gapless per organisation); with
    `series="CN"`, of its credit note (…-CN-000001)."""
    return f"{invoice_prefix(organisation_id)}-{series + '-' if series else ''}{sequence:06d}"


# --- payments (rule 18, docs/rules.md); credit notes are billing/credit_notes.py -------------


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
