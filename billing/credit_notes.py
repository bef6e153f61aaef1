"""Credit notes: the one way an issued invoice is corrected (docs/rules.md, "Credit notes").

A credit note takes back the whole invoice, some of its lines (in whole or in part) or an
amount, at the invoice's own rate and VAT treatment, and never more than is left to credit.
`credit_note_preview` is what the console and the API show before confirming;
`credit_note_issue` issues exactly that, under the organisation's lock, in the organisation's
gapless credit-note series. An invoice credited in full is "credited"; "credit, then issue a new
invoice" is `invoice_reissue`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.audit import audit_record
from accounts.roles import ensure_platform_staff
from billing.mail import documents_mail_after_commit
from billing.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
)
from billing.quotes import Quote
from billing.selectors import (
    invoice_amount_due,
    invoice_amount_due_after,
    invoice_credited,
    organisation_today,
)
from billing.services import invoice_issue, invoice_number, sequence_take
from telecom.errors import CreditExceedsInvoice
from telecom.locks import organisation_for_update
from telecom.money import tax_amount

CREDITABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)


@dataclass(frozen=True)
class CreditLine:
    description: str
    kind: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    invoice_line: InvoiceLine | None = None
    period_start: object = None
    period_end: object = None


@dataclass(frozen=True)
class CreditDraft:
    """What a credit note will say, to the cent; the review and the note are equal."""

    invoice: Invoice
    reason: str
    lines: list[CreditLine] = field(default_factory=list)
    subtotal: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    due_before: Decimal = Decimal("0.00")
    due_after: Decimal = Decimal("0.00")  # never below zero: a paid invoice is overpaid instead
    full: bool = False  # credits all that was left: the invoice becomes "credited"

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    @property
    def currency(self) -> str:
        return self.invoice.currency

    @property
    def tax_rate(self) -> Decimal:
        return self.invoice.tax_rate


def credit_note_preview(
    *,
    invoice: Invoice,
    reason: str,
    whole: bool = False,
    lines: list[dict] | None = None,
    amount: Decimal | None = None,
    description: str = "",
) -> CreditDraft:
    """The credit note `credit_note_issue` would issue now: the whole invoice (what is left of
    it), some lines (`[{"position": 2}, {"position": 3, "amount": Decimal("5.00")}]`, amounts
    excluding tax) or one amount excluding tax. Refuses (nothing changes) a reason left blank,
    not exactly one of the three, an amount not above zero (400) and more than is left to
    credit (409 `credit_exceeds_invoice`)."""
    reason = (reason or "").strip()
    _validate_request(reason=reason, whole=whole, lines=lines, amount=amount)
    if invoice.status not in CREDITABLE:
        raise CreditExceedsInvoice(f"Invoice {invoice.number} is credited in full already.")
    credited_subtotal, credited_tax = invoice_credited(invoice)
    left_subtotal = invoice.subtotal - credited_subtotal
    left_tax = invoice.tax - credited_tax
    if whole:
        credit_lines = _whole(invoice, left_subtotal, untouched=credited_subtotal == 0)
    elif lines is not None:
        credit_lines = _of_lines(invoice, lines)
    else:
        credit_lines = [
            CreditLine(
                description=(description or "").strip() or f"Credit on invoice {invoice.number}",
                kind="adjustment",
                quantity=1,
                unit_price=amount,
                amount=amount,
            )
        ]
    subtotal = sum((line.amount for line in credit_lines), Decimal("0.00"))
    if subtotal <= 0:
        raise CreditExceedsInvoice(f"Nothing is left to credit on invoice {invoice.number}.")
    if subtotal > left_subtotal:
        raise CreditExceedsInvoice(
            f"Invoice {invoice.number} has {left_subtotal} {invoice.currency} (excluding tax) "
            f"left to credit; this credit note would take back {subtotal} {invoice.currency}."
        )
    full = subtotal == left_subtotal
    # The last credit takes back exactly the tax left, so credits in parts sum to the invoice.
    tax = left_tax if full else min(tax_amount(subtotal=subtotal, rate=invoice.tax_rate), left_tax)
    return CreditDraft(
        invoice=invoice,
        reason=reason,
        lines=credit_lines,
        subtotal=subtotal,
        tax=tax,
        due_before=invoice_amount_due(invoice),
        due_after=invoice_amount_due_after(invoice, credit=subtotal + tax),
        full=full,
    )


@transaction.atomic
def credit_note_issue(*, invoice: Invoice, actor, reason: str, at: datetime | None = None, **what):
    """Issue the credit note of `credit_note_preview` (platform staff, or None for the system):
    numbered in the organisation's credit-note series, audited, e-mailed to the billing
    contacts after commit; the invoice is "credited" once nothing is left to credit."""
    ensure_platform_staff(actor, "issue a credit note")
    org = organisation_for_update(invoice.organisation_id)
    invoice = Invoice.objects.select_for_update().select_related("organisation").get(pk=invoice.pk)
    draft = credit_note_preview(invoice=invoice, reason=reason, **what)
    at = at or timezone.now()
    sequence = sequence_take(org, "last_credit_note_sequence")
    note = CreditNote.objects.create(
        organisation=org,
        invoice=invoice,
        sequence=sequence,
        number=invoice_number(org.pk, sequence, series="CN"),
        reason=draft.reason,
        issued_at=at,
        issued_on=organisation_today(org, at=at),
        currency=invoice.currency,
        tax_rate=invoice.tax_rate,
        subtotal=draft.subtotal,
        tax=draft.tax,
        total=draft.total,
        billing_details_id=invoice.billing_details_id,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    CreditNoteLine.objects.bulk_create(
        CreditNoteLine(
            credit_note=note,
            position=position,
            invoice_line=line.invoice_line,
            description=line.description,
            kind=line.kind,
            quantity=line.quantity,
            unit_price=line.unit_price,
            period_start=line.period_start,
            period_end=line.period_end,
            amount=line.amount,
        )
        for position, line in enumerate(draft.lines, start=1)
    )
    if draft.full:
        invoice.status = InvoiceStatus.CREDITED
        invoice.save(update_fields=["status"])
    audit_record(
        organisation=org,
        actor=actor,
        action="credit_note.issued",
        target=note,
        changes={
            "invoice": invoice.number,
            "total": str(note.total),
            "currency": note.currency,
            "reason": note.reason,
        },
    )
    documents_mail_after_commit(note)
    return note


@transaction.atomic
def invoice_reissue(*, invoice: Invoice, quote: Quote, actor, reason: str) -> Invoice:
    """Credit what is left of `invoice`, then issue the corrected invoice that replaces it, with
    the next number. The old invoice keeps its credit note and names its replacement; the new one
    names the invoice it replaces (docs/rules.md, "Credit notes")."""
    note = credit_note_issue(invoice=invoice, actor=actor, reason=reason, whole=True)
    credited = note.invoice
    corrected = invoice_issue(
        organisation=credited.organisation,
        kind=InvoiceKind.CORRECTION,
        quote=quote,
        actor=actor,
        period=None,
        replaces=credited,
    )
    return corrected


def _validate_request(*, reason: str, whole: bool, lines, amount) -> None:
    errors = {}
    if not reason:
        errors["reason"] = ValidationError(
            "Say why the invoice is credited; the credit note prints it.", code="required"
        )
    elif len(reason) > 300:
        errors["reason"] = ValidationError("At most 300 characters.", code="max_length")
    chosen = [bool(whole), lines is not None, amount is not None]
    if sum(chosen) != 1:
        errors["non_field_errors"] = ValidationError(
            "Credit either the whole invoice, some of its lines, or an amount.", code="invalid"
        )
    elif amount is not None and amount <= 0:
        errors["amount"] = ValidationError("A credit is an amount above zero.", code="min_value")
    elif lines is not None and not lines:
        errors["lines"] = ValidationError("Choose at least one line to credit.", code="required")
    if errors:
        raise ValidationError(errors)


def _from_invoice_line(line: InvoiceLine, amount: Decimal | None = None) -> CreditLine:
    whole_line = amount is None or amount == line.amount
    return CreditLine(
        description=line.description,
        kind=line.kind,
        quantity=line.quantity if whole_line else 1,
        unit_price=line.unit_price if whole_line else amount,
        amount=line.amount if whole_line else amount,
        invoice_line=line,
        period_start=line.period_start,
        period_end=line.period_end,
    )


def _whole(invoice: Invoice, left: Decimal, *, untouched: bool) -> list[CreditLine]:
    """Never credited before: the invoice's own lines; else one line for the balance left."""
    if untouched:
        return [
            _from_invoice_line(line) for line in invoice.lines.order_by("position") if line.amount
        ]
    return [
        CreditLine(
            description=f"Balance of invoice {invoice.number}",
            kind="adjustment",
            quantity=1,
            unit_price=left,
            amount=left,
        )
    ]


def _of_lines(invoice: Invoice, requested: list[dict]) -> list[CreditLine]:
    by_position = {
        line.position: line
        for line in invoice.lines.annotate(credited=Sum("credited_by__amount")).order_by("position")
    }
    seen, result = set(), []
    for item in requested:
        position, amount = item.get("position"), item.get("amount")
        line = by_position.get(position)
        if line is None or position in seen:
            raise ValidationError(
                {
                    "lines": ValidationError(
                        f"Invoice {invoice.number} has no line {position} to credit"
                        + (" twice." if position in seen else "."),
                        code="invalid_line",
                    )
                }
            )
        seen.add(position)
        if amount is not None and amount <= 0:
            raise ValidationError(
                {"lines": ValidationError("A credit is an amount above zero.", code="min_value")}
            )
        left = line.amount - (line.credited or Decimal("0.00"))
        if left <= 0 or (amount is not None and amount > left):
            raise CreditExceedsInvoice(
                f"Line {position} of invoice {invoice.number} has {max(left, Decimal('0.00'))} "
                f"{invoice.currency} left to credit."
            )
        result.append(_from_invoice_line(line, left if amount is None else amount))
    return result
