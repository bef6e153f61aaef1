"""Refunds (docs/rules.md, "Refunds"): a refund is a credit note with money given back to the
payment method that paid the invoice.

Platform staff issue a credit note and may ask for a refund to the original method. The amount
refunded is the credit note's total, up to what the invoice's charged payments still hold (what
they paid less what was refunded of them); the newest payment is refunded first. Payments that
staff recorded by hand (a bank transfer) have no charge to refund: the review says so and a
refund asked only of those is refused before anything is issued.

Like a charge (billing/payments/collection.py), a refund is three steps, so a crash neither
loses nor doubles one: the refund is written `pending` with its idempotency key in the
transaction that issues the credit note; the provider is asked after the commit with that key;
its answer is recorded once. `refunds_reconcile` (a step of the daily dunning job) asks again,
with the same key, for refunds left pending.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.audit import audit_record
from accounts.roles import ensure_platform_staff
from billing.credit_notes import CreditDraft, credit_note_issue, credit_note_preview
from billing.models import CreditNote, Invoice, Payment
from billing.payments.models import MethodKind, PaymentMethod, Refund, RefundStatus
from billing.payments.provider import RefundResult, payment_provider
from billing.selectors import invoice_amount_due_after
from telecom.errors import RefundNotPossible
from telecom.locks import organisation_for_update

ZERO = Decimal("0.00")


def method_short_label(method: PaymentMethod) -> str:
    """ "Visa •••• 4242": what a refund goes back to, in the review."""
    if method.kind == MethodKind.CARD:
        return f"{method.brand or 'Card'} •••• {method.last4}"
    return f"SEPA direct debit •••• {method.last4}"


def refund_outcome(refund: Refund) -> str:
    """What became of a refund, in a sentence for the console's message."""
    method = method_short_label(refund.payment.attempt.payment_method)
    if refund.status == RefundStatus.SUCCEEDED:
        return f"{refund.amount} {refund.currency} refunded to {method}."
    if refund.status == RefundStatus.FAILED:
        return (
            f"The refund of {refund.amount} {refund.currency} to {method} failed: {refund.reason}"
        )
    return f"The refund of {refund.amount} {refund.currency} to {method} is in progress."


@dataclass(frozen=True)
class RefundPart:
    payment: Payment
    amount: Decimal


@dataclass(frozen=True)
class RefundPlan:
    """What a refund of up to `wanted` would give back now, and to which methods."""

    parts: tuple[RefundPart, ...]
    currency: str
    paid_by_hand: Decimal  # paid outside a payment method: to refund by hand

    @property
    def amount(self) -> Decimal:
        return sum((part.amount for part in self.parts), ZERO)

    @property
    def sentence(self) -> str:
        """The review's line: "Refund 50.00 EUR to Visa •••• 4242", or why it cannot be."""
        if self.parts:
            methods = ", ".join(
                dict.fromkeys(
                    method_short_label(part.payment.attempt.payment_method) for part in self.parts
                )
            )
            return f"Refund {self.amount} {self.currency} to {methods}."
        if self.paid_by_hand > 0:
            return "Paid by bank transfer: refund it by hand."
        return "Nothing was paid on this invoice: there is nothing to refund."


def refund_plan(invoice: Invoice, wanted: Decimal) -> RefundPlan:
    """Up to `wanted` out of the invoice's charged payments, newest first, each for what it
    paid less what was refunded of it (pending refunds count: they are on their way)."""
    payments = (
        Payment.objects.filter(invoice=invoice)
        .select_related("attempt__payment_method")
        .annotate(
            refunded=Sum(
                "refunds__amount",
                filter=Q(refunds__status__in=[RefundStatus.PENDING, RefundStatus.SUCCEEDED]),
                default=ZERO,
            )
        )
        .order_by("-paid_at", "-pk")
    )
    parts, by_hand, left = [], ZERO, wanted
    for payment in payments:
        if payment.attempt_id is None:
            by_hand += payment.amount
            continue
        amount = min(left, payment.amount - payment.refunded)
        if amount > 0:
            parts.append(RefundPart(payment=payment, amount=amount))
            left -= amount
    return RefundPlan(parts=tuple(parts), currency=invoice.currency, paid_by_hand=by_hand)


@dataclass(frozen=True)
class CreditRefundDraft(CreditDraft):
    """The credit note's review, with the refund it would ask for (`refund` chosen or not)."""

    refund: bool = False
    refund_plan: RefundPlan | None = None

    @property
    def refund_sentence(self) -> str:
        return self.refund_plan.sentence if self.refund_plan else ""


