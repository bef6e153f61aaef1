"""Payment methods and payment attempts (docs/rules.md, payments). Imported by `billing.models`,
so they belong to the billing app; foreign keys name their targets by string to avoid a cycle."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from telecom.money import AMOUNT_MAX_DIGITS


class MethodKind(models.TextChoices):
    CARD = "card", "Card"
    SEPA_DEBIT = "sepa_debit", "SEPA direct debit"


class MethodStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    # The provider asked for a second step (3-D Secure): unusable until the owner completes it.
    REQUIRES_ACTION = "requires_action", "Waiting for authentication"


class PaymentMethod(models.Model):
    """A card or a SEPA mandate held by the payment provider. The product keeps only what the
    provider returns to show it: a token, the brand, the last four digits and the expiry, or the
    IBAN's last four and the mandate; never a full card number or IBAN. Removing one keeps its
    row (payments refer to it) with `removed_at` set."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="payment_methods"
    )
    kind = models.CharField(max_length=16, choices=MethodKind.choices)
    status = models.CharField(
        max_length=16, choices=MethodStatus.choices, default=MethodStatus.ACTIVE
    )
    provider = models.CharField(max_length=32)
    token = models.CharField(max_length=100)
    brand = models.CharField(max_length=32, blank=True)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    holder = models.CharField(max_length=100, blank=True)
    mandate_reference = models.CharField(max_length=35, blank=True)
    mandate_signed_on = models.DateField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation", "-is_default", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(is_default=True, removed_at__isnull=True),
                name="payment_method_one_default",
            ),
            models.UniqueConstraint(
                fields=["provider", "token"], name="payment_method_token_unique"
            ),
            models.CheckConstraint(
                condition=Q(last4__regex=r"^[0-9A-Z]{4}$"), name="payment_method_last4"
            ),
            # A card has an expiry; a mandate has its reference and signature date.
            models.CheckConstraint(
                condition=(
                    Q(kind=MethodKind.CARD, exp_month__range=(1, 12), exp_year__isnull=False)
                    # a card registered before payment methods existed: expiry unknown
                    | Q(kind=MethodKind.CARD, exp_month__isnull=True, exp_year__isnull=True)
                    | Q(
                        kind=MethodKind.SEPA_DEBIT,
                        mandate_signed_on__isnull=False,
                    )
                    & ~Q(mandate_reference="")
                ),
                name="payment_method_kind_fields",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(removed_at__isnull=True),
                name="payment_method_removed_not_default",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.kind == MethodKind.CARD:
            brand = self.brand or "Card"
            if self.exp_year is None:
                return f"{brand} ending {self.last4}"
            return f"{brand} ending {self.last4}, expires {self.exp_month:02d}/{self.exp_year}"
        return f"SEPA direct debit, IBAN ending {self.last4} (mandate {self.mandate_reference})"

    def expired_on(self, today) -> bool:
        """A card is usable to the end of its expiry month."""
        if self.kind != MethodKind.CARD or self.exp_year is None:
            return False
        return (today.year, today.month) > (self.exp_year, self.exp_month)


class AttemptStatus(models.TextChoices):
    # Written before the provider is asked: a crash afterwards leaves it pending, and the next
    # run asks again with the same idempotency key (billing/payments/collection.py).
    PENDING = "pending", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class DeclineKind(models.TextChoices):
    NONE = "", "—"
    SOFT = "soft", "Temporary (retried)"
    HARD = "hard", "Final (not retried)"


class AttemptTrigger(models.TextChoices):
    ISSUED = "issued", "When issued"
    RETRY = "retry", "Scheduled retry"
    PAY_NOW = "pay_now", "Pay now"


class PaymentAttempt(models.Model):
    """One request to the provider to charge an invoice, with its idempotency key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="payment_attempts"
    )
    number = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=80)
    trigger = models.CharField(max_length=8, choices=AttemptTrigger.choices)
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.PROTECT, related_name="attempts"
    )
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10, choices=AttemptStatus.choices, default=AttemptStatus.PENDING
    )
    decline = models.CharField(
        max_length=4, choices=DeclineKind.choices, blank=True, default=DeclineKind.NONE
    )
    reason = models.CharField(max_length=200, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["invoice", "number"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="payment_attempt_number"),
            models.UniqueConstraint(fields=["idempotency_key"], name="payment_attempt_key"),
            # Never two charges of one invoice in flight, and never two that succeeded.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status=AttemptStatus.PENDING),
                name="payment_attempt_one_pending",
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status=AttemptStatus.SUCCEEDED),
                name="payment_attempt_one_success",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_attempt_amount"),
            models.CheckConstraint(
                condition=Q(status=AttemptStatus.FAILED) | Q(decline=""),
                name="payment_attempt_decline_if_failed",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="payment_attempt_pending")]

    def __str__(self) -> str:
        return f"Attempt {self.number} for {self.invoice_id}: {self.status}"


class LocalProviderCharge(models.Model):
    """The offline provider's own ledger (billing/payments/provider.py `LocalProvider`): what a
    real provider keeps on its side. One row per idempotency key, so the same key answers the
    same way and never charges twice. The product's code reads it only in tests."""

    idempotency_key = models.CharField(max_length=80, primary_key=True)
    token = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    currency = models.CharField(max_length=3)
    succeeded = models.BooleanField()
    decline = models.CharField(max_length=4, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)


class LocalProviderRefund(models.Model):
    """The offline provider's ledger of refunds, like `LocalProviderCharge`: one row per
    idempotency key, so the same key never refunds twice."""

    idempotency_key = models.CharField(max_length=80, primary_key=True)
    charge_reference = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    succeeded = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)


class RefundStatus(models.TextChoices):
    # Written before the provider is asked, as attempts are (billing/payments/refunds.py).
    PENDING = "pending", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    """Money given back to the payment method that paid an invoice, for a credit note
    (docs/rules.md, "Refunds"). One per credit note and payment; never more than the payment
    less its earlier refunds (checked by billing/payments/refunds.py and by the provider)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    credit_note = models.ForeignKey(
        "billing.CreditNote", on_delete=models.PROTECT, related_name="refunds"
    )
    payment = models.ForeignKey("billing.Payment", on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    idempotency_key = models.CharField(max_length=80)
    provider_reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200, blank=True)  # the provider's, when it failed
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["credit_note", "payment"], name="refund_one_per_credit_note_payment"
            ),
            models.UniqueConstraint(fields=["idempotency_key"], name="refund_key"),
        ]

    def __str__(self) -> str:
        return f"Refund of {self.amount} {self.currency}: {self.status}"


class ReminderKind(models.TextChoices):
    FIRST_FAILURE = "first_failure", "The first charge failed"
    LAST_RETRY = "last_retry", "Before the last retry"


class PaymentReminder(models.Model):
    """A reminder e-mail sent about an unpaid invoice: each kind once per invoice."""

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="payment_reminders"
    )
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    recipients = models.JSONField(default=list)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "kind"], name="payment_reminder_once")
        ]
