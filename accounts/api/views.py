"""Sign-up, token login, the caller's organisation and its members (API.md)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import lifecycle, services, signup
from accounts.api.serializers import (
    ApiTokenSerializer,
    MemberCreateSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    OrganisationSerializer,
    OrganisationUpdateSerializer,
    SignupAcceptedSerializer,
    SignupConfirmSerializer,
    SignupResponseSerializer,
    SignupSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)
from accounts.api_tokens import api_token_revoke, api_tokens_of
from accounts.filters import MemberFilterSet
from accounts.models import ApiToken, Organisation, User
from accounts.roles import Cap, has_capability
from numbering.selectors import member_list_detailed
from telecom.api import TenantViewSet
from telecom.clients import ClientRateThrottle


class SignupView(APIView):
    """Public: ask for an organisation; its owner confirms by e-mail (API.md "Sign-up and
    organisation", docs/security.md "Enumeration"). The answer is the same whether the address
    has an account or not."""

    authentication_classes: list = []  # no session, hence no CSRF: the caller has no account yet
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ClientRateThrottle]
    throttle_scope = "signup"

    @extend_schema(request=SignupSerializer, responses={202: SignupAcceptedSerializer}, auth=[])
    def post(self, request):
        serializer = SignupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        signup.signup_request(
            organisation_name=data["organisation_name"],
            country=data["country"],
            currency=data["currency"],
            timezone_name=data["timezone"],
            plan=data["plan"],
            billing_frequency=data["billing_frequency"],
            licence_policy=data["licence_policy"],
            owner_email=data["owner_email"],
            owner_password=data["owner_password"],
            owner_name=data["owner_name"],
        )
        detail = (
            f"We sent a link to {data['owner_email']}. Open it within "
            f"{signup.SIGNUP_CONFIRMATION_MAX_AGE.days} days to create the account."
        )
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class SignupConfirmView(APIView):
    """Public: `{"token"}` from the e-mailed link → the organisation, its owner and an API
    token, once."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ClientRateThrottle]
    throttle_scope = "signup"

    @extend_schema(
        request=SignupConfirmSerializer, responses={201: SignupResponseSerializer}, auth=[]
    )
    def post(self, request):
        serializer = SignupConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            organisation, owner, token = signup.signup_confirm(
                token=serializer.validated_data["token"]
            )
        except signup.SignupLinkInvalid as exc:
            raise ValidationError({"token": [ErrorDetail(exc.message, code=exc.code)]}) from exc
        owner = member_list_detailed(organisation=organisation).get(pk=owner.pk)
        body = {
            "organisation": OrganisationSerializer(organisation).data,
            "owner": MemberSerializer(owner).data,
            "token": token,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    """Public: `{"email", "password"}` → `{"token", "expires_at"}`, a new token for an active
    member. Throttled per client address (AUTH_TOKEN_THROTTLE), so passwords cannot be guessed at
    speed."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ClientRateThrottle]
    throttle_scope = "auth_token"

    @extend_schema(
        request=TokenRequestSerializer, responses={200: TokenResponseSerializer}, auth=[]
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = services.auth_token_obtain(request=request, **serializer.validated_data)
        return Response({"token": token.key, "expires_at": token.expires_at})


class IsMember(permissions.BasePermission):
    """A person signed in (a member or platform staff), not the telephony platform."""

    def has_permission(self, request, view):
        return isinstance(request.user, User)


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The caller's own API tokens (docs/api.md "Tokens"): list them, revoke one. Another
    member's token id is a 404."""

    serializer_class = ApiTokenSerializer
    permission_classes = [IsMember]
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return api_tokens_of(self.request.user)

    def perform_destroy(self, instance):
        api_token_revoke(token=instance)


class OrganisationViewSet(TenantViewSet):
    """The caller's own organisation: `/organisation/` (its payment methods are billing's,
    `/organisation/payment-methods/`)."""

    queryset = Organisation.objects.select_related("default_licence_type")
    serializer_class = OrganisationSerializer
    tenant_field = "pk"
    pagination_class = None
    filter_backends: list = []
    capabilities = {
        "retrieve": Cap.ORGANISATION_READ,
        "partial_update": Cap.ORGANISATION_CHANGE,
    }

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.caller_organisation().pk)

    def required_capability(self, request):
        if getattr(self, "action", None) == "partial_update" and isinstance(request.data, dict):
            return services.organisation_change_capability(request.data.keys())
        return super().required_capability(request)

    def _render(self, organisation):
        return Response(OrganisationSerializer(self.get_queryset().get(pk=organisation.pk)).data)

    def retrieve(self, request):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=OrganisationUpdateSerializer, responses=OrganisationSerializer)
    def partial_update(self, request):
        organisation = self.get_object()
        serializer = OrganisationUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        organisation = services.organisation_update(
            organisation=organisation, actor=request.user, **serializer.validated_data
        )
        return self._render(organisation)


class MemberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """Members of the caller's organisation; an end user sees only themself."""

    serializer_class = MemberSerializer
    filterset_class = MemberFilterSet
    search_fields = ["name", "email"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    capabilities = {
        "create": Cap.MEMBERS_MANAGE,
        "partial_update": Cap.MEMBERS_MANAGE,
        "destroy": Cap.MEMBERS_MANAGE,
    }

    def get_queryset(self):
        user = self.request.user
        only = None if self.is_schema_view or has_capability(user, Cap.MEMBERS_READ) else user
        return self.scope(member_list_detailed(organisation=None, member=only))

    def _render(self, member, status_code=status.HTTP_200_OK):
        member = self.get_queryset().get(pk=member.pk)
        return Response(MemberSerializer(member).data, status=status_code)

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    def create(self, request):
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.member_invite(
            organisation=self.caller_organisation(),
            actor=request.user,
            request=request,
            **serializer.validated_data,
        )
        return self._render(member, status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateSerializer, responses=MemberSerializer)
    def partial_update(self, request, pk=None):
        member = self.get_object()
        serializer = MemberUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        member = services.member_update(
            member=member, actor=request.user, **serializer.validated_data
        )
        return self._render(member)

    def perform_destroy(self, instance):
        lifecycle.member_remove(member=instance, actor=self.request.user)