def credit_note_refund_preview(*, invoice: Invoice, refund: bool = False, **what):
    """`credit_note_preview` and what a refund to the original method would give back; refuses
    (409 `refund_not_possible`) a refund asked where no payment method has anything to give."""
    draft = credit_note_preview(invoice=invoice, **what)
    plan = refund_plan(invoice, draft.total)
    if refund and not plan.parts:
        raise RefundNotPossible(f"{plan.sentence} Untick the refund to issue the credit note.")
    values = {f.name: getattr(draft, f.name) for f in fields(CreditDraft)}
    if refund:
        values["due_after"] = invoice_amount_due_after(
            invoice, credit=draft.total, refund=plan.amount
        )
    return CreditRefundDraft(**values, refund=refund, refund_plan=plan)


def credit_note_issue_refunding(
    *, invoice: Invoice, actor, refund: bool = False, at: datetime | None = None, **what
) -> CreditNote:
    """Issue the credit note (`credit_note_issue`) and, when asked, refund it to the original
    method in the same transaction flow: the pending refunds commit with the note, the provider
    is asked afterwards. A refund that cannot be made refuses everything (nothing is issued)."""
    at = at or timezone.now()
    with transaction.atomic():
        note = credit_note_issue(invoice=invoice, actor=actor, at=at, **what)
        pending = _begin(note, actor=actor, at=at) if refund else []
    for item in pending:
        refund_send(item, at=at)
    return note


def credit_note_refund(*, credit_note: CreditNote, actor, at: datetime | None = None):
    """Refund an issued credit note to the original method. Idempotent: a credit note refunded
    already (or being refunded) is not refunded again; its refunds are returned."""
    at = at or timezone.now()
    with transaction.atomic():
        refunds = _begin(credit_note, actor=actor, at=at)
    return [refund_send(item, at=at) for item in refunds]


def _begin(note: CreditNote, *, actor, at: datetime) -> list[Refund]:
    """Step 1, in the caller's transaction: the pending refunds, under the organisation's lock."""
    ensure_platform_staff(actor, "refund a credit note")
    org = organisation_for_update(note.organisation_id)
    existing = list(Refund.objects.filter(credit_note=note).select_related("payment"))
    if existing:
        return [item for item in existing if item.status == RefundStatus.PENDING]
    plan = refund_plan(note.invoice, note.total)
    if not plan.parts:
        raise RefundNotPossible(plan.sentence)
    refunds = [
        Refund.objects.create(
            organisation=org,
            credit_note=note,
            payment=part.payment,
            amount=part.amount,
            currency=note.currency,
            idempotency_key=f"cn-{note.pk}-pay-{part.payment.pk}",  # 80 characters
            created_at=at,
            actor=actor if getattr(actor, "pk", None) else None,
        )
        for part in plan.parts
    ]
    audit_record(
        organisation=org,
        actor=actor,
        action="credit_note.refund_requested",
        target=note,
        changes={"amount": str(plan.amount), "currency": note.currency},
    )
    return refunds


def refund_send(refund: Refund, *, at: datetime | None = None) -> Refund:
    """Steps 2 and 3: ask the provider (outside any transaction) with the refund's idempotency
    key, record its answer. Sending the same refund twice refunds once."""
    at = at or timezone.now()
    payment = Payment.objects.select_related("attempt").get(pk=refund.payment_id)
    result = payment_provider().refund(
        charge_reference=payment.attempt.provider_reference,
        amount=refund.amount,
        idempotency_key=refund.idempotency_key,
    )
    return _finish(refund, result, at=at)


@transaction.atomic
def _finish(refund: Refund, result: RefundResult, *, at: datetime) -> Refund:
    organisation_for_update(refund.organisation_id)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != RefundStatus.PENDING:
        return refund
    refund.status = RefundStatus.SUCCEEDED if result.succeeded else RefundStatus.FAILED
    refund.provider_reference = result.reference[:100]
    refund.reason = "" if result.succeeded else (result.reason or "Refused.")[:200]
    refund.answered_at = at
    refund.save(update_fields=["status", "provider_reference", "reason", "answered_at"])
    audit_record(
        organisation=refund.organisation,
        actor=refund.actor,
        action="credit_note.refunded" if result.succeeded else "credit_note.refund_failed",
        target=refund.credit_note,
        changes={"amount": str(refund.amount), "reason": refund.reason},
    )
    return refund


def refunds_reconcile(*, at: datetime | None = None) -> int:
    """Finish the refunds left pending by a crash, with the same idempotency keys."""
    at = at or timezone.now()
    pending = Refund.objects.filter(status=RefundStatus.PENDING, created_at__lte=at)
    done = 0
    for refund in pending.order_by("created_at"):
        refund_send(refund, at=at)
        done += 1
    return done
