"""Serializers of API.md's "Billing" section."""

from decimal import Decimal

import phonenumbers
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import (
    Charge,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    RecordedPaymentMethod,
    Refund,
    UsageDirection,
    UsageKind,
    UsageRecord,
)
from billing.selectors import invoice_amount_due, organisation_today
from licensing.models import Device, DevicePrice
from numbering.models import NumberStatus, PhoneNumber
from telecom.api import RejectUnknownFieldsMixin
from telecom.quantities import MAX_QUANTITY, AsciiDecimalField, AsciiIntegerField

# A day: no call lasts longer, and a bigger value is a unit mistake (milliseconds).
MAX_DURATION_SECONDS = 86_400


class InvoiceLineSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=InvoiceLineKind.choices, read_only=True)
    type = serializers.SlugRelatedField(
        source="licence_type", slug_field="code", read_only=True, allow_null=True
    )
    period_end = serializers.DateField(
        read_only=True, allow_null=True, help_text="Last day, inclusive."
    )

    class Meta:
        model = InvoiceLine
        fields = [
            "description",
            "kind",
            "type",
            "quantity",
            "unit_price",
            "period_start",
            "period_end",
            "amount",
        ]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=InvoiceStatus.choices, read_only=True)
    overdue = serializers.SerializerMethodField()
    period_end = serializers.DateField(
        read_only=True, allow_null=True, help_text="Last day, inclusive."
    )
    lines = InvoiceLineSerializer(many=True, read_only=True)
    amount_due = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "overdue",
            "issued_on",
            "due_on",
            "period_start",
            "period_end",
            "currency",
            "subtotal",
            "tax",
            "total",
            "amount_due",
            "lines",
        ]
        read_only_fields = fields

    def get_amount_due(self, invoice: Invoice) -> str:
        """The total less its credit notes and the payments received, as the amounts are."""
        return f"{invoice_amount_due(invoice):.2f}"

    def get_overdue(self, invoice: Invoice) -> bool:
        """Issued and past due, by the organisation's local date (docs/rules.md, billing)."""
        return invoice.is_overdue(organisation_today(invoice.organisation))


class InvoicePaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "amount", "paid_at", "method", "reference"]
        read_only_fields = fields


class InvoiceAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentAttempt
        fields = ["id", "number", "trigger", "status", "amount", "decline", "reason", "created_at"]
        read_only_fields = fields


class InvoiceRefundSerializer(serializers.ModelSerializer):
    credit_note = serializers.UUIDField(source="credit_note_id", read_only=True)
    payment = serializers.UUIDField(source="payment_id", read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "credit_note", "payment", "amount", "currency", "status", "reason"]
        read_only_fields = fields


class InvoiceDetailSerializer(InvoiceSerializer):
    """One invoice: what is left to pay, its payments and its charge attempts (failed ones too)."""

    amount_due = serializers.SerializerMethodField()
    payments = InvoicePaymentSerializer(many=True, read_only=True)
    payment_attempts = InvoiceAttemptSerializer(many=True, read_only=True)
    refunds = serializers.SerializerMethodField()

    class Meta(InvoiceSerializer.Meta):
        fields = [
            *InvoiceSerializer.Meta.fields,
            "amount_due",
            "payments",
            "payment_attempts",
            "refunds",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=20, decimal_places=2))
    def get_amount_due(self, invoice: Invoice) -> str:
        return str(invoice_amount_due(invoice))

    @extend_schema_field(InvoiceRefundSerializer(many=True))
    def get_refunds(self, invoice: Invoice) -> list:
        """Refunds to payment methods, for the invoice's credit notes."""
        refunds = Refund.objects.filter(payment__invoice=invoice).order_by("created_at")
        return InvoiceRefundSerializer(refunds, many=True).data


class InvoiceExportQuerySerializer(serializers.Serializer):
    """`?issued_from=&issued_to=`: both required, inclusive, on the invoices' local issue date."""

    issued_from = serializers.DateField(help_text="First issue date, inclusive (YYYY-MM-DD).")
    issued_to = serializers.DateField(help_text="Last issue date, inclusive (YYYY-MM-DD).")

    def validate(self, attrs):
        if attrs["issued_from"] > attrs["issued_to"]:
            raise serializers.ValidationError(
                {
                    "issued_to": [
                        serializers.ErrorDetail(
                            "Must be on or after issued_from.", code="before_issued_from"
                        )
                    ]
                }
            )
        return attrs


class PaymentRecordSerializer(serializers.Serializer):
    """Platform staff record a payment received for an invoice: both fields are required."""

    method = serializers.ChoiceField(
        choices=RecordedPaymentMethod.choices,
        error_messages={"required": "Say how the invoice was paid."},
    )
    reference = serializers.CharField(
        max_length=100,
        help_text="The bank's or the processor's reference of the payment.",
        error_messages={
            "required": "Give the bank's or the processor's reference of the payment.",
            "blank": "Give the bank's or the processor's reference of the payment.",
        },
    )


