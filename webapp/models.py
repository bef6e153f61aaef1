"""What the end-user webapp keeps of its own: text messages and voicemails.

Calls are not stored here: a member's call history is the usage records of kind `call`
(`billing.UsageRecord`), reported by the telephony platform.

Both models record the member who held the number at the time (the number's holder through its
licence). A member sees the rows recorded for them, so a number that changes hands does not carry
its previous holder's conversations or voicemails to the next one.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation


class MessageDirection(models.TextChoices):
    # The same values and labels as billing's UsageDirection: one "direction" in the API schema.
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Not sent"
    RECEIVED = "received", "Received"


class Message(models.Model):
    """One SMS, sent from or received on one of an organisation's numbers (rule 10)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    number = models.ForeignKey(
        "numbering.PhoneNumber", on_delete=models.PROTECT, related_name="messages"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    direction = models.CharField(max_length=8, choices=MessageDirection.choices)
    peer = models.CharField(max_length=16, help_text="The other party, in E.164.")
    body = models.TextField()
    sent_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=8, choices=MessageStatus.choices)
    gateway_reference = models.CharField(max_length=100, blank=True)
    usage = models.OneToOneField(
        "billing.UsageRecord",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="message",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-sent_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction=MessageDirection.INBOUND, status=MessageStatus.RECEIVED)
                | (Q(direction=MessageDirection.OUTBOUND) & ~Q(status=MessageStatus.RECEIVED)),
                name="message_status_fits_direction",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "member", "number", "peer", "-sent_at"]),
        ]

    def __str__(self) -> str:
        arrow = "→" if self.direction == MessageDirection.OUTBOUND else "←"
        return f"{arrow} {self.peer}: {self.body[:40]}"


def voicemail_upload_to(instance: "Voicemail", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"voicemails/{instance.organisation_id}/{instance.id}.{extension}"


class Voicemail(models.Model):
    """A voicemail left on a number, uploaded by the telephony platform."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    number = models.ForeignKey(
        "numbering.PhoneNumber", on_delete=models.PROTECT, related_name="voicemails"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="voicemails",
    )
    caller = models.CharField(max_length=32, help_text="The caller's number, or a label.")
    received_at = models.DateTimeField()
    audio = models.FileField(upload_to=voicemail_upload_to, max_length=200)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-received_at", "-created_at"]
        indexes = [models.Index(fields=["organisation", "member", "-received_at"])]

    def __str__(self) -> str:
        return f"Voicemail from {self.caller}"
