import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Currency, Organisation
from telecom.money import MAX_UNIT_PRICE


class LicenceKind(models.TextChoices):
    BASE = "base", "Base"
    ADDON = "addon", "Add-on"


class LicenceType(models.Model):
    """A catalogue product (docs/rules.md, words). Loaded by a data migration; staff edit it."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=LicenceKind.choices)
    category = models.CharField(max_length=32)
    number_capacity = models.JSONField(
        default=dict,
        blank=True,
        help_text='Numbers one licence holds at once: {"any": 1}, {"landline": 1, "mobile": 3}.',
    )
    max_number_changes = models.PositiveSmallIntegerField(default=5)
    has_extension = models.BooleanField(default=False)
    addons = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="bases",
        limit_choices_to={"kind": LicenceKind.ADDON},
        help_text="Add-on types that fit this base type.",
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["kind", "sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def capacity_words(self) -> str:
        """The numbers one licence holds, for people: "1 landline and 3 mobiles"."""
        return capacity_in_words(self.number_capacity)


_NUMBER_WORDS = {
    "any": ("number of any type", "numbers of any type"),
    "mobile": ("mobile", "mobiles"),
    "landline": ("landline", "landlines"),
    "toll_free": ("toll-free number", "toll-free numbers"),
}


def capacity_in_words(capacity: dict | None) -> str:
    """{"landline": 1, "mobile": 3} -> "1 landline and 3 mobiles"; {} -> "No numbers"."""
    parts = []
    for kind, count in (capacity or {}).items():
        if not count:
            continue
        one, many = _NUMBER_WORDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
        parts.append(f"{count} {one if count == 1 else many}")
    if not parts:
        return "No numbers"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _price_bounds() -> list:
    """A unit price in the catalogue: from 0 to MAX_UNIT_PRICE, so every invoice amount fits its
    column (telecom.money). The check constraints below hold the same bounds in the database."""
    return [
        MinValueValidator(Decimal("0"), message="A price cannot be negative."),
        MaxValueValidator(
            MAX_UNIT_PRICE,
            message=f"A price is at most {MAX_UNIT_PRICE}: invoices could not hold more.",
        ),
    ]


class LicencePrice(models.Model):
    licence_type = models.ForeignKey(LicenceType, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    monthly = models.DecimalField(max_digits=10, decimal_places=2, validators=_price_bounds())
    yearly = models.DecimalField(max_digits=10, decimal_places=2, validators=_price_bounds())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["licence_type", "currency"], name="licence_price_one_per_currency"
            ),
            models.CheckConstraint(
                condition=Q(monthly__gte=0) & Q(yearly__gte=0), name="licence_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(monthly__lte=MAX_UNIT_PRICE) & Q(yearly__lte=MAX_UNIT_PRICE),
                name="licence_price_at_most_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.licence_type.code} {self.currency}"


class Device(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class DevicePrice(models.Model):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2, validators=_price_bounds())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "currency"], name="device_price_unique"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="device_price_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__lte=MAX_UNIT_PRICE), name="device_price_at_most_max"
            ),
        ]


class LineKind(models.TextChoices):
    ROOM_PHONE = "room_phone", "Room phone"
    SHARED_LINE = "shared_line", "Shared line"
    FAX = "fax", "Fax"
    VOICE_MENU = "voice_menu", "Voice menu"
    CALL_GROUP = "call_group", "Call group"


# The licence type a line of each kind uses unless another is asked for.
LINE_DEFAULT_LICENCE_TYPE = {
    LineKind.ROOM_PHONE: "room_phone",
    LineKind.SHARED_LINE: "shared_line",
    LineKind.FAX: "fax",
    LineKind.VOICE_MENU: "auto_attendant",
    LineKind.CALL_GROUP: "call_group",
}


class Line(models.Model):
    """A non-person assignee: room phone, shared line, fax, voice menu, call group."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="lines")
    kind = models.CharField(max_length=16, choices=LineKind.choices)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "name"], name="line_name_unique_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class LicenceStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REMOVAL_SCHEDULED = "removal_scheduled", "Removal scheduled"
    TERMINATED = "terminated", "Terminated"


class LicenceQuerySet(models.QuerySet):
    """The words of docs/rules.md about licences, each defined here once."""

    # Given to someone: assigned to a member or a line, or attached to a base licence (an add-on).
    ASSIGNED = Q(member__isnull=False) | Q(line__isnull=False) | Q(base_licence__isnull=False)

    def active(self):
        return self.filter(status=LicenceStatus.ACTIVE)

    def assigned(self):
        """Assigned to a member or a line, or attached to a base licence as an add-on."""
        return self.filter(self.ASSIGNED)

    def unassigned(self):
        """Assigned to nobody and attached to nothing (whatever their status or numbers)."""
        return self.exclude(self.ASSIGNED)

    def holding_numbers(self):
        """Licences with a held number on them (assigned or being ported in)."""
        return self.filter(Exists(held_numbers().filter(licence=OuterRef("pk"))))

    def free(self):
        """Free (docs/rules.md, words): active, assigned to nobody, attached to nothing, and
        holding no number (a licence left with numbers when its member was removed, rule 9,
        waits to be reassigned with them). Its extension does not matter: a licence unassigned
        keeps its extension and is free. Oldest first, so that long-paid licences are used."""
        return (
            self.active()
            .unassigned()
            .exclude(Exists(held_numbers().filter(licence=OuterRef("pk"))))
            .order_by("purchased_at", "pk")
        )


