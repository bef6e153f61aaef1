"""Porting requests (API.md "Porting", design rule 20).

Thin: parse, authorise, call one service of `numbering.porting`. Field errors the service raises
(`rio_required`, `invalid_rio`, `document_required`, `porting_date_too_soon`, `invalid_number`,
`number_already_active`...) reach the client as 400 with their codes, rule refusals as 409
(telecom.api.exception_handler).
"""

import django_filters
from django.db.models import Q
from django.http import FileResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from accounts.roles import Cap, has_capability
from numbering import porting
from numbering.filters import digits_of
from numbering.models import NumberType, PortingRequest, PortingStatus
from telecom.api import TenantPrimaryKeyRelatedField, TenantViewSet


class PortingRequestSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(source="number_type", choices=NumberType.choices)
    member = serializers.UUIDField(source="member_id")
    licence = serializers.UUIDField(source="licence_id")

    class Meta:
        model = PortingRequest
        fields = [
            "id",
            "e164",
            "type",
            "member",
            "porting_date",
            "rio",
            "status",
            "rejection_reason",
            "licence",
            "created_at",
        ]
        read_only_fields = fields


class PortingRequestCreateSerializer(serializers.Serializer):
    """The request's input; the rules (proofs, dates, the number) are the service's."""

    e164 = serializers.CharField(max_length=32)
    type = serializers.ChoiceField(choices=NumberType.choices)
    member = TenantPrimaryKeyRelatedField(queryset=User.objects.filter(is_superuser=False))
    porting_date = serializers.DateField()
    rio = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="For a French mobile number."
    )
    document = serializers.FileField(
        required=False,
        allow_null=True,
        allow_empty_file=True,  # the service refuses it with its own code
        help_text="A bill or a signed mandate (PDF or image), for every other number.",
    )


class PortingRequestFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PortingStatus.choices)
    search = django_filters.CharFilter(
        method="filter_search", label="Number, member name or e-mail"
    )

    class Meta:
        model = PortingRequest
        fields = ["status"]

    def filter_search(self, queryset, name, value):
        term = value.strip()
        match = Q(member__name__icontains=term) | Q(member__email__icontains=term)
        if digits_of(term):
            match |= Q(e164__contains=digits_of(term))
        return queryset.filter(match)


class PortingRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Porting requests of the caller's organisation; an end user sees only their own (like
    numbers, API.md roles). Writes need NUMBERS_MANAGE (owner and admin)."""

    serializer_class = PortingRequestSerializer
    filterset_class = PortingRequestFilterSet
    filter_backends = [DjangoFilterBackend]  # `search` is the FilterSet's
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]
    http_method_names = ["get", "post", "head", "options"]
    capabilities = {"write": Cap.NUMBERS_MANAGE}

    def get_queryset(self):
        user = self.request.user
        only = None if self.is_schema_view or has_capability(user, Cap.NUMBERS_READ_ALL) else user
        return self.scope(porting.porting_request_list(organisation=None, member=only))

    def _render(self, porting_request, *, status_code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=porting_request.pk)
        return Response(PortingRequestSerializer(fresh).data, status=status_code)

    @extend_schema(
        request={
            "application/json": PortingRequestCreateSerializer,
            "multipart/form-data": PortingRequestCreateSerializer,
        },
        responses={201: PortingRequestSerializer},
    )
    def create(self, request):
        serializer = PortingRequestCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organisation = (
            data["member"].organisation if request.user.is_superuser else self.caller_organisation()
        )
        created = porting.porting_request_create(
            organisation=organisation,
            actor=request.user,
            e164=data["e164"],
            number_type=data["type"],
            member=data["member"],
            porting_date=data["porting_date"],
            rio=data.get("rio") or None,
            document=data.get("document"),
        )
        return self._render(created, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=PortingRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Withdraw the request; 409 `porting_not_cancellable` once it is closed."""
        cancelled = porting.porting_request_cancel(
            porting_request=self.get_object(), actor=request.user
        )
        return self._render(cancelled)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def document(self, request, pk=None):
        """The uploaded proof, for the request's organisation only (another one: 404)."""
        porting_request = self.get_object()
        document = porting.porting_document_open(
            organisation=None if request.user.is_superuser else request.user.organisation,
            porting_request_id=porting_request.pk,
        )
        return FileResponse(
            document.file,
            as_attachment=True,
            filename=document.filename,
            content_type=document.content_type,
        )
