"""Dunning (docs/rules.md, dunning): retrying a charge that failed, reminding, and the
restriction ladder's audit trail.

After a soft decline the default method is charged again `PAYMENT_RETRY_DAYS` (1, 3, 5, 7) days
after the first failure; a hard decline stops the retries (a new method and "Pay now" settle it).
A reminder goes to the billing contacts at the first failure (billing/payments/collection.py)
and the day before the last retry. The ladder itself (restricted, then suspended) is computed
from the unpaid invoices' due dates (billing/restriction.py), so it holds whether or not this job
ran; the job records each organisation's change of standing once.

`dunning_run(at=...)` is the daily job and a step of `run_billing --as-of`: idempotent (each
retry is numbered after the attempts already made, each reminder and each standing change is
recorded once) and replayable as of any time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef

from billing.models import Invoice, InvoiceStatus
from billing.payments.collection import (
    attempts_reconcile,
    chargeable,
    invoice_charge,
    invoices_collect,
)
from billing.payments.methods import payment_methods_expire
from billing.payments.models import (
    AttemptStatus,
    AttemptTrigger,
    DeclineKind,
    PaymentAttempt,
)
from billing.payments.refunds import refunds_reconcile
from billing.payments.reminders import reminder_before_last_retry


def retry_times(first_failure_at: datetime) -> list[datetime]:
    return [first_failure_at + timedelta(days=days) for days in settings.PAYMENT_RETRY_DAYS]


def next_retry_at(invoice: Invoice) -> datetime | None:
    """When the next automatic charge of `invoice` is due; None when none is (paid, never
    failed, a hard decline, or every retry made)."""
    automatic = [
        attempt
        for attempt in invoice.payment_attempts.order_by("number")
        if attempt.trigger != AttemptTrigger.PAY_NOW
    ]
    failed = [a for a in automatic if a.status == AttemptStatus.FAILED]
    if invoice.status != InvoiceStatus.ISSUED or not failed or automatic[-1] is not failed[-1]:
        return None
    if failed[-1].decline == DeclineKind.HARD:
        return None
    retries = sum(a.trigger == AttemptTrigger.RETRY for a in automatic)
    schedule = retry_times(failed[0].answered_at)
    return schedule[retries] if retries < len(schedule) else None


def invoices_retry(*, at: datetime) -> int:
    """Charge again each invoice whose next retry is due as of `at`; return how many."""
    failed = PaymentAttempt.objects.filter(
        invoice=OuterRef("pk"), status=AttemptStatus.FAILED
    ).exclude(trigger=AttemptTrigger.PAY_NOW)
    candidates = Invoice.objects.filter(Exists(failed), status=InvoiceStatus.ISSUED).order_by("pk")
    retried = 0
    for invoice in candidates:
        due_at = next_retry_at(invoice)
        if due_at is None:
            continue
        if _retries_left(invoice) == 1 and at >= due_at - timedelta(days=1):
            reminder_before_last_retry(invoice, at=at)
        if at >= due_at:
            retried += invoice_charge(invoice, trigger=AttemptTrigger.RETRY, at=at) is not None
    return retried


def _retries_left(invoice: Invoice) -> int:
    made = invoice.payment_attempts.filter(trigger=AttemptTrigger.RETRY).count()
    return len(settings.PAYMENT_RETRY_DAYS) - made


def invoices_collect_new(*, at: datetime) -> int:
    """Issued invoices never charged (the task after issue was lost): charge them now."""
    never = chargeable(
        Invoice.objects.filter(status=InvoiceStatus.ISSUED, issued_at__lte=at)
    ).exclude(Exists(PaymentAttempt.objects.filter(invoice=OuterRef("pk"))))
    return invoices_collect(never.values_list("pk", flat=True), at=at)


def dunning_run(*, at: datetime) -> int:
    """The daily job: finish charges a crash left pending, charge what was never charged, move
    expired default cards on, retry what is due, finish refunds a crash left pending. Returns the
    number of charges made."""
    payment_methods_expire(at=at)
    refunds_reconcile(at=at)
    done = attempts_reconcile(at=at)
    done += invoices_collect_new(at=at)
    done += invoices_retry(at=at)
    return done