def held_numbers():
    """Held numbers (`numbering.models.PhoneNumberQuerySet.held`), reached through the
    `PhoneNumber.licence` relation: numbering is the layer above and is not imported here."""
    return Licence.numbers.field.model.objects.held()


class Licence(models.Model):
    """One bought unit of a licence type (docs/rules.md, words). Written by services only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="licences"
    )
    licence_type = models.ForeignKey(LicenceType, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=LicenceStatus.choices, default=LicenceStatus.ACTIVE
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="licences",
    )
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, null=True, blank=True, related_name="licences"
    )
    base_licence = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="addons"
    )
    extension = models.CharField(max_length=8, null=True, blank=True)
    number_changes_used = models.PositiveSmallIntegerField(default=0)
    numbers_received = models.PositiveIntegerField(
        default=0,
        help_text=(
            "How many numbers this licence has received, changes included: a licence may "
            "receive a limited number of them."
        ),
    )
    purchased_at = models.DateTimeField(default=timezone.now)
    removal_effective_on = models.DateField(null=True, blank=True)
    terminated_on = models.DateField(null=True, blank=True)

    objects = LicenceQuerySet.as_manager()

    class Meta:
        ordering = ["purchased_at", "id"]
        constraints = [
            # An assignee is a member or a line, never both (docs/architecture.md).
            models.CheckConstraint(
                condition=Q(member__isnull=True) | Q(line__isnull=True),
                name="licence_one_assignee",
            ),
            # An add-on is attached to a base licence; it is never assigned directly.
            models.CheckConstraint(
                condition=Q(base_licence__isnull=True)
                | (Q(member__isnull=True) & Q(line__isnull=True)),
                name="licence_addon_not_assigned_directly",
            ),
            # A licence scheduled for removal or terminated is unassigned and detached (rule 14).
            models.CheckConstraint(
                condition=Q(status=LicenceStatus.ACTIVE)
                | (
                    Q(member__isnull=True)
                    & Q(line__isnull=True)
                    & Q(base_licence__isnull=True)
                    & Q(extension__isnull=True)
                ),
                name="licence_inactive_is_unassigned",
            ),
            models.CheckConstraint(
                condition=~Q(status=LicenceStatus.REMOVAL_SCHEDULED)
                | Q(removal_effective_on__isnull=False),
                name="licence_removal_has_date",
            ),
            models.CheckConstraint(
                condition=Q(extension__isnull=True) | Q(extension__regex=r"^[0-9]{2,8}$"),
                name="licence_extension_digits",
            ),
            # Rule 11: extensions are unique per organisation.
            models.UniqueConstraint(
                fields=["organisation", "extension"],
                condition=Q(extension__isnull=False),
                name="licence_extension_unique_per_org",
            ),
            # One add-on of each type per base licence.
            models.UniqueConstraint(
                fields=["base_licence", "licence_type"],
                condition=Q(base_licence__isnull=False),
                name="licence_addon_once_per_base",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "licence_type", "status"]),
            models.Index(fields=["organisation", "member"]),
            # The API's licence list: purchase order within one organisation.
            models.Index(
                fields=["organisation", "purchased_at", "id"], name="licence_org_purchased"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        """The licence as customers read it: "User licence · 2fbeee4e" (codes stay in the API)."""
        name = self.licence_type.name
        if not name.lower().endswith("licence"):
            name = f"{name} licence"
        return f"{name} · {str(self.id)[:8]}"

    @property
    def is_assigned(self) -> bool:
        """`LicenceQuerySet.assigned` for one licence in memory."""
        return bool(self.member_id or self.line_id or self.base_licence_id)


class MassConfigurationCheckStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to be checked"
    CHECKING = "checking", "Being checked"
    DONE = "done", "Checked"
    FAILED = "failed", "Could not be checked"


class MassConfigurationCheck(models.Model):
    """A large mass-configuration file checked in the background (docs/rules.md rule 23): the
    upload returns at once and the review page follows `checked_rows` of `rows` until the
    report is ready. The file waits in storage under this check's id (reviewed_path)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    filename = models.CharField(max_length=255)
    status = models.CharField(
        max_length=8,
        choices=MassConfigurationCheckStatus.choices,
        default=MassConfigurationCheckStatus.QUEUED,
    )
    rows = models.PositiveIntegerField(default=0)
    checked_rows = models.PositiveIntegerField(default=0)
    ok = models.BooleanField(null=True)
    report_html = models.TextField(blank=True, help_text="The review, rendered once checked.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(checked_rows__lte=models.F("rows")),
                name="mass_config_check_progress_within_rows",
            ),
        ]

    def __str__(self) -> str:
        return f"Check of {self.filename}"

    @property
    def percent(self) -> int:
        return 100 * self.checked_rows // self.rows if self.rows else 0
