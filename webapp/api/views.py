"""Messages and voicemail (API.md "Messages and voicemail").

Members read and send their own; the telephony platform (its service token, and nothing else)
posts inbound messages and uploads voicemails. Rows are the member's own, so another member's id
(or another organisation's) is a 404.
"""

import phonenumbers
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from telecom.api import TenantViewSet
from telecom.authentication import IsServiceToken
from webapp import selectors, services
from webapp.api.serializers import (
    MessageInboundSerializer,
    MessageSendSerializer,
    MessageSerializer,
    VoicemailSerializer,
    VoicemailUploadSerializer,
)
from webapp.filters import MessageFilterSet, VoicemailFilterSet
from webapp.http import audio_response


class MemberOwnViewSet(TenantViewSet):
    """A member's own rows; `service_actions` are the telephony platform's alone."""

    service_actions: tuple[str, ...] = ()
    selector = None

    def get_permissions(self):
        if self.action in self.service_actions:
            return [IsServiceToken()]
        return super().get_permissions()

    def get_queryset(self):
        user = self.request.user
        model = self.serializer_class.Meta.model
        if self.is_schema_view or not getattr(user, "organisation_id", None):
            return model.objects.none()  # platform staff have no messages or voicemails
        rows = self.selector(organisation=user.organisation, member=user)
        return self.scope(rows)


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, MemberOwnViewSet):
    serializer_class = MessageSerializer
    filterset_class = MessageFilterSet
    search_fields = ["body", "peer"]
    service_actions = ("inbound",)
    selector = staticmethod(selectors.my_messages)

    @extend_schema(request=MessageSendSerializer, responses={201: MessageSerializer})
    def create(self, request):
        """Send an SMS from one of the caller's numbers: 409 `capability_missing` on a
        landline, 409 `calling_credit_cap_reached` at the cap (rule 21, nothing sent)."""
        serializer = MessageSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request.user
        number = (
            selectors.my_numbers(organisation=self.caller_organisation(), member=user)
            .filter(e164=_e164_or_raw(data["from_number"]))
            .first()
        )
        if number is None:
            raise ValidationError(
                {"from_number": ["This is not one of your numbers."]}, code="not_your_number"
            )
        message = services.message_send(
            member=user, number=number, to=data["to"], body=data["body"]
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MessageInboundSerializer, responses={201: MessageSerializer})
    @action(detail=False, methods=["post"])
    def inbound(self, request):
        """The telephony platform delivers an SMS received on one of the product's numbers."""
        serializer = MessageInboundSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        message = services.message_receive(
            to_number=data["to_number"],
            sender=data["from"],
            body=data["body"],
            received_at=data["received_at"],
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class VoicemailViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    MemberOwnViewSet,
):
    serializer_class = VoicemailSerializer
    filterset_class = VoicemailFilterSet
    search_fields = ["caller"]
    service_actions = ("create",)
    selector = staticmethod(selectors.my_voicemails)

    @extend_schema(request=VoicemailUploadSerializer, responses={201: VoicemailSerializer})
    def create(self, request):
        """Upload a voicemail (multipart). The audio is checked by its content and size."""
        serializer = VoicemailUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        voicemail = services.voicemail_store(
            number=data["number"],
            caller=data["caller"],
            received_at=data["received_at"],
            audio=data["audio"],
        )
        body = VoicemailSerializer(voicemail, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "audio/*"): bytes})
    @action(detail=True, methods=["get"])
    def audio(self, request, pk=None):
        """The voicemail's audio file (byte ranges supported)."""
        return audio_response(request, self.get_object())

    def perform_destroy(self, instance):
        services.voicemail_delete(voicemail=instance, actor=self.request.user)


def _e164_or_raw(value: str) -> str:
    text = (value or "").strip()
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
