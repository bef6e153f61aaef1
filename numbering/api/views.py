"""Numbers and available numbers (API.md "Numbers").

Every write is one service call (numbering.services): the rules live there, and their refusals
reach the client as 409 with their code (telecom.api.exception_handler).
"""

from django.core.exceptions import PermissionDenied
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response

from accounts.roles import Cap, has_capability
from numbering import services
from numbering.api.serializers import (
    AssigneeSerializer,
    AvailableNumberQuerySerializer,
    AvailableNumberSerializer,
    NumberAssignedSerializer,
    NumberAssignSerializer,
    NumberChangeSerializer,
    NumberRecoverSerializer,
    NumberSerializer,
)
from numbering.carriers import carrier
from numbering.filters import PhoneNumberFilterSet
from numbering.models import PhoneNumber
from numbering.selectors import number_list
from telecom.api import HasCapability, TenantViewSet

AVAILABLE_NUMBERS_LIMIT = 100


def _in_organisation(organisation_id, data: dict, fields=("member", "line", "licence")) -> None:
    """Platform staff may name any organisation's rows; they must be the number's organisation's.

    (Members cannot reach other organisations' ids at all: TenantPrimaryKeyRelatedField.)
    """
    errors = {
        field: [ErrorDetail("Not in this organisation.", code="does_not_exist")]
        for field in fields
        if data.get(field) is not None and data[field].organisation_id != organisation_id
    }
    if errors:
        raise ValidationError(errors)


class AvailableNumberViewSet(viewsets.GenericViewSet):
    """Numbers the carrier can hand out now: its inventory, the same for every organisation.

    Not organisation data (like the catalogue), so not a tenant viewset; any member of an
    organisation, and platform staff, may search it. Not paginated: at most 100 numbers.
    """

    permission_classes = [HasCapability]
    serializer_class = AvailableNumberSerializer
    pagination_class = None
    filter_backends: list = []

    def required_capability(self, request) -> Cap | None:
        return None  # HasCapability still requires a member of an organisation, or staff

    @extend_schema(
        parameters=[AvailableNumberQuerySerializer],
        responses=AvailableNumberSerializer(many=True),
    )
    def list(self, request):
        query = AvailableNumberQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        numbers = carrier().search(
            country=query.validated_data["country"],
            number_type=query.validated_data["type"],
            contains=query.validated_data.get("contains", ""),
            limit=AVAILABLE_NUMBERS_LIMIT,
        )
        return Response(AvailableNumberSerializer(numbers, many=True).data)


class NumberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Numbers of the caller's organisation; an end user sees only their own (API.md roles).

    Object routes resolve the number in the caller's organisation first, so another
    organisation's number is a 404 on every route, before any role or input check.
    """

    serializer_class = NumberSerializer
    filterset_class = PhoneNumberFilterSet
    filter_backends = [DjangoFilterBackend]  # `search` is the FilterSet's (digits, name, e-mail)
    http_method_names = ["get", "post", "delete", "head", "options"]
    capabilities = {
        "write": Cap.NUMBERS_MANAGE,
        "recover": None,  # platform staff only: checked on the number, after the 404
    }

    def get_queryset(self):
        user = self.request.user
        only = None if self.is_schema_view or has_capability(user, Cap.NUMBERS_READ_ALL) else user
        return self.scope(number_list(organisation=None, member=only, holders=False))

    def _number(self, number: PhoneNumber) -> PhoneNumber:
        return number_list(organisation=None, holders=False).get(pk=number.pk)

    def _render(self, number: PhoneNumber, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(NumberSerializer(self._number(number)).data, status=status_code)

    @extend_schema(request=NumberAssignSerializer, responses={201: NumberAssignedSerializer})
    def create(self, request):
        serializer = NumberAssignSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        assignee = data.get("member") or data.get("line")
        organisation = (
            assignee.organisation if request.user.is_superuser else self.caller_organisation()
        )
        _in_organisation(organisation.pk, data)
        result = services.number_assign(
            organisation=organisation,
            actor=request.user,
            country=data["country"],
            number_type=data["type"],
            member=data.get("member"),
            line=data.get("line"),
            e164=data.get("e164") or None,
            licence_type=data.get("licence_type"),
            licence=data.get("licence"),
        )
        number = self._number(result.number)
        number.licence_purchased = result.licence_purchased
        number.invoice = result.invoice.pk if result.invoice is not None else None
        return Response(NumberAssignedSerializer(number).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None):
        """Rule 6: into quarantine; the licence stays assigned and billed."""
        services.number_delete(number=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=AssigneeSerializer, responses=NumberSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        """Rule 7: to another member or line, with its licence when it holds only this number."""
        number = self.get_object()
        serializer = AssigneeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        _in_organisation(number.organisation_id, serializer.validated_data)
        number = services.number_reassign(
            number=number,
            actor=request.user,
            member=serializer.validated_data.get("member"),
            line=serializer.validated_data.get("line"),
        )
        return self._render(number)

    @extend_schema(request=NumberChangeSerializer, responses={201: NumberSerializer})
    @action(detail=True, methods=["post"])
    def change(self, request, pk=None):
        """Rule 8: a new number on the same licence (201: a new number, with its own id); the old
        one goes into quarantine."""
        number = self.get_object()
        serializer = NumberChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new = services.number_change(
            number=number, actor=request.user, e164=serializer.validated_data.get("e164") or None
        )
        return self._render(new, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=NumberRecoverSerializer, responses=NumberSerializer)
    @action(detail=True, methods=["post"])
    def recover(self, request, pk=None):
        """Rule 6: platform staff bring a quarantined number back, to its last holder unless a
        member or line is named."""
        number = self.get_object()
        if not request.user.is_superuser:
            raise PermissionDenied("Only platform staff can recover a quarantined number.")
        serializer = NumberRecoverSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        _in_organisation(number.organisation_id, serializer.validated_data)
        number = services.number_recover(
            number=number,
            actor=request.user,
            member=serializer.validated_data.get("member"),
            line=serializer.validated_data.get("line"),
        )
        return self._render(number)
