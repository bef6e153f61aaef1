"""Invoices, finance exports, the upcoming invoice, device orders and usage (API.md "Billing",
"Usage")."""

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from accounts.roles import Cap, has_capability
from billing import services
from billing.api.credit_notes import (
    CreditDraftSerializer,
    CreditNoteRequestSerializer,
    CreditNoteSerializer,
    credit_request,
)
from billing.api.payments import PaymentAttemptSerializer, PayNowSerializer, pay_now_response
from billing.api.serializers import (
    BillingDetailsSerializer,
    BillingDetailsUpdateSerializer,
    DeviceOrderCreateSerializer,
    DeviceOrderSerializer,
    InvoiceDetailSerializer,
    InvoiceExportQuerySerializer,
    InvoiceSerializer,
    PaymentRecordSerializer,
    UsageCreateSerializer,
    UsageRecordSerializer,
)
from billing.exports import export_filename, invoice_lines_csv
from billing.filters import InvoiceFilterSet, UsageFilterSet
from billing.models import Charge, ChargeKind, UsageRecord
from billing.pdf import invoice_pdf, invoice_pdf_filename
from billing.profile import (
    billing_details_current,
    billing_details_initial,
    billing_details_update,
)
from billing.renewal import upcoming_quote
from billing.selectors import invoice_list
from billing.usage import usage_record
from licensing.api.serializers import QuoteSerializer
from licensing.services import device_order
from telecom.api import TenantViewSet
from telecom.authentication import IsServiceToken


class PDFRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Invoices of the caller's organisation: owners, admins and finance read them, as JSON,
    as a PDF each, or as a CSV of their lines for accounting."""

    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilterSet
    search_fields = ["number", "lines__description"]
    capabilities = {
        "read": Cap.INVOICES_READ,
        "payments": None,  # platform staff only: checked on the invoice, after the 404
        "credit_notes": None,  # likewise
        "credit_notes_preview": None,
        "pay": Cap.INVOICES_PAY,
    }

    def get_queryset(self):
        return self.scope(invoice_list(organisation=None))

    def get_serializer_class(self):
        return InvoiceDetailSerializer if self.action == "retrieve" else InvoiceSerializer

    @extend_schema(
        request=PayNowSerializer,
        responses={
            200: PaymentAttemptSerializer,
            402: OpenApiResponse(description="payment_declined: the attempt, with the reason."),
            409: OpenApiResponse(
                description="invoice_not_payable, payment_in_progress, no_payment_method, "
                "payment_method_not_usable."
            ),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def pay(self, request, pk=None):
        """Owners and finance: charge what is due now, with the default or a chosen method."""
        return pay_now_response(request, self.get_object())

    @extend_schema(
        request=PaymentRecordSerializer,
        responses={
            200: InvoiceSerializer,
            409: OpenApiResponse(description="invoice_not_payable: it is not issued (any more)."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def payments(self, request, pk=None):
        """Platform staff: record that the invoice was paid in full (a transfer received), with
        its method and reference. Customer roles never change an invoice's payment status: 403."""
        invoice = self.get_object()
        if not has_capability(request.user, Cap.PAYMENTS_RECORD):
            raise PermissionDenied("Only platform staff may record a payment.")
        serializer = PaymentRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invoice = services.invoice_record_payment(
            invoice=invoice, actor=request.user, **serializer.validated_data
        )
        return Response(InvoiceSerializer(self.get_queryset().get(pk=invoice.pk)).data)

    @extend_schema(
        request=CreditNoteRequestSerializer,
        responses={
            201: CreditNoteSerializer,
            409: OpenApiResponse(
                description="credit_exceeds_invoice: more than is left to credit; nothing "
                "was issued."
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="credit-notes", filter_backends=[])
    def credit_notes(self, request, pk=None):
        """Platform staff: issue a credit note on the invoice (the whole of what is left, some
        lines, or an amount excluding tax), with a reason. Customer roles: 403."""
        body = credit_request(self, request, self.get_object(), preview=False)
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=CreditNoteRequestSerializer, responses=CreditDraftSerializer)
    @action(detail=True, methods=["post"], url_path="credit-notes/preview", filter_backends=[])
    def credit_notes_preview(self, request, pk=None):
        """The credit note `credit-notes/` would issue now, to the cent; nothing changes."""
        return Response(credit_request(self, request, self.get_object(), preview=True))

    def handle_exception(self, exc):
        # Errors are API.md's JSON even when the client asked for a PDF or a CSV.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        filters=False,
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[JSONRenderer, PDFRenderer],
        filter_backends=[],
    )
    def pdf(self, request, pk=None):
        """The invoice as a printable A4 PDF."""
        invoice = self.get_object()
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
        return response

    @extend_schema(
        filters=False,
        parameters=[InvoiceExportQuerySerializer],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    @action(
        detail=False,
        methods=["get"],
        renderer_classes=[JSONRenderer, CSVRenderer],
        filter_backends=[],
        pagination_class=None,
    )
    def export(self, request):
        """One CSV row per invoice line of the invoices issued in the range (UTF-8 with BOM,
        RFC 4180, formula-injection safe: see billing.exports)."""
        query = InvoiceExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        issued_from, issued_to = (
            query.validated_data["issued_from"],
            query.validated_data["issued_to"],
        )
        user = request.user
        response = StreamingHttpResponse(
            invoice_lines_csv(
                organisation=None if user.is_superuser else self.caller_organisation(),
                issued_from=issued_from,
                issued_to=issued_to,
            ),
            content_type="text/csv; charset=utf-8",
        )
        filename = export_filename(issued_from=issued_from, issued_to=issued_to)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class BillingViewSet(TenantViewSet):
    """The caller's organisation's billing outlook."""

    serializer_class = QuoteSerializer
    capabilities = {"upcoming": Cap.INVOICES_READ}

    @extend_schema(responses=QuoteSerializer, filters=False)
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def upcoming(self, request):
        """Exactly what the next renewal will invoice if nothing changes before it: licences in
        advance, then pending device orders, usage and termination fees."""
        quote = upcoming_quote(self.caller_organisation())
        return Response(QuoteSerializer(quote).data)


class BillingDetailsViewSet(TenantViewSet):
    """`/organisation/billing-profile/`: who the caller's organisation's invoices are addressed
    and sent to, and the VAT they charge. Owners, admins and finance read; owners and finance
    change (each change is a new version, audited; invoices keep the version they were issued
    with)."""

    serializer_class = BillingDetailsSerializer
    pagination_class = None
    filter_backends: list = []
    capabilities = {
        "retrieve": Cap.INVOICES_READ,
        "partial_update": Cap.BILLING_DETAILS_CHANGE,
    }

    @extend_schema(responses=BillingDetailsSerializer)
    def retrieve(self, request):
        """The details in force; before they are first set, the organisation's name and country
        with `updated_at` null."""
        organisation = self.caller_organisation()
        details = billing_details_current(organisation) or billing_details_initial(organisation)
        return Response(BillingDetailsSerializer(details).data)

    @extend_schema(request=BillingDetailsUpdateSerializer, responses=BillingDetailsSerializer)
    def partial_update(self, request):
        serializer = BillingDetailsUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        details = billing_details_update(
            organisation=self.caller_organisation(),
            actor=request.user,
            **serializer.validated_data,
        )
        return Response(BillingDetailsSerializer(details).data)


class DeviceOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Device purchases (rule 22): one-off charges billed on the next invoice."""

    serializer_class = DeviceOrderSerializer
    search_fields = ["device__code", "device__name"]
    capabilities = {"read": Cap.DEVICES_ORDER, "write": Cap.DEVICES_ORDER}

    def get_queryset(self):
        orders = (
            Charge.objects.filter(kind=ChargeKind.DEVICE)
            .select_related("device", "organisation")
            .order_by("-created_at", "id")
        )
        return self.scope(orders)

    @extend_schema(request=DeviceOrderCreateSerializer, responses={201: DeviceOrderSerializer})
    def create(self, request):
        organisation = self.caller_organisation()
        serializer = DeviceOrderCreateSerializer(
            data=request.data, context={"organisation": organisation}
        )
        serializer.is_valid(raise_exception=True)
        order = device_order(
            organisation=organisation, actor=request.user, **serializer.validated_data
        )
        body = DeviceOrderSerializer(self.get_queryset().get(pk=order.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


class UsageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Calls and messages with their cost (rule 21).

    Members read: owners, admins and finance all of the organisation's usage, a user their own.
    The telephony platform, with its service token and nothing else, posts usage: the
    organisation is the one that holds the number, never the caller's (it has none).
    """

    serializer_class = UsageRecordSerializer
    filterset_class = UsageFilterSet
    search_fields = ["destination", "number__e164"]
    service_actions = ("create",)

    def get_permissions(self):
        if self.action in self.service_actions:
            return [IsServiceToken()]
        return super().get_permissions()

    def get_queryset(self):
        user = self.request.user
        usage = UsageRecord.objects.select_related("number").order_by("-started_at", "-id")
        if not self.is_schema_view and not has_capability(user, Cap.USAGE_READ_ALL):
            usage = usage.filter(member=user)
        return self.scope(usage)

    @extend_schema(
        request=UsageCreateSerializer,
        responses={
            201: UsageRecordSerializer,
            409: OpenApiResponse(
                description="calling_credit_cap_reached: the usage would cross the cap; nothing "
                "was stored."
            ),
        },
    )
    def create(self, request):
        serializer = UsageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = usage_record(**serializer.validated_data)
        return Response(UsageRecordSerializer(record).data, status=status.HTTP_201_CREATED)
