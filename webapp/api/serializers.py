from django.urls import reverse
from rest_framework import serializers

from webapp.models import Message, Voicemail


class MessageSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="number.e164", read_only=True)

    class Meta:
        model = Message
        fields = ["id", "number", "direction", "peer", "body", "sent_at", "status"]
        read_only_fields = fields


class MessageSendSerializer(serializers.Serializer):
    from_number = serializers.CharField(max_length=32, help_text="One of your numbers, E.164.")
    to = serializers.CharField(max_length=32, help_text="E.164, or national for from_number.")
    body = serializers.CharField(max_length=1600, trim_whitespace=True)


class MessageInboundSerializer(serializers.Serializer):
    to_number = serializers.CharField(max_length=32)
    # `from` is a Python keyword: the field is declared under another name and renamed below.
    sender = serializers.CharField(max_length=32, label="from")
    body = serializers.CharField(max_length=1600)
    received_at = serializers.DateTimeField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("sender")
        return fields


class VoicemailSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="number.e164", read_only=True)
    audio_url = serializers.SerializerMethodField()

    class Meta:
        model = Voicemail
        fields = [
            "id",
            "number",
            "caller",
            "received_at",
            "duration_seconds",
            "content_type",
            "size",
            "audio_url",
        ]
        read_only_fields = fields

    def get_audio_url(self, obj) -> str:
        path = reverse("voicemail-audio", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class VoicemailUploadSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=32)
    caller = serializers.CharField(max_length=32)
    received_at = serializers.DateTimeField()
    audio = serializers.FileField(allow_empty_file=False)
