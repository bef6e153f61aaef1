"""Serializers of API.md's "Sign-up and organisation" and "Members" sections."""

import re
import zoneinfo

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import (
    ApiToken,
    BillingFrequency,
    Currency,
    Language,
    LicencePolicy,
    MemberStatus,
    Organisation,
    Plan,
    User,
)
from accounts.roles import Role
from billing.restriction import organisation_status
from billing.selectors import organisation_period
from licensing.api.serializers import LicenceTypeCodeField
from licensing.models import LicenceKind
from telecom.api import RejectUnknownFieldsMixin

ORGANISATION_STATUSES = ["active", "restricted", "suspended", "closed"]
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the current billing period.")
    end = serializers.DateField(help_text="Last day of the current billing period (inclusive).")


class OrganisationSerializer(serializers.ModelSerializer):
    max_numbers_per_member = serializers.IntegerField(read_only=True)
    default_licence_type = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = serializers.SerializerMethodField()
    has_payment_method = serializers.BooleanField(read_only=True)
    calling_credit_cap = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=4, read_only=True)
    current_period = serializers.SerializerMethodField()

    class Meta:
        model = Organisation
        fields = [
            "id",
            "name",
            "country",
            "currency",
            "timezone",
            "plan",
            "max_numbers_per_member",
            "billing_frequency",
            "licence_policy",
            "default_licence_type",
            "language",
            "status",
            "has_payment_method",
            "calling_credit_cap",
            "tax_rate",
            "current_period",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=ORGANISATION_STATUSES))
    def get_status(self, organisation: Organisation) -> str:
        return organisation_status(organisation)

    @extend_schema_field(PeriodSerializer)
    def get_current_period(self, organisation: Organisation) -> dict:
        period = organisation_period(organisation)
        return PeriodSerializer({"start": period.start, "end": period.last_day}).data


class OrganisationUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    plan = serializers.ChoiceField(choices=Plan.choices, required=False)
    licence_policy = serializers.ChoiceField(choices=LicencePolicy.choices, required=False)
    default_licence_type = LicenceTypeCodeField(
        kind=LicenceKind.BASE, required=False, allow_null=True
    )
    # The language of its invoices, credit notes and their e-mails (docs/rules.md, "Invoices").
    language = serializers.ChoiceField(choices=Language.choices, required=False)


class MemberSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=[r.value for r in Role], read_only=True)
    status = serializers.ChoiceField(choices=MemberStatus.choices, read_only=True)
    number_count = serializers.SerializerMethodField()
    licences = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "status", "number_count", "licences"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_number_count(self, member: User) -> int:
        # Annotated by numbering.selectors.with_number_count on every queryset the API reads.
        return getattr(member, "number_count", 0)


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=150, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=[r.value for r in Role])


class MemberUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    role = serializers.ChoiceField(choices=[r.value for r in Role], required=False)


class SignupSerializer(serializers.Serializer):
    organisation_name = serializers.CharField(max_length=200)
    country = serializers.CharField(max_length=2, min_length=2)
    currency = serializers.ChoiceField(choices=Currency.choices)
    timezone = serializers.CharField(max_length=64)
    plan = serializers.ChoiceField(choices=Plan.choices)
    billing_frequency = serializers.ChoiceField(choices=BillingFrequency.choices)
    licence_policy = serializers.ChoiceField(choices=LicencePolicy.choices)
    owner_email = serializers.EmailField(max_length=254)
    owner_password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )
    owner_name = serializers.CharField(max_length=150)

    def validate_country(self, value: str) -> str:
        value = value.strip().upper()
        if not _COUNTRY.match(value):
            raise serializers.ValidationError(
                "A two-letter ISO 3166-1 country code, e.g. FR.", code="invalid_country"
            )
        return value

    def validate_timezone(self, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(
                f"{value!r} is not a known time zone.", code="invalid_timezone"
            )
        return value

    def validate_owner_email(self, value: str) -> str:
        # Whether the address has an account is never said here (accounts/signup.py).
        return value.strip().lower()

    def validate(self, attrs: dict) -> dict:
        candidate = User(email=attrs["owner_email"], name=attrs["owner_name"])
        try:
            validate_password(attrs["owner_password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                {
                    "owner_password": [
                        serializers.ErrorDetail(message, code=error.code or "invalid")
                        for error in exc.error_list
                        for message in error.messages
                    ]
                }
            ) from exc
        return attrs


class SignupAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class SignupConfirmSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500, help_text="From the link e-mailed on sign-up.")


class SignupResponseSerializer(serializers.Serializer):
    organisation = OrganisationSerializer()
    owner = MemberSerializer()
    token = serializers.CharField()


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(
        max_length=128, style={"input_type": "password"}, trim_whitespace=False
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField(
        help_text="When the token stops working if it is not used before (API_TOKEN_IDLE_DAYS)."
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    """One of the caller's tokens; never its key."""

    expires_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "created_at", "last_used_at", "expires_at"]
        read_only_fields = fields
