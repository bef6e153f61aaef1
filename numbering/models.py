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
    """A number the default carrier backend can hand out (DESIGN.md section 5)."""

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


HELD_STATUSES = (NumberStatus.ASSIGNED, NumberStatus.PORTING)


class PhoneNumber(models.Model):
    """A number an organisation holds, always through a licence (rule 1).

    Its member or line is its licence's: one licence has one assignee, so a number is assigned
    to at most one member or line at a time (rule 4) by construction.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="numbers"
    )
    e164 = models.CharField(max_length=16)
    country = models.CharField(max_length=2)
    number_type = models.CharField(max_length=10, choices=NumberType.choices)
    status = models.CharField(max_length=12, choices=NumberStatus.choices)
    licence = models.ForeignKey(
        "licensing.Licence", on_delete=models.PROTECT, null=True, blank=True,
        related_name="numbers",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    quarantine_ends_on = models.DateField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["e164"]
        constraints = [
            # One live row per number across all organisations (rule 4 and inventory safety).
            models.UniqueConstraint(
                fields=["e164"], condition=~Q(status=NumberStatus.RELEASED),
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
                condition=~Q(status=NumberStatus.QUARANTINED)
                | Q(quarantine_ends_on__isnull=False),
                name="number_quarantine_has_end",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["licence", "status"]),
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
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
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
                fields=["number"], condition=Q(ended_at__isnull=True),
                name="number_assignment_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number_id} on {self.licence_id}"
