import uuid
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone

from accounts.roles import CONSOLE_ROLES, Role


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.", code="invalid_timezone")


class Plan(models.TextChoices):
    CONNECT = "connect", "Connect"
    ADVANCED = "advanced", "Advanced"
    MAX = "max", "Max"


# Design rule 5: how many numbers one member may hold, by plan.
PLAN_NUMBER_LIMITS = {Plan.CONNECT: 5, Plan.ADVANCED: 10, Plan.MAX: 20}

# Default tax rate by country (a fraction); platform staff may change an organisation's rate.
DEFAULT_TAX_RATES = {
    "FR": Decimal("0.2000"),
    "GB": Decimal("0.2000"),
    "ES": Decimal("0.2100"),
    "BE": Decimal("0.2100"),
    "DE": Decimal("0.1900"),
    "IT": Decimal("0.2200"),
    "US": Decimal("0.0000"),
}


class Currency(models.TextChoices):
    EUR = "EUR", "Euro"
    USD = "USD", "US dollar"
    GBP = "GBP", "Pound sterling"


class Language(models.TextChoices):
    """The languages documents are written and e-mailed in (billing/mail.py)."""

    ENGLISH = "en", "English"
    FRENCH = "fr", "Français"


class BillingFrequency(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    YEARLY = "yearly", "Yearly"


class LicencePolicy(models.TextChoices):
    AUTO_PURCHASE = "auto_purchase", "Buy a licence automatically"
    BLOCK = "block", "Refuse when no licence is free"


class PaymentMethodKind(models.TextChoices):
    CARD = "card", "Card"
    SEPA_DEBIT = "sepa_debit", "SEPA direct debit"


class Organisation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. FR")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    plan = models.CharField(max_length=16, choices=Plan.choices, default=Plan.CONNECT)
    billing_frequency = models.CharField(
        max_length=8, choices=BillingFrequency.choices, default=BillingFrequency.MONTHLY
    )
    licence_policy = models.CharField(
        max_length=16, choices=LicencePolicy.choices, default=LicencePolicy.AUTO_PURCHASE
    )
    default_licence_type = models.ForeignKey(
        "licensing.LicenceType", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    billing_anchor = models.DateField(
        help_text="Local date the first billing period started; its day anchors every period."
    )
    payment_method_kind = models.CharField(
        max_length=16, choices=PaymentMethodKind.choices, blank=True
    )
    payment_method_reference = models.CharField(max_length=100, blank=True)
    calling_credit_cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal(settings.DEFAULT_CALLING_CREDIT_CAP),
        validators=[
            MinValueValidator(Decimal("0"), message="The calling-credit cap cannot be negative.")
        ],
    )
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.0000"))
    last_invoice_sequence = models.PositiveIntegerField(default=0, editable=False)
    # Credit notes are a series of their own, gapless like the invoices' (docs/rules.md).
    last_credit_note_sequence = models.PositiveIntegerField(default=0, editable=False)
    language = models.CharField(
        max_length=8,
        choices=Language.choices,
        default=Language.ENGLISH,
        help_text="The language of the invoices and credit notes e-mailed to its billing contacts.",
    )
    next_renewal_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When the next period starts (local midnight): the renewal job's due time.",
    )
    close_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the owner asked for the organisation to be closed.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(calling_credit_cap__gte=0), name="organisation_cap_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lt=1), name="organisation_tax_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(payment_method_kind="") | ~Q(payment_method_reference=""),
                name="organisation_payment_method_has_reference",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def max_numbers_per_member(self) -> int:
        return PLAN_NUMBER_LIMITS[Plan(self.plan)]

    @property
    def has_payment_method(self) -> bool:
        return bool(self.payment_method_kind)

    @property
    def invoice_prefix(self) -> str:
        return invoice_prefix(self.id)


def invoice_prefix(organisation_id: uuid.UUID) -> str:
    """The start of an organisation's invoice numbers: 40 bits of its random id. Invoice numbers
    are unique across organisations (a unique constraint); 6 hex digits would collide by a few
    thousand organisations."""
    return organisation_id.hex[:10].upper()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("status", MemberStatus.ACTIVE if password else MemberStatus.INVITED)
        return self._create(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_superuser=True, status=MemberStatus.ACTIVE)
        fields.setdefault("name", "Platform staff")
        return self._create(email, password, **fields)


class MemberStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ACTIVE = "active", "Active"
    DEACTIVATED = "deactivated", "Deactivated"


class User(AbstractBaseUser, PermissionsMixin):
    """A member of one organisation with one role; platform staff are superusers with none."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("e-mail address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    role = models.CharField(
        max_length=16, choices=[(r.value, r.value.title()) for r in Role], default=Role.USER
    )
    status = models.CharField(
        max_length=16, choices=MemberStatus.choices, default=MemberStatus.INVITED
    )
    timezone = models.CharField(max_length=64, blank=True, validators=[validate_timezone])
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = "member"
        verbose_name_plural = "members"
        ordering = ["name", "email"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_superuser=True) | Q(organisation__isnull=False),
                name="user_member_has_organisation",
            ),
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]
        indexes = [
            models.Index(fields=["organisation", "role"]),
            # Member lists (console and API) are sorted by name then e-mail within one
            # organisation: this index serves the order, and the deep pages, without a sort.
            models.Index(fields=["organisation", "name", "email"], name="user_org_name_email"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    @property
    def is_active(self) -> bool:  # read by Django's auth and DRF
        return self.status == MemberStatus.ACTIVE

    @property
    def is_staff(self) -> bool:
        """May open the administration console (owners, admins, finance; platform staff)."""
        return self.is_active and (self.is_superuser or self.role in CONSOLE_ROLES)

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email


class AuditEvent(models.Model):
    """Who changed what and when (docs/architecture.md, "Audit"). Written by services only."""

    # Indexed by the (organisation, -created_at) index below, which starts with it.
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        db_index=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    # The client's address when a request wrote the row (telecom/clients.py); none for jobs.
    client_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now, db_index=True)

    class Meta:
        verbose_name = "activity"
        verbose_name_plural = "activity log"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]

    def __str__(self) -> str:
        return (
            f"{self.actor_label or 'system'} {self.action} {self.target_type} {self.target_label}"
        )


class ServiceToken(models.Model):
    """The telephony platform's credential: it may only post usage, messages and voicemails.

    Only a SHA-256 digest of the key is stored; `manage.py create_service_token` prints the key
    once.
    """

    name = models.CharField(max_length=100, unique=True)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A member's API key (`Authorization: Token <key>`, accounts/api_tokens.py).

    Only a SHA-256 digest of the key is stored (like ServiceToken's); the key is shown once. A
    token stops working when its user's password changes (`password_digest` no longer matches),
    when the member is deactivated, after API_TOKEN_IDLE_DAYS without use, or when revoked
    (deleted).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    password_digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    last_used_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"API token {str(self.id)[:8]} of {self.user_id}"

    @property
    def expires_at(self):
        from datetime import timedelta

        return self.last_used_at + timedelta(days=settings.API_TOKEN_IDLE_DAYS)


class SignupRequest(models.Model):
    """A sign-up waiting for its owner to confirm their e-mail address (docs/security.md
    "Enumeration"): the organisation and its owner are created only from the link e-mailed to
    that address, so the sign-up form answers the same whether the address is known or not.

    The owner's password is kept hashed, never in the link; a request is confirmed once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField()
    details = models.JSONField(help_text="The organisation's details and the owner's name.")
    password_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="signup_request_created")]

    def __str__(self) -> str:
        return f"Sign-up of {self.email}"
