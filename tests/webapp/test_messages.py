"""Messages: sending from a number that can (rule 10), usage against the cap (rule 21),
conversations per number and peer, and only the member's own."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Organisation
from billing.models import UsageCounter, UsageKind, UsageRecord
from tests.webapp import gateways
from tests.webapp.conftest import give_number, received
from webapp import services
from webapp.models import Message, MessageStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def recording_gateway(settings):
    settings.MESSAGING_GATEWAY = "tests.webapp.gateways.RecordingGateway"
    gateways.SENT.clear()
    yield gateways.SENT
    gateways.SENT.clear()


def send(client, number, *, to="+33698765432", body="On my way"):
    return client.post(
        reverse("webapp:messages"), {"from_number": str(number.pk), "to": to, "body": body}
    )


def nothing_stored():
    return not Message.objects.exists() and not UsageRecord.objects.exists() and not gateways.SENT


def test_the_send_form_offers_my_mobile_but_not_my_landline(signed_in, mobile, landline):
    response = signed_in.get(reverse("webapp:messages"))

    assert response.status_code == 200
    choices = [value for value, _ in response.context["form"].fields["from_number"].widget.choices]
    assert choices == [mobile.pk]
    html = response.content.decode()
    assert f'<option value="{landline.pk}"' not in html
    assert f'<option value="{mobile.pk}"' in html


def test_a_member_with_only_a_landline_is_offered_no_send_form(client, member, owner):
    give_number(member, "landline", actor=owner)
    client.force_login(member)

    response = client.get(reverse("webapp:messages"))

    html = response.content.decode()
    assert 'name="from_number"' not in html
    assert "None of your numbers can send text messages" in html


def test_sending_from_a_mobile_records_usage_sends_through_the_gateway_and_opens_the_thread(
    signed_in, mobile, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(signed_in, mobile, to="06 98 76 54 32", body="  On my way  ")

    message = Message.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/messages/{mobile.pk}/with/+33698765432/"
    assert (message.number, message.member, message.direction) == (mobile, member, "outbound")
    assert (message.peer, message.body, message.status) == ("+33698765432", "On my way", "sent")
    assert message.gateway_reference == "rec-1"
    assert [{"from": mobile.e164, "to": "+33698765432", "body": "On my way"}] == gateways.SENT
    usage = UsageRecord.objects.get()
    assert (usage.kind, usage.direction, usage.cost) == (UsageKind.SMS, "outbound", Decimal("0.08"))
    assert (usage.number, usage.member, usage.destination) == (mobile, member, "+33698765432")
    assert message.usage == usage
    assert UsageCounter.objects.get().used == Decimal("0.08")


def test_a_landline_cannot_send_even_when_the_form_is_forged(signed_in, landline):
    response = send(signed_in, landline)

    assert response.status_code == 400
    errors = response.context["form"].non_field_errors().as_data()
    assert [e.code for e in errors] == ["capability_missing"]
    assert 'data-code="capability_missing"' in response.content.decode()
    assert "cannot send text messages" in response.content.decode()
    assert nothing_stored()


def test_at_the_calling_credit_cap_nothing_is_sent_and_the_member_is_told(
    signed_in, mobile, django_capture_on_commit_callbacks
):
    Organisation.objects.filter(pk=mobile.organisation_id).update(
        calling_credit_cap=Decimal("0.10")
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = send(signed_in, mobile, body="first")
        second = send(signed_in, mobile, body="second")

    assert first.status_code == 302
    assert second.status_code == 400
    assert 'data-code="calling_credit_cap_reached"' in second.content.decode()
    assert list(Message.objects.values_list("body", flat=True)) == ["first"]
    assert UsageRecord.objects.count() == 1
    assert [sent["body"] for sent in gateways.SENT] == ["first"]
    assert UsageCounter.objects.get().used == Decimal("0.08")


def test_a_message_the_gateway_cannot_send_is_marked_not_sent(
    signed_in, mobile, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_GATEWAY = "tests.webapp.gateways.FailingGateway"

    with django_capture_on_commit_callbacks(execute=True):
        send(signed_in, mobile)

    assert Message.objects.get().status == MessageStatus.FAILED


@pytest.mark.parametrize(
    ("to", "body", "field"),
    [("not a number", "hi", "to"), ("+33698765432", "   ", "body"), ("+3361", "hi", "to")],
)
def test_invalid_input_is_refused_field_by_field(signed_in, mobile, to, body, field):
    response = send(signed_in, mobile, to=to, body=body)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert nothing_stored()


def test_a_colleagues_number_is_not_a_choice(signed_in, colleague_mobile):
    response = send(signed_in, colleague_mobile)

    assert response.status_code == 400
    assert "from_number" in response.context["form"].errors
    assert nothing_stored()


def test_the_service_refuses_a_number_held_by_someone_else(member, colleague_mobile):
    with pytest.raises(services.PermissionDenied):
        services.message_send(member=member, number=colleague_mobile, to="+33698765432", body="x")

    assert nothing_stored()


def test_conversations_group_messages_by_number_and_peer_latest_first(
    signed_in, mobile, django_capture_on_commit_callbacks
):
    received(mobile, peer="+33698765432", body="old one", minutes_ago=60)
    received(mobile, peer="+447400123456", body="from London", minutes_ago=30)
    with django_capture_on_commit_callbacks(execute=True):
        send(signed_in, mobile, to="+33698765432", body="newest reply")

    response = signed_in.get(reverse("webapp:messages"))

    conversations = response.context["conversations"]
    assert [(c.peer, c.count, c.last.body) for c in conversations] == [
        ("+33698765432", 2, "newest reply"),
        ("+447400123456", 1, "from London"),
    ]
    html = response.content.decode()
    assert "+33 6 98 76 54 32" in html and "+44 7400 123456" in html


def test_a_conversation_shows_the_thread_oldest_first_with_a_reply_form(signed_in, mobile):
    received(mobile, body="first", minutes_ago=20)
    received(mobile, body="second", minutes_ago=10)

    response = signed_in.get(f"/messages/{mobile.pk}/with/+33698765432/")

    assert response.status_code == 200
    assert [m.body for m in response.context["thread"]] == ["first", "second"]
    assert response.context["can_reply"] is True
    assert 'hx-post="/messages/' in response.content.decode()


def test_replying_with_htmx_returns_the_updated_conversation_only(
    signed_in, mobile, django_capture_on_commit_callbacks
):
    received(mobile, body="ping")

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            f"/messages/{mobile.pk}/with/+33698765432/", {"body": "pong"}, HTTP_HX_REQUEST="true"
        )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<section id="conversation"')
    assert "<html" not in html
    assert [m.body for m in response.context["thread"]] == ["ping", "pong"]


def test_replying_without_javascript_redirects_back_to_the_thread(
    signed_in, mobile, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(f"/messages/{mobile.pk}/with/+33698765432/", {"body": "hi"})

    assert response.status_code == 302
    assert Message.objects.get().body == "hi"


def test_a_landline_conversation_offers_no_reply_and_refuses_a_forged_one(signed_in, landline):
    page = signed_in.get(f"/messages/{landline.pk}/with/+33698765432/")
    forged = signed_in.post(f"/messages/{landline.pk}/with/+33698765432/", {"body": "x"})

    assert page.context["can_reply"] is False
    assert 'name="body"' not in page.content.decode()
    assert forged.status_code == 400
    assert [e.code for e in forged.context["form"].non_field_errors().as_data()] == [
        "capability_missing"
    ]
    assert nothing_stored()


def test_inbound_messages_are_kept_for_the_numbers_holder(mobile, member):
    message = received(mobile, peer="BANK", body="Your code is 1234")

    assert (message.member, message.direction, message.status) == (member, "inbound", "received")
    assert message.peer == "BANK"


def test_inbound_to_a_landline_is_refused(landline):
    with pytest.raises(services.errors.CapabilityMissing):
        received(landline)

    assert not Message.objects.exists()


# --- only the member's own ----------------------------------------------------------------------


def test_another_members_message_or_conversation_is_a_404(
    signed_in, colleague_mobile, outsider_mobile
):
    colleague_message = received(colleague_mobile)
    outsider_message = received(outsider_mobile)

    for message in (colleague_message, outsider_message):
        assert signed_in.get(f"/messages/{message.pk}/").status_code == 404
        path = f"/messages/{message.number_id}/with/{message.peer}/"
        assert signed_in.get(path).status_code == 404
        assert signed_in.post(path, {"body": "hijack"}).status_code == 404
    assert Message.objects.count() == 2


def test_my_message_id_leads_to_its_place_in_the_conversation(signed_in, mobile):
    message = received(mobile)

    response = signed_in.get(f"/messages/{message.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/messages/{mobile.pk}/with/+33698765432/#message-{message.pk}"


def test_the_messages_page_lists_only_my_conversations(signed_in, mobile, colleague_mobile):
    received(mobile, body="mine")
    received(colleague_mobile, body="theirs")

    response = signed_in.get(reverse("webapp:messages"))

    assert [c.last.body for c in response.context["conversations"]] == ["mine"]
    assert "theirs" not in response.content.decode()


def test_a_number_passed_on_keeps_its_old_conversation_with_its_previous_holder(
    signed_in, mobile, member, colleague, owner
):
    from numbering.services import number_reassign

    received(mobile, body="before")
    number_reassign(number=mobile, actor=owner, member=colleague)
    received(mobile, body="after")

    page = signed_in.get(f"/messages/{mobile.pk}/with/+33698765432/")

    assert [m.body for m in page.context["thread"]] == ["before"]
    assert page.context["can_reply"] is False
    assert Message.objects.get(body="after").member == colleague


def test_the_messages_page_query_count_does_not_grow_with_conversations(
    signed_in, mobile, django_assert_max_num_queries
):
    for n in range(6):
        received(mobile, peer=f"+3369876543{n}")

    with django_assert_max_num_queries(10):
        signed_in.get(reverse("webapp:messages"))


def test_a_conversation_address_in_national_format_leads_to_the_canonical_one(signed_in, mobile):
    response = signed_in.get(f"/messages/{mobile.pk}/with/0698765432/")

    assert response.status_code == 302
    assert response["Location"] == f"/messages/{mobile.pk}/with/+33698765432/"
