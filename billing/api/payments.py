"""Payment methods and "Pay now" (docs/api.md, "Payment methods"): thin views over
billing/payments. Owners manage methods; finance and admins read them; owners and finance pay."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import Cap
from billing.models import PaymentAttempt, PaymentMethod
from billing.payments import methods as method_services
from billing.payments.collection import invoice_pay_now
from billing.payments.models import AttemptStatus, MethodKind
from telecom.api import RejectUnknownFieldsMixin, TenantViewSet
from telecom.quantities import AsciiIntegerField


class PaymentMethodSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(source="kind", choices=MethodKind.choices, read_only=True)

    class Meta:
        model = PaymentMethod
        fields = [
            "id",
            "type",
            "status",
            "is_default",
            "brand",
            "last4",
            "exp_month",
            "exp_year",
            "holder",
            "mandate_reference",
            "mandate_signed_on",
            "created_at",
        ]
        read_only_fields = fields


class PaymentMethodCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A card (`number`, `exp_month`, `exp_year`) or a SEPA mandate (`iban`, `holder`). The
    number goes to the payment provider and is never stored."""

    type = serializers.ChoiceField(choices=MethodKind.choices)
    number = serializers.CharField(required=False, max_length=40, write_only=True)
    exp_month = AsciiIntegerField(required=False, min_value=1, max_value=12)
    exp_year = AsciiIntegerField(required=False, min_value=2000, max_value=2100)
    iban = serializers.CharField(required=False, max_length=50, write_only=True)
    holder = serializers.CharField(required=False, max_length=100, allow_blank=True)

    def validate(self, attrs):
        needed = ("number", "exp_month", "exp_year") if attrs["type"] == "card" else ("iban",)
        missing = {
            name: serializers.ErrorDetail("This field is required.", code="required")
            for name in needed
            if name not in attrs
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class PaymentAttemptSerializer(serializers.ModelSerializer):
    payment_method = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = PaymentAttempt
        fields = [
            "id",
            "number",
            "trigger",
            "status",
            "amount",
            "currency",
            "decline",
            "reason",
            "payment_method",
            "provider_reference",
            "created_at",
        ]
        read_only_fields = fields


class PayNowSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    payment_method = serializers.UUIDField(
        required=False, help_text="The method to charge; the default one when absent."
    )


class PaymentMethodViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """`/organisation/payment-methods/`: the organisation's cards and SEPA mandates."""

    serializer_class = PaymentMethodSerializer
    pagination_class = None
    filter_backends: list = []
    capabilities = {
        "read": Cap.INVOICES_READ,
        "create": Cap.PAYMENT_METHODS_MANAGE,
        "destroy": Cap.PAYMENT_METHODS_MANAGE,
        "default": Cap.PAYMENT_METHODS_MANAGE,
        "confirm": Cap.PAYMENT_METHODS_MANAGE,
    }

    def get_queryset(self):
        return self.scope(PaymentMethod.objects.filter(removed_at__isnull=True))

    @extend_schema(request=PaymentMethodCreateSerializer, responses={201: PaymentMethodSerializer})
    def create(self, request):
        organisation = self.caller_organisation()
        serializer = PaymentMethodCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["type"] == MethodKind.CARD:
            method = method_services.payment_method_add_card(
                organisation=organisation,
                actor=request.user,
                number=data["number"],
                exp_month=data["exp_month"],
                exp_year=data["exp_year"],
                holder=data.get("holder", ""),
            )
        else:
            method = method_services.payment_method_add_sepa(
                organisation=organisation,
                actor=request.user,
                iban=data["iban"],
                holder=data.get("holder", ""),
            )
        return Response(PaymentMethodSerializer(method).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "confirm",
                bool,
                description="true to remove the last usable method, which restricts the "
                "organisation (409 removal_restricts otherwise).",
            )
        ],
        responses={204: None, 409: OpenApiResponse(description="removal_restricts")},
    )
    def destroy(self, request, pk=None):
        method = self.get_object()
        method_services.payment_method_remove(
            organisation=method.organisation,
            method_id=method.pk,
            actor=request.user,
            restriction_confirmed=request.query_params.get("confirm") == "true",
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=PaymentMethodSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def default(self, request, pk=None):
        """Make this method the one charged automatically."""
        method = self.get_object()
        method = method_services.payment_method_set_default(
            organisation=method.organisation, method_id=method.pk, actor=request.user
        )
        return Response(PaymentMethodSerializer(method).data)

    @extend_schema(request=None, responses=PaymentMethodSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def confirm(self, request, pk=None):
        """Complete the second step (authentication) of a card that asked for one."""
        method = self.get_object()
        method = method_services.payment_method_confirm(
            organisation=method.organisation, method_id=method.pk, actor=request.user
        )
        return Response(PaymentMethodSerializer(method).data)


def pay_now_response(request, invoice) -> Response:
    """POST /invoices/{id}/pay/: charge now; 200 with the attempt when paid, 402 when declined."""
    body = PayNowSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    attempt = invoice_pay_now(
        organisation=invoice.organisation,
        invoice_id=invoice.pk,
        actor=request.user,
        method_id=body.validated_data.get("payment_method"),
    )
    data = PaymentAttemptSerializer(attempt).data
    if attempt.status == AttemptStatus.SUCCEEDED:
        return Response(data)
    return Response(
        {"code": "payment_declined", "detail": attempt.reason, "attempt": data},
        status=status.HTTP_402_PAYMENT_REQUIRED,
    )
