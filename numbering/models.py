import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation
from numbering.phone import capabilities_for, format_for_people


class NumberType(models.TextChoices):
    MOBILE = "mobile", "Mobile"
    LANDLINE = "landline", "Landline"
    TOLL_FREE = "toll_free", "Toll-free"


class InventoryNumber(models.Model):
    """A number the default carrier backend can hand out (docs/architecture.md)."""

    e164 = models.CharField(max_length=16, unique=True)
    country = models.CharField(max_length=2)
    number_type = models.CharField(max_length=10, choices=NumberType.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["e164"]
        indexes = [models.Index(fields=["country", "number_type", "e164"])]

    def __str__(self) -> str:
        return self.e164


class NumberStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    QUARANTINED = "quarantined", "Quarantined"
    PORTING = "porting", "Porting"
    RELEASED = "released", "Released"


# Held (docs/rules.md, words): assigned to someone or being ported in; it takes a licence slot.
HELD_STATUSES = (NumberStatus.ASSIGNED, NumberStatus.PORTING)


class PhoneNumberQuerySet(models.QuerySet):
    def held(self):
        """Numbers held (`HELD_STATUSES`): each takes a slot of its licence (rule 3)."""
        return self.filter(status__in=HELD_STATUSES)


class PhoneNumber(models.Model):
    """A number an organisation holds, always through a licence (rule 1).

    Its member or line is its licence's: one licence has one assignee, so a number is assigned
    to at most one member or line at a time (rule 4) by construction.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="numbers")
    e164 = models.CharField(max_length=16)
    country = models.CharField(max_length=2)
    number_type = models.CharField(max_length=10, choices=NumberType.choices)
    status = models.CharField(max_length=12, choices=NumberStatus.choices)
    licence = models.ForeignKey(
        "licensing.Licence",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="numbers",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    quarantine_ends_on = models.DateField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = PhoneNumberQuerySet.as_manager()

    class Meta:
        ordering = ["e164"]
        constraints = [
            # One live row per number across all organisations (rule 4 and inventory safety).
            models.UniqueConstraint(
                fields=["e164"],
                condition=~Q(status=NumberStatus.RELEASED),
                name="number_one_live_row",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=HELD_STATUSES) | Q(licence__isnull=False),
                name="number_held_through_licence",
            ),
            models.CheckConstraint(
                condition=Q(status__in=HELD_STATUSES) | Q(licence__isnull=True),
                name="number_not_held_has_no_licence",
            ),
            models.CheckConstraint(
                condition=~Q(status=NumberStatus.QUARANTINED) | Q(quarantine_ends_on__isnull=False),
                name="number_quarantine_has_end",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["licence", "status"]),
            # Number lists (console and API) are sorted by number within one organisation and
            # never show released numbers.
            models.Index(
                fields=["organisation", "e164"],
                condition=~Q(status=NumberStatus.RELEASED),
                name="number_org_e164_live",
            ),
        ]

    def __str__(self) -> str:
        return format_for_people(self.e164)

    @property
    def capabilities(self) -> tuple[str, ...]:
        return capabilities_for(self.country, self.number_type)


class NumberAssignment(models.Model):
    """History: who held a number, on which licence, from when to when."""

    number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="assignments")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    licence = models.ForeignKey("licensing.Licence", on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    line = models.ForeignKey(
        "licensing.Line", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                condition=Q(ended_at__isnull=True),
                name="number_assignment_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number_id} on {self.licence_id}"


# --- porting (rule 20) ------------------------------------------------------------------------


class PortingStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


OPEN_PORTING_STATUSES = (PortingStatus.SUBMITTED, PortingStatus.ACCEPTED)


def porting_document_path(instance: "PortingRequest", filename: str) -> str:
    # The service names the file after the request and its detected type, never the upload's name.
    return f"porting/{instance.organisation_id}/{filename}"


class PortingRequest(models.Model):
    """Bringing a number in from another operator (rule 20). Written by numbering.porting only.

    The licence slot is reserved by `number`, a PhoneNumber row with status `porting` on
    `licence`: it counts against the licence's capacity and the member's plan cap like a held
    number, and becomes `assigned` on completion or `released` on rejection or cancellation.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="porting_requests"
    )
    e164 = models.CharField(max_length=16)
    country = models.CharField(max_length=2)
    number_type = models.CharField(max_length=10, choices=NumberType.choices)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="porting_requests"
    )
    porting_date = models.DateField(help_text="The wished porting date.")
    confirmed_date = models.DateField(
        null=True, blank=True, help_text="The date the losing operator confirmed."
    )
    rio = models.CharField(max_length=12, blank=True)
    document = models.FileField(upload_to=porting_document_path, blank=True, max_length=200)
    document_name = models.CharField(max_length=200, blank=True)
    document_content_type = models.CharField(max_length=50, blank=True)
    document_size = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=PortingStatus.choices, default=PortingStatus.SUBMITTED
    )
    rejection_reason = models.TextField(blank=True)
    licence = models.ForeignKey(
        "licensing.Licence", on_delete=models.PROTECT, related_name="porting_requests"
    )
    number = models.ForeignKey(
        PhoneNumber, on_delete=models.PROTECT, related_name="porting_requests"
    )
    # Whether reserving the slot counted as a number change on the licence (rule 8); given back
    # if the number never arrives.
    counted_as_change = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open request per number, whatever the organisation.
            models.UniqueConstraint(
                fields=["e164"],
                condition=Q(status__in=OPEN_PORTING_STATUSES),
                name="porting_one_open_request_per_number",
            ),
            models.CheckConstraint(
                condition=~Q(status=PortingStatus.REJECTED) | ~Q(rejection_reason=""),
                name="porting_rejection_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"Porting {format_for_people(self.e164)}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PORTING_STATUSES


class PortingEvent(models.Model):
    """Every transition of a porting request: who, when, from which status to which, and why."""

    porting_request = models.ForeignKey(
        PortingRequest, on_delete=models.CASCADE, related_name="events"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=10, choices=PortingStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=PortingStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"
