"""Serializers of API.md's "Billing" section."""

from rest_framework import serializers

from billing.models import Invoice, InvoiceLine, InvoiceLineKind, InvoiceStatus
from billing.selectors import organisation_today


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
            "lines",
        ]
        read_only_fields = fields

    def get_overdue(self, invoice: Invoice) -> bool:
        """Issued and past due, by the organisation's local date (DESIGN.md section 4)."""
        return invoice.is_overdue(organisation_today(invoice.organisation))