# --- device orders (rule 22) ----------------------------------------------------------------------


class DeviceOrderSerializer(serializers.ModelSerializer):
    device = serializers.SlugRelatedField(slug_field="code", read_only=True)
    currency = serializers.CharField(source="organisation.currency", read_only=True)

    class Meta:
        model = Charge
        fields = [
            "id",
            "device",
            "quantity",
            "unit_price",
            "amount",
            "currency",
            "created_at",
            "invoice",
        ]
        read_only_fields = fields


class DeviceCodeField(serializers.SlugRelatedField):
    """A catalogue device by its code, priced in the caller's currency."""

    default_error_messages = {
        "does_not_exist": "Unknown device {value!r}.",
        "invalid": "Give a device code.",
        "not_sold": "{value!r} is not sold in {currency}.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Device.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        device = super().to_internal_value(data.strip())
        currency = self.context["organisation"].currency
        if not DevicePrice.objects.filter(device=device, currency=currency).exists():
            self.fail("not_sold", value=data, currency=currency)
        return device


class DeviceOrderCreateSerializer(serializers.Serializer):
    device = DeviceCodeField(help_text="A code of GET /api/v1/devices/.")
    quantity = AsciiIntegerField(min_value=1, max_value=MAX_QUANTITY)


# --- usage (rule 21) ------------------------------------------------------------------------------


class UsageRecordSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="number.e164", read_only=True)
    # The choices are documented once, on UsageCreate: an enum shared by two components would
    # need an ENUM_NAME_OVERRIDES entry in settings, as several models have a `kind`.
    kind = serializers.CharField(read_only=True, help_text="call, sms or mms.")
    direction = serializers.ChoiceField(choices=UsageDirection.choices, read_only=True)

    class Meta:
        model = UsageRecord
        fields = [
            "id",
            "number",
            "member",
            "kind",
            "direction",
            "started_at",
            "duration_seconds",
            "destination",
            "cost",
            "period_start",
            "invoice",
        ]
        read_only_fields = fields


class HeldNumberField(serializers.CharField):
    """An E.164 number that an organisation holds now (assigned through a licence)."""

    default_error_messages = {
        "invalid_number": "{value!r} is not a phone number in E.164 form.",
        "does_not_exist": "No organisation holds the number {value}.",
    }

    def run_validation(self, data=serializers.empty):
        text = super().run_validation(data)  # a non-blank string of at most max_length
        try:
            parsed = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            self.fail("invalid_number", value=text)
        if not phonenumbers.is_possible_number(parsed):
            self.fail("invalid_number", value=text)
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        number = (
            PhoneNumber.objects.filter(e164=e164, status=NumberStatus.ASSIGNED)
            .select_related("organisation", "licence__member", "licence__base_licence__member")
            .first()
        )
        if number is None:
            self.fail("does_not_exist", value=e164)
        return number


class UsageCreateSerializer(serializers.Serializer):
    number = HeldNumberField(max_length=32, help_text="The product's number, E.164.")
    kind = serializers.ChoiceField(choices=UsageKind.choices)
    direction = serializers.ChoiceField(choices=UsageDirection.choices)
    started_at = serializers.DateTimeField(help_text="ISO 8601 with its offset.")
    duration_seconds = AsciiIntegerField(min_value=0, max_value=MAX_DURATION_SECONDS, default=0)
    destination = serializers.CharField(max_length=32, allow_blank=True, default="")
    cost = AsciiDecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="In the organisation's currency.",
    )


class BillingDetailsSerializer(serializers.Serializer):
    """The organisation's billing details in force, with the VAT its invoices charge."""

    legal_name = serializers.CharField()
    street = serializers.CharField()
    postcode = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()
    vat_number = serializers.CharField()
    registration_number = serializers.CharField()
    contacts = serializers.ListField(child=serializers.EmailField())
    purchase_order = serializers.CharField()
    vat_number_status = serializers.CharField(
        help_text="valid, invalid, unavailable (could not be checked) or empty (no number)."
    )
    vat_treatment = serializers.CharField(
        help_text="domestic, reverse_charge, eu_charged or outside_eu."
    )
    vat_note = serializers.CharField(help_text="What invoices say about their VAT, if anything.")
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    updated_at = serializers.DateTimeField(source="created_at", allow_null=True)


class BillingDetailsUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Any of the fields; the others keep their value. Checked by billing.profile."""

    legal_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    street = serializers.CharField(required=False, allow_blank=True, max_length=200)
    postcode = serializers.CharField(required=False, allow_blank=True, max_length=20)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    vat_number = serializers.CharField(required=False, allow_blank=True, max_length=30)
    registration_number = serializers.CharField(required=False, allow_blank=True, max_length=50)
    contacts = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, max_length=50
    )
    purchase_order = serializers.CharField(required=False, allow_blank=True, max_length=100)
