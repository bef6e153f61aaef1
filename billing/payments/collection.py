"""Charging invoices (docs/rules.md, payments): when an invoice is issued, on a scheduled retry
and on "Pay now".

A charge is three steps, so a crash at any point neither loses nor doubles a payment:

1. under the organisation's lock, an attempt is written `pending` with its idempotency key
   (`invoice-<id>-attempt-<n>`) and committed; a second charge of the same invoice meanwhile is
   refused (`PaymentInProgress`; a partial unique index backs it);
2. the provider is asked, outside any transaction, with that key;
3. under the lock again, the answer is recorded: a payment and the invoice paid, or a failed
   attempt with the provider's reason.

A worker killed between 2 and 3 leaves the attempt pending; `attempts_reconcile` (run by the
dunning job) asks the provider again with the same key, which answers the same way without
charging again, and records that answer.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.models import Invoice, InvoiceStatus, Payment
from billing.payments.methods import default_method, usable_methods
from billing.payments.models import AttemptStatus, AttemptTrigger, PaymentAttempt, PaymentMethod
from billing.payments.provider import ChargeResult, payment_provider
from billing.payments.reminders import reminder_after_failure
from billing.selectors import invoice_amount_due, organisation_today
from telecom.errors import (
    InvoiceNotPayable,
    NoPaymentMethod,
    PaymentInProgress,
    PaymentMethodNotUsable,
)
from telecom.locks import organisation_for_update

log = logging.getLogger(__name__)

COLLECT_TASK = "billing.collect_invoices"


def chargeable(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """The invoices whose organisation has a default payment method to charge."""
    default = PaymentMethod.objects.filter(
        organisation=OuterRef("organisation"), is_default=True, removed_at__isnull=True
    )
    return invoices.filter(Exists(default))


def collect_after_commit(invoice_ids) -> None:
    """Once the issuing transaction commits, send the collection task for those of these
    invoices that have a method to charge. If the broker cannot take it, the next dunning run
    charges them (`invoices_collect_new`)."""
    invoice_ids = list(invoice_ids)
    if not invoice_ids:
        return

    def send() -> None:
        from telecom.celery import app

        # Read after the commit, so the issuing transaction (and its statement count) is spared.
        chosen = chargeable(Invoice.objects.filter(pk__in=invoice_ids)).order_by("pk")
        ids = [str(pk) for pk in chosen.values_list("pk", flat=True)]
        if not ids:
            return
        try:
            app.send_task(COLLECT_TASK, kwargs={"invoice_ids": ids})
        except Exception:  # the broker away: the daily run catches up, nothing is lost
            log.warning("collection of %d invoices left to the dunning run", len(ids))

    transaction.on_commit(send)


def _key(invoice: Invoice, number: int) -> str:
    return f"invoice-{invoice.pk}-attempt-{number}"


@transaction.atomic
def _begin(
    *, invoice: Invoice, trigger: str, actor, method_id=None, at: datetime
) -> PaymentAttempt | None:
    """Step 1: the pending attempt, or None when there is nothing to charge automatically.
    "Pay now" (an actor or a chosen method) is told why instead."""
    by_person = trigger == AttemptTrigger.PAY_NOW
    org = organisation_for_update(invoice.organisation_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    due = invoice_amount_due(invoice)
    if invoice.status != InvoiceStatus.ISSUED or due <= 0:
        if by_person:
            raise InvoiceNotPayable(f"Invoice {invoice.number} has nothing left to pay.")
        return None
    if PaymentAttempt.objects.filter(invoice=invoice, status=AttemptStatus.PENDING).exists():
        if by_person:
            raise PaymentInProgress()
        return None
    today = organisation_today(org, at=at)
    if method_id is not None:
        method = usable_methods(org, today=today).filter(pk=method_id).first()
        if method is None:
            raise PaymentMethodNotUsable()
    else:
        method = default_method(org, today=today)
        if method is None:
            if by_person:
                raise NoPaymentMethod()
            return None
    number = (invoice.payment_attempts.aggregate(n=Max("number"))["n"] or 0) + 1
    return PaymentAttempt.objects.create(
        organisation=org,
        invoice=invoice,
        number=number,
        idempotency_key=_key(invoice, number),
        trigger=trigger,
        payment_method=method,
        amount=due,
        currency=invoice.currency,
        created_at=at,
        actor=actor if getattr(actor, "pk", None) else None,
    )


@transaction.atomic
def _finish(attempt: PaymentAttempt, result: ChargeResult, *, at: datetime) -> PaymentAttempt:
    """Step 3: record the provider's answer, once (a reconciliation may race the original)."""
    organisation_for_update(attempt.organisation_id)
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.status != AttemptStatus.PENDING:
        return attempt
    invoice = Invoice.objects.select_for_update().get(pk=attempt.invoice_id)
    attempt.answered_at = at
    attempt.provider_reference = result.reference[:100]
    if result.succeeded:
        attempt.status = AttemptStatus.SUCCEEDED
        attempt.save(update_fields=["status", "answered_at", "provider_reference"])
        Payment.objects.create(
            invoice=invoice,
            amount=attempt.amount,
            paid_at=at,
            method=attempt.payment_method.kind,
            reference=attempt.provider_reference,
            attempt=attempt,
        )
        if invoice.status == InvoiceStatus.ISSUED and invoice_amount_due(invoice) <= 0:
            invoice.status, invoice.paid_at = InvoiceStatus.PAID, at
            invoice.save(update_fields=["status", "paid_at"])
        audit_record(
            organisation=invoice.organisation,
            actor=attempt.actor,
            action="invoice.paid",
            target=invoice,
            changes={"amount": str(attempt.amount), "method": attempt.payment_method.kind},
        )
        return attempt
    attempt.status = AttemptStatus.FAILED
    attempt.decline = result.decline
    attempt.reason = (result.reason or "Declined.")[:200]
    attempt.save(update_fields=["status", "decline", "reason", "answered_at", "provider_reference"])
    audit_record(
        organisation=invoice.organisation,
        actor=attempt.actor,
        action="invoice.payment_failed",
        target=invoice,
        changes={"attempt": attempt.number, "decline": attempt.decline, "reason": attempt.reason},
    )
    if attempt.trigger != AttemptTrigger.PAY_NOW:
        reminder_after_failure(invoice, attempt)
    return attempt


