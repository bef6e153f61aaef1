import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Currency, Organisation


class InvoiceKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    RENEWAL = "renewal", "Renewal"
    CORRECTION = "correction", "Correction"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class Invoice(models.Model):
    """An issued invoice. Never edited once issued: void it and issue another (DESIGN.md s. 4)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="invoices"
    )
    sequence = models.PositiveIntegerField(editable=False)
    number = models.CharField(max_length=32, unique=True, editable=False)
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
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    tax = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-sequence"]
        constraints = [
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
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    kind = models.CharField(max_length=16, choices=InvoiceLineKind.choices)
    licence_type = models.ForeignKey(
        "licensing.LicenceType", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True, help_text="Last day, inclusive.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="invoice_line_quantity"),
        ]

    def __str__(self) -> str:
        return self.description
