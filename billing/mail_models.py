"""Who each invoice and credit note was e-mailed to (billing/mail.py, docs/rules.md "Documents
are e-mailed"). Beside billing/models.py, which imports it."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation


class DocumentSendStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, retrying"


class DocumentSend(models.Model):
    """One e-mail of one document (an invoice or a credit note) to one billing contact. The
    unique constraints make it one e-mail per document and contact, ever: a retried or
    duplicated task finds the row sent (or locked by the task sending it) and sends nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="sends"
    )
    credit_note = models.ForeignKey(
        "billing.CreditNote",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sends",
    )
    contact = models.EmailField()
    status = models.CharField(
        max_length=8, choices=DocumentSendStatus.choices, default=DocumentSendStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "document e-mail"
        verbose_name_plural = "document e-mails"
        ordering = ["-created_at", "contact"]
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice__isnull=True) ^ Q(credit_note__isnull=True),
                name="document_send_one_document",
            ),
            models.UniqueConstraint(
                fields=["invoice", "contact"],
                condition=Q(invoice__isnull=False),
                name="document_send_once_per_invoice_contact",
            ),
            models.UniqueConstraint(
                fields=["credit_note", "contact"],
                condition=Q(credit_note__isnull=False),
                name="document_send_once_per_credit_note_contact",
            ),
            models.CheckConstraint(
                condition=Q(status=DocumentSendStatus.SENT, sent_at__isnull=False)
                | (~Q(status=DocumentSendStatus.SENT) & Q(sent_at__isnull=True)),
                name="document_send_sent_has_time",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.document} to {self.contact}"

    @property
    def document(self):
        return self.invoice if self.invoice_id else self.credit_note