def _charge(attempt: PaymentAttempt, *, at: datetime) -> PaymentAttempt:
    """Step 2 and 3: ask the provider (outside any transaction), record the answer."""
    result = payment_provider().charge(
        token=attempt.payment_method.token,
        amount=attempt.amount,
        currency=attempt.currency,
        idempotency_key=attempt.idempotency_key,
    )
    return _finish(attempt, result, at=at)


def invoice_charge(
    invoice: Invoice, *, trigger: str, at: datetime | None = None
) -> PaymentAttempt | None:
    """Charge the organisation's default method for what is due on `invoice` (on issue, on a
    scheduled retry); None when there is nothing to charge or no method to charge."""
    at = at or timezone.now()
    attempt = _begin(invoice=invoice, trigger=trigger, actor=None, at=at)
    return _charge(attempt, at=at) if attempt else None


def invoices_collect(invoice_ids, *, at: datetime | None = None) -> int:
    """The task sent when invoices are issued: charge each; return how many were charged.
    Idempotent: an invoice paid, or with a charge in progress, is left alone."""
    charged = 0
    for invoice in chargeable(Invoice.objects.filter(pk__in=list(invoice_ids))).order_by("pk"):
        charged += invoice_charge(invoice, trigger=AttemptTrigger.ISSUED, at=at) is not None
    return charged


def invoice_pay_now(
    *, organisation: Organisation, invoice_id, actor, method_id=None, at: datetime | None = None
) -> PaymentAttempt:
    """ "Pay now" by an owner or finance: charge the chosen method (or the default) for what is
    due. Another organisation's invoice does not exist here (Invoice.DoesNotExist)."""
    at = at or timezone.now()
    invoice = Invoice.objects.get(organisation=organisation, pk=invoice_id)
    attempt = _begin(
        invoice=invoice, trigger=AttemptTrigger.PAY_NOW, actor=actor, method_id=method_id, at=at
    )
    return _charge(attempt, at=at)


def attempts_reconcile(*, at: datetime | None = None) -> int:
    """Finish the attempts left pending by a crash: the provider is asked again with the same
    idempotency key, so it answers as it did the first time and never charges twice."""
    at = at or timezone.now()
    done = 0
    pending = PaymentAttempt.objects.filter(status=AttemptStatus.PENDING, created_at__lte=at)
    for attempt in pending.select_related("payment_method").order_by("created_at"):
        _charge(attempt, at=at)
        done += 1
    return done
