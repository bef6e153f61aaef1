"""Credit notes in the API (docs/api.md, "Credit notes"): platform staff issue one on an invoice
(`POST /invoices/{id}/credit-notes/`, and its `preview/`), everyone who reads invoices reads them
(`GET /credit-notes/`, detail, PDF, CSV)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.renderers import JSONRenderer

from accounts.roles import Cap, has_capability
from billing.exports import credit_note_export_lines, csv_chunks
from billing.models import CreditNote, CreditNoteLine
from billing.payments.refunds import credit_note_issue_refunding, credit_note_refund_preview
from billing.pdf import credit_note_pdf, credit_note_pdf_filename
from billing.selectors import credit_note_list
from telecom.api import RejectUnknownFieldsMixin, TenantViewSet
from telecom.quantities import AsciiDecimalField


class CreditNoteLineSerializer(serializers.ModelSerializer):
    invoice_line = serializers.IntegerField(
        source="invoice_line.position",
        read_only=True,
        allow_null=True,
        help_text="The position of the invoice line it credits; null for an amount.",
    )

    class Meta:
        model = CreditNoteLine
        fields = ["position", "description", "invoice_line", "quantity", "unit_price", "amount"]
        read_only_fields = fields


class CreditNoteSerializer(serializers.ModelSerializer):
    invoice = serializers.UUIDField(source="invoice_id", read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    lines = CreditNoteLineSerializer(many=True, read_only=True)

    class Meta:
        model = CreditNote
        fields = [
            "id",
            "number",
            "invoice",
            "invoice_number",
            "reason",
            "issued_at",
            "issued_on",
            "currency",
            "tax_rate",
            "subtotal",
            "tax",
            "total",
            "lines",
        ]
        read_only_fields = fields


class CreditLineRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    position = serializers.IntegerField(min_value=1)
    amount = AsciiDecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text="Excluding tax; the line's whole amount (what is left of it) when absent.",
    )


class CreditNoteRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Exactly one of `whole`, `lines`, `amount` (excluding tax), and a reason."""

    reason = serializers.CharField(max_length=300)
    whole = serializers.BooleanField(required=False, default=False)
    lines = CreditLineRequestSerializer(many=True, required=False)
    amount = AsciiDecimalField(max_digits=12, decimal_places=2, required=False)
    description = serializers.CharField(max_length=300, required=False, default="")
    refund = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also refund the credit note's total to the payment method that paid the "
        "invoice (409 refund_not_possible when none can be refunded automatically).",
    )


class CreditDraftSerializer(serializers.Serializer):
    """The credit note `POST …/credit-notes/` would issue now, and the amount due after it."""

    lines = CreditNoteLineSerializer(many=True, read_only=True)
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    tax = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    due_before = serializers.DecimalField(max_digits=14, decimal_places=2)
    due_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    full = serializers.BooleanField(help_text="Nothing is left to credit afterwards.")
    refund = serializers.BooleanField(help_text="A refund to the original method was asked.")
    refund_amount = serializers.DecimalField(
        source="refund_plan.amount",
        max_digits=14,
        decimal_places=2,
        help_text="What a refund would give back to payment methods now.",
    )
    refund_summary = serializers.CharField(
        source="refund_sentence",
        help_text='"Refund 50.00 EUR to Visa •••• 4242", or why it is to be refunded by hand.',
    )


def credit_request(view, request, invoice, *, preview: bool):
    """The body of `POST /invoices/{id}/credit-notes/` (and `preview/`), after the invoice was
    found in the caller's organisation (else 404): platform staff only (403), then the rules of
    billing.credit_notes (400, 409 `credit_exceeds_invoice`)."""
    if not has_capability(request.user, Cap.PAYMENTS_RECORD):
        raise PermissionDenied("Only platform staff may issue a credit note.")
    body = CreditNoteRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    arguments = dict(body.validated_data)
    if not arguments.get("whole"):
        arguments.pop("whole", None)
    if preview:
        return CreditDraftSerializer(credit_note_refund_preview(invoice=invoice, **arguments)).data
    note = credit_note_issue_refunding(invoice=invoice, actor=request.user, **arguments)
    return CreditNoteSerializer(credit_note_list(organisation=None).get(pk=note.pk)).data


class CreditNoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Credit notes of the caller's organisation: owners, admins and finance read them, as JSON,
    as a PDF each (Factur-X, type 381) or as a CSV of their lines (negative amounts)."""

    serializer_class = CreditNoteSerializer
    search_fields = ["number", "invoice__number"]
    capabilities = {"read": Cap.INVOICES_READ}

    def get_queryset(self):
        return self.scope(credit_note_list(organisation=None))

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        filters=False, responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)}
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def pdf(self, request, pk=None):
        """The credit note as a printable A4 PDF (Factur-X)."""
        note = self.get_object()
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{credit_note_pdf_filename(note)}"'
        return response

    @extend_schema(filters=False, responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def csv(self, request, pk=None):
        """The credit note's lines in the columns of the finance export, amounts negative."""
        note = self.get_object()
        lines = credit_note_export_lines(organisation=note.organisation).filter(credit_note=note)
        response = HttpResponse("".join(csv_chunks(lines)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="credit-note-{note.number}.csv"'
        return response
