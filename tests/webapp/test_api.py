"""API: /api/v1/messages/ and /api/v1/voicemails/ (API.md "Messages and voicemail")."""

from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Organisation
from billing.models import UsageRecord
from tests.webapp.conftest import received, voicemail, wav_upload
from webapp.audio import wav_tone
from webapp.models import Message, Voicemail

pytestmark = pytest.mark.django_db
MESSAGES = "/api/v1/messages/"
VOICEMAILS = "/api/v1/voicemails/"


@pytest.fixture
def api(api_client_for, member, mobile, landline):
    return api_client_for(member)


# --- sending -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_member_sends_an_sms_from_their_mobile(api, mobile, member):
    # A real commit: the gateway sends after it, so the answer already says "sent".
    response = api.post(
        MESSAGES, {"from_number": mobile.e164, "to": "+33698765432", "body": "Hello"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    message = Message.objects.get()
    assert body == {
        "id": str(message.pk),
        "number": mobile.e164,
        "direction": "outbound",
        "peer": "+33698765432",
        "body": "Hello",
        "sent_at": body["sent_at"],
        "status": "sent",
    }
    assert UsageRecord.objects.get().cost == Decimal("0.08")


def test_sending_from_a_landline_is_409_capability_missing_and_stores_nothing(api, landline):
    response = api.post(MESSAGES, {"from_number": landline.e164, "to": "+33698765432", "body": "x"})

    assert response.status_code == 409
    assert response.json()["code"] == "capability_missing"
    assert not Message.objects.exists() and not UsageRecord.objects.exists()


def test_sending_at_the_cap_is_409_and_stores_nothing(api, mobile):
    Organisation.objects.filter(pk=mobile.organisation_id).update(
        calling_credit_cap=Decimal("0.05")
    )

    response = api.post(MESSAGES, {"from_number": mobile.e164, "to": "+33698765432", "body": "x"})

    assert response.status_code == 409
    assert response.json()["code"] == "calling_credit_cap_reached"
    assert not Message.objects.exists() and not UsageRecord.objects.exists()


def test_sending_from_someone_elses_number_is_a_400_that_confirms_nothing(
    api, colleague_mobile, outsider_mobile
):
    for number in (colleague_mobile, outsider_mobile):
        response = api.post(
            MESSAGES, {"from_number": number.e164, "to": "+33698765432", "body": "x"}
        )
        assert response.status_code == 400
        assert response.json()["fields"]["from_number"][0]["message"] == (
            "This is not one of your numbers."
        )
    assert not Message.objects.exists()


def test_sending_needs_a_valid_destination_and_a_body(api, mobile):
    bad_to = api.post(MESSAGES, {"from_number": mobile.e164, "to": "12", "body": "x"})
    no_body = api.post(MESSAGES, {"from_number": mobile.e164, "to": "+33698765432", "body": ""})

    assert bad_to.status_code == no_body.status_code == 400
    assert "to" in bad_to.json()["fields"]
    assert "body" in no_body.json()["fields"]


# --- reading -------------------------------------------------------------------------------------


def test_listing_shows_my_messages_only_and_filters_by_number_and_peer(
    api, mobile, colleague_mobile, outsider_mobile
):
    received(mobile, peer="+33698765432", body="a")
    received(mobile, peer="+447400123456", body="b")
    received(colleague_mobile, body="colleague")
    received(outsider_mobile, body="outsider")

    everything = api.get(MESSAGES).json()
    by_peer = api.get(MESSAGES, {"peer": "+44 7400 123456"}).json()
    by_number = api.get(MESSAGES, {"number": mobile.e164}).json()
    by_other_number = api.get(MESSAGES, {"number": colleague_mobile.e164}).json()

    assert sorted(m["body"] for m in everything["results"]) == ["a", "b"]
    assert [m["body"] for m in by_peer["results"]] == ["b"]
    assert by_number["count"] == 2
    assert by_other_number["count"] == 0


def test_another_members_message_is_a_404(api, colleague_mobile, outsider_mobile):
    for number in (colleague_mobile, outsider_mobile):
        message = received(number)
        assert api.get(f"{MESSAGES}{message.pk}/").status_code == 404


def test_the_service_token_cannot_read_messages_and_members_cannot_post_inbound(
    api, service_client, mobile
):
    inbound = {
        "to_number": mobile.e164,
        "from": "+33698765432",
        "body": "x",
        "received_at": "2026-11-01T10:00:00Z",
    }

    assert service_client.get(MESSAGES).status_code == 403
    assert (
        service_client.post(
            MESSAGES, {"from_number": mobile.e164, "to": "+33698765432", "body": "x"}
        ).status_code
        == 403
    )
    assert api.post(f"{MESSAGES}inbound/", inbound).status_code == 403
    assert not Message.objects.exists()


def test_anonymous_callers_are_401(anon_client, mobile):
    assert anon_client.get(MESSAGES).status_code == 401
    assert anon_client.post(f"{MESSAGES}inbound/", {}).status_code == 401
    assert anon_client.get(VOICEMAILS).status_code == 401


# --- inbound --------------------------------------------------------------------------------------


def test_the_platform_delivers_an_inbound_sms_to_the_numbers_holder(
    service_client, api, mobile, member
):
    response = service_client.post(
        f"{MESSAGES}inbound/",
        {
            "to_number": mobile.e164,
            "from": "+33698765432",
            "body": "Hi there",
            "received_at": "2026-11-01T10:00:00+01:00",
        },
    )

    assert response.status_code == 201, response.content
    assert response.json()["direction"] == "inbound"
    assert response.json()["status"] == "received"
    message = Message.objects.get()
    assert message.member == member
    assert message.sent_at.isoformat() == "2026-11-01T09:00:00+00:00"
    assert [m["body"] for m in api.get(MESSAGES).json()["results"]] == ["Hi there"]


def test_inbound_to_a_landline_is_409_and_to_an_unknown_number_400(service_client, landline):
    to_landline = service_client.post(
        f"{MESSAGES}inbound/",
        {
            "to_number": landline.e164,
            "from": "+33698765432",
            "body": "x",
            "received_at": "2026-11-01T10:00:00Z",
        },
    )
    unknown = service_client.post(
        f"{MESSAGES}inbound/",
        {
            "to_number": "+33699999999",
            "from": "+33698765432",
            "body": "x",
            "received_at": "2026-11-01T10:00:00Z",
        },
    )

    assert to_landline.status_code == 409
    assert to_landline.json()["code"] == "capability_missing"
    assert unknown.status_code == 400
    assert unknown.json()["fields"]["to_number"][0]["code"] == "not_in_service"
    assert not Message.objects.exists()


# --- voicemails -----------------------------------------------------------------------------------


def upload(client, target, **overrides):
    data = {
        "number": target.e164,
        "caller": "+33698765432",
        "received_at": "2026-11-01T10:00:00Z",
        "audio": wav_upload(2),
    }
    data.update(overrides)
    return client.post(VOICEMAILS, data, format="multipart")


def test_the_platform_uploads_a_voicemail(service_client, mobile, member):
    response = upload(service_client, mobile)

    assert response.status_code == 201, response.content
    stored = Voicemail.objects.get()
    body = response.json()
    assert body["id"] == str(stored.pk)
    assert body["number"] == mobile.e164
    assert body["caller"] == "+33698765432"
    assert (body["content_type"], body["duration_seconds"]) == ("audio/wav", 2)
    assert body["audio_url"].endswith(f"/api/v1/voicemails/{stored.pk}/audio/")
    assert stored.member == member
    assert default_storage.open(stored.audio.name).read() == wav_tone(seconds=2)


def test_members_and_anonymous_callers_cannot_upload(api, anon_client, mobile):
    assert upload(api, mobile).status_code == 403
    assert upload(anon_client, mobile).status_code == 401
    assert not Voicemail.objects.exists()


def test_a_file_that_is_not_audio_is_refused_whatever_its_name_and_type(service_client, mobile):
    fake = SimpleUploadedFile("vm.wav", b"MZ\x90\x00 this is not audio", content_type="audio/wav")

    response = upload(service_client, mobile, audio=fake)

    assert response.status_code == 400
    assert response.json()["fields"]["audio"][0]["code"] == "unsupported_audio"
    assert not Voicemail.objects.exists()
    assert not default_storage.exists("voicemails")


def test_an_audio_file_over_the_size_cap_is_refused(service_client, mobile, settings):
    settings.VOICEMAIL_MAX_BYTES = 1000

    response = upload(service_client, mobile, audio=wav_upload(1))

    assert response.status_code == 400
    assert response.json()["fields"]["audio"][0]["code"] == "file_too_large"
    assert not Voicemail.objects.exists()


def test_a_voicemail_for_a_number_not_in_service_is_refused(service_client, mobile):
    response = upload(service_client, mobile, number="+33699999999")

    assert response.status_code == 400
    assert "number" in response.json()["fields"]


def test_members_list_fetch_and_delete_their_own_voicemails(
    api, mobile, colleague_mobile, django_capture_on_commit_callbacks
):
    mine = voicemail(mobile)
    voicemail(colleague_mobile)

    listing = api.get(VOICEMAILS).json()
    detail = api.get(f"{VOICEMAILS}{mine.pk}/")
    audio = api.get(f"{VOICEMAILS}{mine.pk}/audio/")
    with django_capture_on_commit_callbacks(execute=True):
        deleted = api.delete(f"{VOICEMAILS}{mine.pk}/")

    assert [v["id"] for v in listing["results"]] == [str(mine.pk)]
    assert detail.status_code == 200
    assert audio.status_code == 200
    assert audio["Content-Type"] == "audio/wav"
    assert b"".join(audio.streaming_content) == wav_tone(seconds=2)
    assert deleted.status_code == 204
    assert not Voicemail.objects.filter(pk=mine.pk).exists()
    assert not default_storage.exists(mine.audio.name)


@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("delete", ""), ("get", "audio/")])
def test_another_members_voicemail_is_a_404_on_every_route(
    api, colleague_mobile, outsider_mobile, method, suffix
):
    for number in (colleague_mobile, outsider_mobile):
        target = voicemail(number)
        response = getattr(api, method)(f"{VOICEMAILS}{target.pk}/{suffix}")
        assert response.status_code == 404
        assert Voicemail.objects.filter(pk=target.pk).exists()


def test_the_schema_documents_messages_and_voicemails(anon_client):
    schema = anon_client.get("/api/v1/schema/").content.decode()

    for path in (
        "/api/v1/messages/",
        "/api/v1/messages/inbound/",
        "/api/v1/voicemails/",
        "/api/v1/voicemails/{id}/audio/",
    ):
        assert f"{path}:" in schema, path
