"""Reminder e-mails about an invoice whose charge failed (docs/rules.md, dunning): one at the
first failure, one before the last retry, to the billing contacts (the owners when the billing
details name none). Each is recorded once per invoice (`PaymentReminder`, a unique constraint)
and sent after the transaction that decided it commits, through Django's configured backend."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import BillingDetails, Invoice
from billing.payments.models import PaymentAttempt, PaymentReminder, ReminderKind

_SUBJECTS = {
    ReminderKind.FIRST_FAILURE: "Payment of invoice {number} failed",
    ReminderKind.LAST_RETRY: "Last attempt to charge invoice {number}",
}
_BODIES = {
    ReminderKind.FIRST_FAILURE: (
        "We could not charge your payment method for invoice {number} ({amount} {currency}): "
        "{reason}\n\nWe will try again in the coming days. To settle it now, or to use another "
        "card or mandate, open Billing in the console."
    ),
    ReminderKind.LAST_RETRY: (
        "Invoice {number} ({amount} {currency}) is still unpaid after several attempts. We "
        "will try once more; if that fails, buying licences and numbers stops, and 30 days past "
        "the due date outgoing calls and messages stop too. Pay it now from Billing in the "
        "console."
    ),
}


def billing_contacts(organisation_id) -> list[str]:
    details = (
        BillingDetails.objects.filter(organisation_id=organisation_id).order_by("-version").first()
    )
    if details is not None and details.contacts:
        return list(details.contacts)
    owners = get_user_model().objects.filter(
        organisation_id=organisation_id, role="owner", status="active"
    )
    return sorted(owners.values_list("email", flat=True))


def _remind(invoice: Invoice, kind: str, *, reason: str = "", at: datetime | None = None) -> bool:
    """Record the reminder (once) and send it after commit; False when it was already sent."""
    recipients = billing_contacts(invoice.organisation_id)
    try:
        with transaction.atomic():
            PaymentReminder.objects.create(
                invoice=invoice, kind=kind, recipients=recipients, sent_at=at or timezone.now()
            )
    except IntegrityError:
        return False
    if recipients:
        subject = _SUBJECTS[kind].format(number=invoice.number)
        body = _BODIES[kind].format(
            number=invoice.number,
            amount=invoice.total,
            currency=invoice.currency,
            reason=reason or "the payment was declined.",
        )
        transaction.on_commit(
            partial(send_mail, subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        )
    return True


def reminder_after_failure(invoice: Invoice, attempt: PaymentAttempt) -> bool:
    return _remind(
        invoice, ReminderKind.FIRST_FAILURE, reason=attempt.reason, at=attempt.answered_at
    )


def reminder_before_last_retry(invoice: Invoice, *, at: datetime) -> bool:
    return _remind(invoice, ReminderKind.LAST_RETRY, at=at)
