"""Catalogue, lines and licences (API.md "Catalogue" and "Licences")."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Currency
from accounts.roles import Cap, has_capability
from licensing import services
from licensing.api.serializers import (
    DeviceSerializer,
    LicenceAddonsSerializer,
    LicenceAssignSerializer,
    LicenceQuantitySerializer,
    LicenceSerializer,
    LicenceSummarySerializer,
    LicenceTypeSerializer,
    LicenceUpdateSerializer,
    LineSerializer,
    PurchaseResultSerializer,
    QuoteSerializer,
    RemovalResultSerializer,
)
from licensing.filters import LicenceFilterSet, LicenceTypeFilterSet, LineFilterSet
from licensing.selectors import (
    device_catalogue,
    licence_list,
    licence_summary,
    licence_type_catalogue,
    line_list,
)
from telecom.api import TenantViewSet

_CURRENCY_PARAMETER = OpenApiParameter(
    "currency",
    str,
    enum=Currency.values,
    description="Platform staff only: the currency of the prices (members see their own).",
)


class CatalogueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Public catalogue data (not organisation data): every member reads it, unpaginated.

    Prices are in the caller's organisation's currency.
    """

    permission_classes = [permissions.IsAuthenticated]
    pagination_class = None
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_-]+"

    def currency(self) -> str:
        organisation = getattr(self.request.user, "organisation", None)
        if organisation is not None:
            return organisation.currency
        asked = self.request.query_params.get("currency", "").upper()
        return asked if asked in Currency.values else Currency.EUR

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "currency": self.currency()}


@extend_schema(parameters=[_CURRENCY_PARAMETER])
class LicenceTypeViewSet(CatalogueViewSet):
    serializer_class = LicenceTypeSerializer
    filterset_class = LicenceTypeFilterSet
    search_fields = ["code", "name"]

    def get_queryset(self):
        return licence_type_catalogue(currency=self.currency())


@extend_schema(parameters=[_CURRENCY_PARAMETER])
class DeviceViewSet(CatalogueViewSet):
    serializer_class = DeviceSerializer
    search_fields = ["code", "name"]

    def get_queryset(self):
        return device_catalogue(currency=self.currency())


class LineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Non-person assignees of the caller's organisation."""

    serializer_class = LineSerializer
    filterset_class = LineFilterSet
    search_fields = ["name"]
    capabilities = {"read": Cap.LICENCES_READ_ALL, "create": Cap.LICENCES_MANAGE}

    def get_queryset(self):
        return self.scope(line_list(organisation=None))

    @extend_schema(request=LineSerializer, responses={201: LineSerializer})
    def create(self, request):
        serializer = LineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        line = services.line_create(
            organisation=self.caller_organisation(),
            actor=request.user,
            **serializer.validated_data,
        )
        return Response(LineSerializer(line).data, status=status.HTTP_201_CREATED)


class LicenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Licences of the caller's organisation; an end user sees only their own (API.md roles)."""

    serializer_class = LicenceSerializer
    filterset_class = LicenceFilterSet
    search_fields = ["id", "extension", "member__name", "member__email"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    capabilities = {
        "summary": Cap.LICENCES_READ_ALL,
        "write": Cap.LICENCES_MANAGE,
    }

    def get_queryset(self):
        user = self.request.user
        only = None if self.is_schema_view or has_capability(user, Cap.LICENCES_READ_ALL) else user
        return self.scope(licence_list(organisation=None, member=only, detailed=True))

    def _render(self, licence) -> Response:
        return Response(LicenceSerializer(self.get_queryset().get(pk=licence.pk)).data)

    def _quantity(self, request):
        serializer = LicenceQuantitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["type"], serializer.validated_data["quantity"]

    @extend_schema(request=LicenceUpdateSerializer, responses=LicenceSerializer)
    def partial_update(self, request, pk=None):
        licence = self.get_object()
        serializer = LicenceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        licence = services.licence_set_extension(
            licence=licence, extension=serializer.validated_data["extension"], actor=request.user
        )
        return self._render(licence)

    @extend_schema(responses=LicenceSummarySerializer(many=True), filters=False)
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def summary(self, request):
        rows = licence_summary(organisation=self.caller_organisation())
        return Response(LicenceSummarySerializer(rows, many=True).data)

    @extend_schema(request=LicenceQuantitySerializer, responses=QuoteSerializer)
    @action(detail=False, methods=["post"], url_path="purchase/preview")
    def purchase_preview(self, request):
        licence_type, quantity = self._quantity(request)
        quote = services.licences_purchase_quote(
            organisation=self.caller_organisation(), licence_type=licence_type, quantity=quantity
        )
        return Response(QuoteSerializer(quote).data)

    @extend_schema(request=LicenceQuantitySerializer, responses={201: PurchaseResultSerializer})
    @action(detail=False, methods=["post"])
    def purchase(self, request):
        licence_type, quantity = self._quantity(request)
        result = services.licences_purchase(
            organisation=self.caller_organisation(),
            licence_type=licence_type,
            quantity=quantity,
            actor=request.user,
        )
        return Response(PurchaseResultSerializer(result).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LicenceQuantitySerializer, responses=RemovalResultSerializer)
    @action(detail=False, methods=["post"], url_path="remove/preview")
    def remove_preview(self, request):
        licence_type, quantity = self._quantity(request)
        result = services.licences_removal_quote(
            organisation=self.caller_organisation(), licence_type=licence_type, quantity=quantity
        )
        return Response(RemovalResultSerializer(result).data)

    @extend_schema(request=LicenceQuantitySerializer, responses=RemovalResultSerializer)
    @action(detail=False, methods=["post"])
    def remove(self, request):
        licence_type, quantity = self._quantity(request)
        result = services.licences_schedule_removal(
            organisation=self.caller_organisation(),
            licence_type=licence_type,
            quantity=quantity,
            actor=request.user,
        )
        return Response(RemovalResultSerializer(result).data)

    @extend_schema(request=None, responses=RemovalResultSerializer)
    @action(detail=True, methods=["post"], url_path="terminate/preview")
    def terminate_preview(self, request, pk=None):
        """What terminating this licence does (rules 14 and 16): from when, and its fee."""
        result = services.licence_termination_quote(licence=self.get_object())
        return Response(RemovalResultSerializer(result).data)

    @extend_schema(request=None, responses=LicenceSerializer)
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        licence = services.licence_terminate(licence=self.get_object(), actor=request.user)
        return self._render(licence)

    @extend_schema(request=None, responses=LicenceSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        licence = services.licence_restore(licence=self.get_object(), actor=request.user)
        return self._render(licence)

    @extend_schema(request=LicenceAssignSerializer, responses=LicenceSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        licence = self.get_object()
        serializer = LicenceAssignSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        licence = services.licence_assign(
            licence=licence,
            actor=request.user,
            member=serializer.validated_data.get("member"),
            line=serializer.validated_data.get("line"),
        )
        return self._render(licence)

    @extend_schema(request=None, responses=LicenceSerializer)
    @action(detail=True, methods=["post"])
    def unassign(self, request, pk=None):
        licence = services.licence_unassign(licence=self.get_object(), actor=request.user)
        return self._render(licence)

    @extend_schema(request=LicenceAddonsSerializer, responses=LicenceSerializer)
    @action(detail=True, methods=["put"])
    def addons(self, request, pk=None):
        licence = self.get_object()
        serializer = LicenceAddonsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        licence, _invoice = services.licence_set_addons(
            licence=licence, codes=serializer.validated_data["codes"], actor=request.user
        )
        return self._render(licence)
