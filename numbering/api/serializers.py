"""Serializers of API.md's "Numbers": numbers, available numbers and the number actions."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from licensing.api.serializers import LicenceTypeCodeField
from licensing.models import Licence, LicenceKind, Line
from numbering.filters import LISTED_STATUSES
from numbering.models import NumberType, PhoneNumber
from numbering.phone import MMS, SMS, SUPPORTED_COUNTRIES, VOICE
from telecom.api import TenantPrimaryKeyRelatedField

CAPABILITY_CHOICES = [VOICE, SMS, MMS]


class CountryField(serializers.ChoiceField):
    """An ISO country code the product offers numbers in; "fr" is read as FR."""

    def __init__(self, **kwargs):
        super().__init__(choices=SUPPORTED_COUNTRIES, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data.upper() if isinstance(data, str) else data)


class NumberSerializer(serializers.ModelSerializer):
    """A number the organisation holds. Its member or line is its licence's (rule 4)."""

    type = serializers.ChoiceField(source="number_type", choices=NumberType.choices)
    capabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=CAPABILITY_CHOICES),
        help_text="What the number can do; SMS and MMS follow from its country and type.",
    )
    status = serializers.ChoiceField(choices=LISTED_STATUSES)
    member = serializers.SerializerMethodField()
    line = serializers.SerializerMethodField()
    licence = serializers.UUIDField(source="licence_id", allow_null=True)

    class Meta:
        model = PhoneNumber
        fields = [
            "id",
            "e164",
            "country",
            "type",
            "capabilities",
            "status",
            "member",
            "line",
            "licence",
            "assigned_at",
            "quarantine_ends_on",
        ]
        read_only_fields = fields

    @staticmethod
    def _owner(number: PhoneNumber) -> Licence | None:
        # The licence and its base licence come with the row (numbering.selectors.number_list):
        # only their ids are read here, so no query per row.
        licence = number.licence
        if licence is None:
            return None
        return licence.base_licence if licence.base_licence_id else licence

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_member(self, number: PhoneNumber) -> str | None:
        owner = self._owner(number)
        return str(owner.member_id) if owner is not None and owner.member_id else None

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_line(self, number: PhoneNumber) -> str | None:
        owner = self._owner(number)
        return str(owner.line_id) if owner is not None and owner.line_id else None


class NumberAssignedSerializer(NumberSerializer):
    """The answer to an assignment: the number, and whether a licence was bought for it."""

    # Always "assigned" here. (A plain string, so that the schema's status enum stays the Number
    # component's own: shared by two components, drf-spectacular could not name it.)
    status = serializers.CharField(help_text='"assigned": a new number is always assigned.')
    licence_purchased = serializers.BooleanField()
    invoice = serializers.UUIDField(allow_null=True, help_text="The purchase's pro rata invoice.")

    class Meta(NumberSerializer.Meta):
        fields = [*NumberSerializer.Meta.fields, "licence_purchased", "invoice"]
        read_only_fields = fields


class AvailableNumberSerializer(serializers.Serializer):
    e164 = serializers.CharField()
    country = serializers.CharField()
    type = serializers.ChoiceField(source="number_type", choices=NumberType.choices)
    capabilities = serializers.ListField(child=serializers.ChoiceField(choices=CAPABILITY_CHOICES))


class AvailableNumberQuerySerializer(serializers.Serializer):
    country = CountryField()
    type = serializers.ChoiceField(choices=NumberType.choices)
    contains = serializers.CharField(
        required=False, allow_blank=True, max_length=20, help_text="Digits the number contains."
    )


def member_field() -> TenantPrimaryKeyRelatedField:
    """A member of the caller's organisation: another organisation's id "does not exist"."""
    return TenantPrimaryKeyRelatedField(
        queryset=User.objects.filter(is_superuser=False), required=False, allow_null=True
    )


def line_field() -> TenantPrimaryKeyRelatedField:
    return TenantPrimaryKeyRelatedField(
        queryset=Line.objects.all(), required=False, allow_null=True
    )


class AssigneeSerializer(serializers.Serializer):
    """Exactly one of a member or a line of the caller's organisation."""

    member = member_field()
    line = line_field()

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("member") is None) == (attrs.get("line") is None):
            raise serializers.ValidationError(
                "Give exactly one of a member or a line.", code="one_assignee"
            )
        return attrs


class NumberAssignSerializer(AssigneeSerializer):
    country = CountryField()
    type = serializers.ChoiceField(choices=NumberType.choices)
    e164 = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="A given available number; else the first available one.",
    )
    licence_type = LicenceTypeCodeField(
        kind=LicenceKind.BASE,
        required=False,
        allow_null=True,
        help_text="The type to take or buy a licence of; the organisation's default otherwise.",
    )
    licence = TenantPrimaryKeyRelatedField(
        queryset=Licence.objects.all(),
        required=False,
        allow_null=True,
        help_text="A licence of the organisation to put the number on.",
    )


class NumberRecoverSerializer(serializers.Serializer):
    """Platform staff: the member or line to recover to; the last holder when none is given."""

    member = member_field()
    line = line_field()

    def validate(self, attrs: dict) -> dict:
        if attrs.get("member") is not None and attrs.get("line") is not None:
            raise serializers.ValidationError(
                "Give at most one of a member or a line.", code="one_assignee"
            )
        return attrs


class NumberChangeSerializer(serializers.Serializer):
    e164 = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="The new number, if a given available one; else the first available one.",
    )
