import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Currency, Organisation
from billing.credit_note_models import CreditNote, CreditNoteLine  # noqa: F401 (its models)
from billing.mail_models import DocumentSend, DocumentSendStatus  # noqa: F401 (its models)
from billing.vat import VatNumberStatus, VatTreatment
from telecom.money import AMOUNT_MAX_DIGITS


class BillingDetails(models.Model):
    """One version of an organisation's billing profile: who its invoices are addressed to and
    how they are taxed. Never edited: a change adds a version (billing.profile), and each invoice
    points at the version current when it was issued, so its bill-to never changes afterwards.

    The VAT fields are the answer of `billing.vat.vat_for` for this version, stored so that
    quotes, the renewal and the invoice read one answer; `tax_rate` is copied to the
    organisation, which every quote and the renewal price with.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="billing_details_versions"
    )
    version = models.PositiveIntegerField(
        help_text="1, 2, ... per organisation; the highest is in force."
    )
    legal_name = models.CharField(max_length=200)
    street = models.CharField(max_length=200)
    postcode = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. FR")
    vat_number = models.CharField(max_length=20, blank=True)
    registration_number = models.CharField(max_length=50, blank=True)
    contacts = ArrayField(models.EmailField(), default=list, blank=True)
    purchase_order = models.CharField(max_length=100, blank=True)
    vat_number_status = models.CharField(
        max_length=12, choices=VatNumberStatus.choices, blank=True, default=VatNumberStatus.NONE
    )
    vat_treatment = models.CharField(max_length=16, choices=VatTreatment.choices)
    vat_note = models.CharField(max_length=300, blank=True)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "billing details"
        verbose_name_plural = "billing details"
        ordering = ["organisation", "-version"]
        constraints = [
            # Taken under the organisation's lock; the latest version is the one in force.
            models.UniqueConstraint(
                fields=["organisation", "version"], name="billing_details_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lt=1), name="billing_details_tax_rate"
            ),
        ]

    def __str__(self) -> str:
        return f"Billing details of {self.legal_name}"

    @property
    def address_lines(self) -> list[str]:
        return [line for line in (self.street, f"{self.postcode} {self.city}".strip()) if line]


class VatNumberCheck(models.Model):
    """One check of a VAT number through the configured checker (billing.vat_check). A number
    checked in the last day is not checked again; a check that could not be made is not kept
    as an answer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=20)
    status = models.CharField(max_length=12, choices=VatNumberStatus.choices)
    source = models.CharField(max_length=20)
    detail = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["number", "-checked_at"])]

    def __str__(self) -> str:
        return f"VAT number {self.number}: {self.get_status_display().lower()}"


class InvoiceKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    RENEWAL = "renewal", "Renewal"
    CORRECTION = "correction", "Correction"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    # Fully credited by credit notes (docs/rules.md, "Credit notes"): nothing is due.
    CREDITED = "credited", "Credited"


