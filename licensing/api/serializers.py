"""Serializers of API.md's "Catalogue", "Licences" and lines."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from licensing.models import Licence, LicenceKind, LicenceStatus, LicenceType, Line, LineKind
from telecom.api import RejectUnknownFieldsMixin, TenantPrimaryKeyRelatedField
from telecom.money import AMOUNT_MAX_DIGITS
from telecom.quantities import MAX_QUANTITY, AsciiIntegerField


class LicenceTypeCodeField(serializers.SlugRelatedField):
    """A licence type named by its code; an unknown code is the field code unknown_licence_type."""

    default_error_messages = {
        "unknown_licence_type": "Unknown licence type {value!r}.",
        "wrong_kind": "{value!r} is not a {kind} licence type.",
        "invalid": "Give a licence type code.",
    }

    def __init__(self, *, kind: str | None = None, **kwargs):
        self.kind = kind
        kwargs.setdefault("queryset", LicenceType.objects.all())
        super().__init__(slug_field="code", **kwargs)

    def to_internal_value(self, data) -> LicenceType:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            licence_type = self.get_queryset().get(code=data.strip())
        except LicenceType.DoesNotExist:
            self.fail("unknown_licence_type", value=data)
        if self.kind and licence_type.kind != self.kind:
            self.fail("wrong_kind", value=data, kind=self.kind)
        return licence_type


def _price(obj, attribute: str):
    prices = getattr(obj, "price_list", None)
    return getattr(prices[0], attribute) if prices else None


class LicenceTypeSerializer(serializers.ModelSerializer):
    monthly_price = serializers.SerializerMethodField()
    yearly_price = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    number_capacity = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    addon_codes = serializers.SlugRelatedField(
        source="addons", slug_field="code", many=True, read_only=True
    )

    class Meta:
        model = LicenceType
        fields = [
            "code",
            "name",
            "kind",
            "category",
            "monthly_price",
            "yearly_price",
            "currency",
            "number_capacity",
            "max_number_changes",
            "has_extension",
            "addon_codes",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True))
    def get_monthly_price(self, obj) -> str | None:
        price = _price(obj, "monthly")
        return None if price is None else f"{price:.2f}"

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True))
    def get_yearly_price(self, obj) -> str | None:
        price = _price(obj, "yearly")
        return None if price is None else f"{price:.2f}"

    def get_currency(self, obj) -> str:
        return self.context["currency"]


class DeviceSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    unit_price = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True))
    def get_unit_price(self, obj) -> str | None:
        price = _price(obj, "unit_price")
        return None if price is None else f"{price:.2f}"

    def get_currency(self, obj) -> str:
        return self.context["currency"]


class LineSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=LineKind.choices)
    name = serializers.CharField(max_length=120)

    class Meta:
        model = Line
        fields = ["id", "kind", "name"]
        read_only_fields = ["id"]
        # The (organisation, kind, name) constraint is checked by licensing.services.line_create.
        validators = []


class AddonSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="licence_type.code", read_only=True)

    class Meta:
        model = Licence
        fields = ["id", "type"]
        read_only_fields = fields


class LicenceSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="licence_type.code", read_only=True)
    kind = serializers.ChoiceField(
        source="licence_type.kind", choices=LicenceKind.choices, read_only=True
    )
    status = serializers.ChoiceField(choices=LicenceStatus.choices, read_only=True)
    numbers = serializers.SerializerMethodField()
    addons = AddonSerializer(many=True, read_only=True)

    class Meta:
        model = Licence
        fields = [
            "id",
            "type",
            "kind",
            "status",
            "member",
            "line",
            "numbers",
            "extension",
            "number_changes_used",
            "addons",
            "base_licence",
            "purchased_at",
            "removal_effective_on",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_numbers(self, licence: Licence) -> list[str]:
        """Numbers the licence holds (assigned or porting), from licence_list(detailed=True)."""
        held = getattr(licence, "held_numbers", None)
        if held is None:
            held = licence.numbers.held().order_by("e164")
        return [str(number.pk) for number in held]


class LicenceQuantitySerializer(serializers.Serializer):
    type = LicenceTypeCodeField()
    quantity = AsciiIntegerField(min_value=1, max_value=MAX_QUANTITY)


class QuoteLineSerializer(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True, help_text="Last day, inclusive.")
    amount = serializers.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)


class QuoteSerializer(serializers.Serializer):
    restored = serializers.IntegerField()
    purchased = serializers.IntegerField()
    lines = QuoteLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    tax = serializers.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    total = serializers.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    currency = serializers.CharField()
    vat_treatment = serializers.CharField(
        help_text="The invoice's VAT treatment: domestic, reverse_charge, eu_charged, "
        "outside_eu; empty before billing details are set."
    )
    vat_note = serializers.CharField(help_text="What the invoice will say about its VAT, if any.")


class PurchaseResultSerializer(serializers.Serializer):
    restored = serializers.SerializerMethodField()
    purchased = serializers.SerializerMethodField()
    licences = serializers.SerializerMethodField()
    invoice = serializers.SerializerMethodField()
    total = serializers.SerializerMethodField()

    def get_restored(self, result) -> int:
        return len(result.restored)

    def get_purchased(self, result) -> int:
        return len(result.purchased)

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_licences(self, result) -> list[str]:
        return [str(licence.pk) for licence in result.licences]

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_invoice(self, result) -> str | None:
        return str(result.invoice.pk) if result.invoice else None

    @extend_schema_field(serializers.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2))
    def get_total(self, result) -> str:
        return f"{result.total:.2f}"


class RemovalResultSerializer(serializers.Serializer):
    licences = serializers.SerializerMethodField()
    effective_on = serializers.DateField(
        help_text="The first day on which the licences are gone (the next period's start)."
    )
    termination_fee = serializers.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    vat_treatment = serializers.CharField(help_text="The VAT treatment of the invoice of the fee.")
    vat_note = serializers.CharField(help_text="What that invoice will say about its VAT, if any.")

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_licences(self, result) -> list[str]:
        return [str(licence.pk) for licence in result.licences]


class LicenceSummarySerializer(serializers.Serializer):
    type = serializers.CharField()
    kind = serializers.ChoiceField(choices=LicenceKind.choices)
    total = serializers.IntegerField()
    assigned = serializers.IntegerField()
    available = serializers.IntegerField()
    removal_scheduled = serializers.IntegerField()


class LicenceAssignSerializer(serializers.Serializer):
    member = TenantPrimaryKeyRelatedField(
        queryset=User.objects.filter(is_superuser=False), required=False, allow_null=True
    )
    line = TenantPrimaryKeyRelatedField(
        queryset=Line.objects.all(), required=False, allow_null=True
    )

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("member") is None) == (attrs.get("line") is None):
            raise serializers.ValidationError(
                "Give exactly one of a member or a line.", code="one_assignee"
            )
        return attrs


class LicenceAddonsSerializer(serializers.Serializer):
    codes = serializers.ListField(
        child=serializers.CharField(max_length=64), allow_empty=True, max_length=50
    )


class LicenceUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    extension = serializers.CharField(max_length=8, allow_null=True, allow_blank=True)
