"""Voicemail in the webapp: list, play (the audio, with byte ranges), delete; only one's own."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from tests.webapp.conftest import voicemail
from webapp.audio import wav_tone
from webapp.models import Voicemail

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine(mobile, signed_in):
    return voicemail(mobile, seconds=2)


def test_the_voicemail_page_lists_mine_with_an_audio_player(signed_in, mine, colleague_mobile):
    theirs = voicemail(colleague_mobile, caller="+34612000111")

    response = signed_in.get(reverse("webapp:voicemails"))

    assert response.status_code == 200
    assert [v.pk for v in response.context["page"].object_list] == [mine.pk]
    html = response.content.decode()
    assert f'<audio controls preload="metadata" src="/voicemail/{mine.pk}/audio/"' in html
    assert "+33 6 98 76 54 32" in html
    assert "2 s" in html
    assert str(theirs.pk) not in html


def test_a_voicemail_page_plays_it(signed_in, mine):
    response = signed_in.get(reverse("webapp:voicemail", args=[mine.pk]))

    assert response.status_code == 200
    assert f'src="/voicemail/{mine.pk}/audio/"' in response.content.decode()


def test_the_audio_is_served_whole_with_its_type(signed_in, mine):
    response = signed_in.get(reverse("webapp:voicemail_audio", args=[mine.pk]))

    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    assert body == wav_tone(seconds=2)
    assert int(response["Content-Length"]) == len(body) == mine.size
    assert "no-store" in response["Cache-Control"]


def test_the_audio_is_served_by_byte_ranges_for_seeking(signed_in, mine):
    url = reverse("webapp:voicemail_audio", args=[mine.pk])
    data = wav_tone(seconds=2)

    part = signed_in.get(url, HTTP_RANGE="bytes=100-199")
    tail = signed_in.get(url, HTTP_RANGE="bytes=-10")
    open_ended = signed_in.get(url, HTTP_RANGE=f"bytes={len(data) - 5}-")
    beyond = signed_in.get(url, HTTP_RANGE=f"bytes={len(data)}-")

    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert tail.content == data[-10:]
    assert open_ended.content == data[-5:]
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(data)}"


def test_deleting_a_voicemail_removes_it_and_its_file(
    signed_in, mine, django_capture_on_commit_callbacks
):
    name = mine.audio.name
    assert default_storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(reverse("webapp:voicemail_delete", args=[mine.pk]))

    assert response["Location"] == reverse("webapp:voicemails")
    assert not Voicemail.objects.exists()
    assert not default_storage.exists(name)


def test_deleting_with_htmx_replaces_the_row_with_a_notice(
    signed_in, mine, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            reverse("webapp:voicemail_delete", args=[mine.pk]), HTTP_HX_REQUEST="true"
        )

    assert response.status_code == 200
    assert "is deleted" in response.content.decode()
    assert not Voicemail.objects.exists()


def test_deleting_is_a_post(signed_in, mine):
    assert signed_in.get(reverse("webapp:voicemail_delete", args=[mine.pk])).status_code == 405
    assert Voicemail.objects.filter(pk=mine.pk).exists()


@pytest.mark.parametrize("whose", ["colleague", "outsider"])
@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("webapp:voicemail", "get"),
        ("webapp:voicemail_audio", "get"),
        ("webapp:voicemail_delete", "post"),
    ],
)
def test_another_members_voicemail_is_a_404_and_stays(
    signed_in, colleague_mobile, outsider_mobile, whose, name, method
):
    target = voicemail(colleague_mobile if whose == "colleague" else outsider_mobile)

    response = getattr(signed_in, method)(reverse(name, args=[target.pk]))

    assert response.status_code == 404
    assert Voicemail.objects.filter(pk=target.pk).exists()
    assert default_storage.exists(target.audio.name)


def test_the_voicemail_page_query_count_does_not_grow(
    signed_in, mobile, django_assert_max_num_queries
):
    for _ in range(5):
        voicemail(mobile)

    with django_assert_max_num_queries(8):
        signed_in.get(reverse("webapp:voicemails"))