class Invoice(models.Model):
    """An issued invoice, never edited once issued: a credit note corrects it, and a new invoice
    may replace it (docs/rules.md, "Credit notes")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by the (organisation, sequence) and (organisation, -issued_on) indexes below, which
    # start with it: a third index would only slow the renewal's thousands of inserts.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    sequence = models.PositiveIntegerField(editable=False)
    number = models.CharField(max_length=32, editable=False)
    kind = models.CharField(max_length=16, choices=InvoiceKind.choices)
    status = models.CharField(
        max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED
    )
    issued_at = models.DateTimeField(default=timezone.now)
    issued_on = models.DateField(help_text="Local date of issue in the organisation's time zone.")
    due_on = models.DateField()
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True, help_text="Last day, inclusive.")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    # Amounts: numeric(AMOUNT_MAX_DIGITS, 2), wide enough for every invoice (telecom.money).
    subtotal = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    tax = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    total = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Set once, by the overdue job's conditional update, when it records the invoice as overdue:
    # the state change is audited once whatever the concurrency (docs/rules.md#rule-18).
    overdue_flagged_at = models.DateTimeField(null=True, blank=True, editable=False)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The bill-to and VAT treatment as they were when it was issued; None for an organisation
    # that never gave billing details (its name and country are printed).
    billing_details = models.ForeignKey(
        BillingDetails, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-sequence"]
        constraints = [
            # A constraint rather than unique=True, which would add a LIKE index nobody uses.
            models.UniqueConstraint(fields=["number"], name="invoice_number_unique"),
            # Gapless numbering per organisation: the sequence is taken under the organisation's
            # row lock, and this constraint catches any path that forgets it.
            models.UniqueConstraint(
                fields=["organisation", "sequence"], name="invoice_sequence_unique_per_org"
            ),
            # One renewal invoice per organisation and period: the renewal job's idempotency.
            models.UniqueConstraint(
                fields=["organisation", "period_start"],
                condition=Q(kind=InvoiceKind.RENEWAL),
                name="invoice_one_renewal_per_period",
            ),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") + F("tax")), name="invoice_total_is_sum"
            ),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="invoice_sequence_positive"),
        ]
        indexes = [
            models.Index(fields=["organisation", "-issued_on"]),
            models.Index(fields=["status", "due_on"]),
        ]

    def __str__(self) -> str:
        return self.number

    def is_overdue(self, today) -> bool:
        return self.status == InvoiceStatus.ISSUED and self.due_on < today


class InvoiceLineKind(models.TextChoices):
    LICENCE = "licence", "Licence"
    PRORATION = "proration", "Pro rata"
    DEVICE = "device", "Device"
    USAGE = "usage", "Usage"
    TERMINATION_FEE = "termination_fee", "Termination fee"


class InvoiceLine(models.Model):
    # Indexed by the unique (invoice, position) constraint, which starts with it.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    kind = models.CharField(max_length=16, choices=InvoiceLineKind.choices)
    # Not indexed: no page lists lines by licence type, and the index would cost every renewal
    # tens of thousands of writes; deleting a licence type (refused once invoiced) scans.
    licence_type = models.ForeignKey(
        "licensing.LicenceType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True, help_text="Last day, inclusive.")
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="invoice_line_quantity"),
        ]

    def __str__(self) -> str:
        return self.description


class Commitment(models.Model):
    """Rule 16: a committed quantity of a licence type until an end date, set by platform staff."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="commitments"
    )
    licence_type = models.ForeignKey(
        "licensing.LicenceType", on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField()
    ends_on = models.DateField(help_text="The first day without the commitment.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation", "licence_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "licence_type"], name="commitment_one_per_type"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="commitment_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.licence_type} until {self.ends_on}"


class ChargeKind(models.TextChoices):
    DEVICE = "device", "Device order"
    TERMINATION_FEE = "termination_fee", "Termination fee"


class Charge(models.Model):
    """A one-off charge waiting for the next invoice: a device order (rule 22) or a commitment
    termination fee (rule 16). `invoice` is set when it is billed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="charges")
    kind = models.CharField(max_length=16, choices=ChargeKind.choices)
    description = models.CharField(max_length=300)
    device = models.ForeignKey(
        "licensing.Device", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    licence_type = models.ForeignKey(
        "licensing.LicenceType", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="charge_quantity"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="charge_amount"),
        ]
        indexes = [models.Index(fields=["organisation", "invoice"])]

    def __str__(self) -> str:
        return self.description


class UsageKind(models.TextChoices):
    CALL = "call", "Call"
    SMS = "sms", "SMS"
    MMS = "mms", "MMS"


class UsageDirection(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


class UsageRecord(models.Model):
    """One call or message with its cost, counted against the calling-credit cap (rule 21)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="usage")
    number = models.ForeignKey(
        "numbering.PhoneNumber", on_delete=models.PROTECT, related_name="usage"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="usage",
    )
    kind = models.CharField(max_length=8, choices=UsageKind.choices)
    direction = models.CharField(max_length=8, choices=UsageDirection.choices)
    started_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(default=0)
    destination = models.CharField(max_length=32, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=2)
    period_start = models.DateField(help_text="Start of the billing period it counts in.")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="usage"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(cost__gte=0), name="usage_cost")]
        indexes = [
            models.Index(fields=["organisation", "period_start"]),
            models.Index(fields=["organisation", "member", "-started_at"]),
            # The usage lists: newest first within one organisation.
            models.Index(fields=["organisation", "-started_at", "-id"], name="usage_org_started"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.direction} {self.destination}"


class UsageCounter(models.Model):
    """The running total of a period's usage. The cap is enforced by one conditional UPDATE on
    this row, so two concurrent usages cannot both slip under it (rule 21)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    used = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "period_start"], name="usage_counter_one_per_period"
            ),
            models.CheckConstraint(condition=Q(used__gte=0), name="usage_counter_not_negative"),
        ]


class RecordedPaymentMethod(models.TextChoices):
    """How a payment recorded by platform staff was made (the console's and the API's choices)."""

    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    SEPA_DEBIT = "sepa_debit", "SEPA direct debit"
    CHEQUE = "cheque", "Cheque"
    OTHER = "other", "Other"


class Payment(models.Model):
    """A payment received for an invoice: recorded by platform staff (a bank transfer, ...) or
    by a charge of a payment method that succeeded (`attempt`, billing/payments/collection.py).
    An invoice may have several; what is left to pay is `billing.selectors.invoice_amount_due`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    paid_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=32, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The charge that paid it, when a payment method was charged (one payment per charge).
    attempt = models.OneToOneField(
        "billing.PaymentAttempt",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment",
    )

    class Meta:
        ordering = ["-paid_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount")]

    def __str__(self) -> str:
        return f"{self.amount} for {self.invoice_id}"


# Payment methods and attempts live in their own module (billing/payments/models.py).
from billing.payments.models import (  # noqa: E402
    LocalProviderCharge as LocalProviderCharge,
)
from billing.payments.models import LocalProviderRefund as LocalProviderRefund  # noqa: E402
from billing.payments.models import PaymentAttempt as PaymentAttempt  # noqa: E402
from billing.payments.models import PaymentMethod as PaymentMethod  # noqa: E402
from billing.payments.models import PaymentReminder as PaymentReminder  # noqa: E402
from billing.payments.models import Refund as Refund  # noqa: E402
