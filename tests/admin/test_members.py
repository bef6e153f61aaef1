"""Members without dead ends (issue 13): resend an invitation, reactivate a removed member, an
address already used answered in a sentence, and the member's page offering a number and a
licence with readable titles."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts import invitations, lifecycle
from accounts import services as accounts_services
from accounts.models import AuditEvent, MemberStatus, User
from licensing.models import Licence
from tests.admin.conftest import SHARE_WORLDS, db_state, messages_of, page_text

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]


# The worlds are built at this instant (tests/admin/conftest.py), and every test runs at it.
WORLDS_BUILT_AT = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(WORLDS_BUILT_AT, tick=False):
        yield


@pytest.fixture
def invited(world_a):
    return accounts_services.member_invite(
        organisation=world_a.organisation,
        email="nina@zorblax.example",
        name="Nina New",
        role="user",
        actor=world_a.owner,
        notify=False,
    )


def test_resend_sends_a_new_link_and_the_old_one_stops_working(
    client, world_a, invited, django_capture_on_commit_callbacks
):
    old = invitations.invitation_token_for(invited)
    client.force_login(world_a.owner)
    page = client.get(reverse("admin:accounts_user_change", args=[invited.pk]))
    url = reverse("admin:accounts_user_resend", args=[invited.pk])
    assert url in page_text(page) and "Resend invitation" in page_text(page)
    assert "The link sent before stops working." in page_text(client.get(url))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)

    assert messages_of(response) == [
        "A new invitation was sent to nina@zorblax.example. The earlier link no longer works."
    ]
    assert [m.to for m in mail.outbox] == [["nina@zorblax.example"]]
    with pytest.raises(invitations.InvitationInvalid):
        invitations.invitation_member_for(old)
    invited.refresh_from_db()
    assert invitations.invitation_member_for(invitations.invitation_token_for(invited))
    assert AuditEvent.objects.filter(action="member.invitation_resent", actor=world_a.owner)


def test_resend_is_refused_in_a_sentence_for_an_active_member(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        reverse("admin:accounts_user_resend", args=[world_a.user.pk]), follow=True
    )
    assert messages_of(response) == [
        "zorblax-user is not waiting for an invitation: only invited members are sent one."
    ]
    assert db_state() == before


def test_reactivate_a_removed_member(client, world_a, django_capture_on_commit_callbacks):
    lifecycle.member_remove(member=world_a.user, actor=world_a.owner)
    client.force_login(world_a.owner)
    page = client.get(reverse("admin:accounts_user_change", args=[world_a.user.pk]))
    url = reverse("admin:accounts_user_reactivate", args=[world_a.user.pk])
    assert url in page_text(page)

    response = client.post(url, follow=True)

    assert messages_of(response) == ["zorblax-user is active again and can sign in."]
    world_a.user.refresh_from_db()
    assert world_a.user.status == MemberStatus.ACTIVE
    assert AuditEvent.objects.filter(
        action="member.reactivated", target_id=str(world_a.user.pk), actor=world_a.owner
    ).exists()


def test_reactivating_a_member_who_never_joined_invites_them_again(
    world_a, invited, django_capture_on_commit_callbacks
):
    lifecycle.member_remove(member=invited, actor=world_a.owner)
    with django_capture_on_commit_callbacks(execute=True):
        member = accounts_services.member_reactivate(member=invited, actor=world_a.owner)
    assert member.status == MemberStatus.INVITED
    assert [m.to for m in mail.outbox] == [["nina@zorblax.example"]]


def test_another_organisations_member_cannot_be_resent_or_reactivated(client, world_a, world_b):
    lifecycle.member_remove(member=world_b.user, actor=world_b.owner)
    client.force_login(world_a.owner)
    before = db_state()
    for name in ("resend", "reactivate", "give_licence"):
        response = client.post(reverse(f"admin:accounts_user_{name}", args=[world_b.user.pk]))
        assert response.status_code in (302, 404)
        assert "quimby" not in page_text(client.get(response["Location"]))
    assert db_state() == before


def test_finance_cannot_resend_or_reactivate(client, world_a, invited):
    client.force_login(world_a.finance)
    before = db_state()
    assert client.post(reverse("admin:accounts_user_resend", args=[invited.pk])).status_code == 403
    assert db_state() == before


def test_an_address_of_the_organisation_is_answered_with_a_link_to_the_member(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        reverse("admin:accounts_user_add"),
        {"email": "User@Zorblax.example", "name": "Again", "role": "user"},
    )
    text = page_text(response)
    assert response.status_code == 200
    assert "user@zorblax.example is already a member" in text
    assert reverse("admin:accounts_user_change", args=[world_a.user.pk]) in text
    assert "Constraint" not in text and "user_email_ci_unique" not in text
    assert db_state() == before


def test_an_address_used_elsewhere_on_the_platform_is_not_revealed(client, world_a, world_b):
    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        reverse("admin:accounts_user_add"),
        {"email": "user@quimby.example", "name": "Spy", "role": "user"},
    )
    text = page_text(response)
    assert "This e-mail address cannot be invited." in text
    assert "quimby-user" not in text and "already" not in text
    assert "Constraint" not in text
    assert db_state() == before


def test_the_member_page_offers_a_number_and_a_licence_with_readable_titles(client, world_a):
    client.force_login(world_a.owner)
    page = page_text(client.get(reverse("admin:accounts_user_change", args=[world_a.user.pk])))
    assert reverse("admin:numbering_phonenumber_assign") + f"?member={world_a.user.pk}" in page
    assert reverse("admin:accounts_user_give_licence", args=[world_a.user.pk]) in page
    assert f"User licence · {str(world_a.assigned.pk)[:8]}" in page
    assert "user_standard" not in page
    assert "+33 6 " in page  # the number held, formatted for people


def test_give_a_free_licence_to_a_member(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:accounts_user_give_licence", args=[world_a.admin.pk])
    page = page_text(client.get(url))
    assert f"User licence · {str(world_a.free.pk)[:8]}" in page

    response = client.post(url, {"licence": world_a.free.pk}, follow=True)

    assert messages_of(response) == [
        f"User licence · {str(world_a.free.pk)[:8]} was given to zorblax-admin."
    ]
    assert Licence.objects.get(pk=world_a.free.pk).member_id == world_a.admin.pk


def test_give_a_licence_cannot_take_another_organisations_licence(client, world_a, world_b):
    client.force_login(world_a.owner)
    before = db_state()
    url = reverse("admin:accounts_user_give_licence", args=[world_a.admin.pk])
    response = client.post(url, {"licence": world_b.free.pk})
    assert response.status_code == 200
    assert db_state() == before
    assert not User.objects.get(pk=world_a.admin.pk).licences.exists()
