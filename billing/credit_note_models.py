"""Credit notes (docs/rules.md, "Credit notes"): how an issued invoice is corrected, never by
editing it. Kept beside billing/models.py, which imports them, so the ledger's models stay one
import away; relations name the invoice models by string."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Currency, Organisation
from telecom.money import AMOUNT_MAX_DIGITS


class CreditNote(models.Model):
    """A numbered credit note against one invoice: its own gapless series per organisation
    (`…-CN-000001`), the invoice's currency, rate and billing details (so the same VAT
    treatment), positive amounts that reduce what the invoice asks. Never edited: a database
    trigger refuses any UPDATE or DELETE (migration 0009)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="credit_notes", db_index=False
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="credit_notes"
    )
    sequence = models.PositiveIntegerField(editable=False)
    number = models.CharField(max_length=36, editable=False)
    reason = models.CharField(max_length=300)
    issued_at = models.DateTimeField(default=timezone.now)
    issued_on = models.DateField(help_text="Local date of issue in the organisation's time zone.")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    subtotal = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    tax = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    total = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    billing_details = models.ForeignKey(
        "billing.BillingDetails", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="credit_note_number_unique"),
            # Gapless per organisation, taken under the organisation's lock as invoices' are.
            models.UniqueConstraint(
                fields=["organisation", "sequence"], name="credit_note_sequence_unique_per_org"
            ),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") + F("tax")), name="credit_note_total_is_sum"
            ),
            models.CheckConstraint(condition=Q(subtotal__gt=0), name="credit_note_positive"),
            models.CheckConstraint(condition=Q(tax__gte=0), name="credit_note_tax_not_negative"),
            models.CheckConstraint(
                condition=Q(sequence__gte=1), name="credit_note_sequence_positive"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "-issued_on"])]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(models.Model):
    """What a credit note takes back: an invoice line (in whole or in part) or an amount."""

    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    position = models.PositiveSmallIntegerField()
    invoice_line = models.ForeignKey(
        "billing.InvoiceLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credited_by",
    )
    description = models.CharField(max_length=300)
    kind = models.CharField(max_length=16)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True, help_text="Last day, inclusive.")
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)

    class Meta:
        ordering = ["credit_note", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_note", "position"], name="credit_note_line_position"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="credit_note_line_quantity"),
            # A whole invoice's credit repeats its lines, a negative one (a credit) included.
            models.CheckConstraint(condition=~Q(amount=0), name="credit_note_line_not_zero"),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def licence_type(self):
        """Credit lines name no licence type of their own (billing.exports reads the invoice
        line's)."""
        return self.invoice_line.licence_type if self.invoice_line_id else None
