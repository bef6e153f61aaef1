"""Signing in and out, password reset, and accepting an invitation."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from accounts import invitations, lifecycle
from accounts import services as accounts_services
from accounts.models import AuditEvent, MemberStatus, User
from tests.factories import UserFactory
from tests.webapp.conftest import give_number

pytestmark = pytest.mark.django_db


# --- sign-in and sign-out ---------------------------------------------------------------------


def test_the_sign_in_page_has_labelled_fields(client):
    response = client.get(reverse("webapp:login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">E-mail address' in html
    assert '<label for="id_password">Password' in html
    assert 'href="/password/reset/"' in html
    assert '<main id="main"' in html


def test_an_active_member_signs_in_with_any_case_of_their_address_and_lands_home(client, member):
    response = client.post(
        reverse("webapp:login"),
        {"username": "ME@Org-A.example", "password": "correct-horse-battery"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("webapp:home")
    assert client.get(reverse("webapp:home")).context["user"] == member


def test_sign_in_follows_next_within_the_site(client, member):
    response = client.post(
        reverse("webapp:login") + "?next=/calls/",
        {"username": member.email, "password": "correct-horse-battery", "next": "/calls/"},
    )

    assert response["Location"] == "/calls/"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, member):
    response = client.post(
        reverse("webapp:login"), {"username": member.email, "password": "wrong-password"}
    )

    assert response.status_code == 200
    assert "do not match an active account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def sign_in(client, email, password, address="203.0.113.7"):
    return client.post(
        reverse("webapp:login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def test_after_ten_wrong_passwords_the_address_is_refused_for_a_while(client, member):
    for attempt in range(10):
        wrong = sign_in(client, member.email, f"guess-{attempt}")
        assert "do not match an active account" in wrong.content.decode()

    locked = sign_in(client, member.email, "correct-horse-battery")

    assert locked.status_code == 200
    assert "Too many failed sign-ins for this address" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another client address is not held back by this one's guesses.
    assert sign_in(client, member.email, "correct-horse-battery", "198.51.100.2").status_code == 302
    # A quarter of an hour later, the address may try again.
    with time_machine.travel(dt.timedelta(minutes=16)):
        client.logout()
        assert sign_in(client, member.email, "correct-horse-battery").status_code == 302


def test_a_successful_sign_in_clears_the_failed_attempts(client, member):
    for attempt in range(9):
        sign_in(client, member.email, f"guess-{attempt}")
    assert sign_in(client, member.email, "correct-horse-battery").status_code == 302
    client.logout()
    for attempt in range(9):
        sign_in(client, member.email, f"guess-{attempt}")

    assert sign_in(client, member.email, "correct-horse-battery").status_code == 302


@pytest.mark.parametrize("status", [MemberStatus.INVITED, MemberStatus.DEACTIVATED])
def test_invited_and_deactivated_members_cannot_sign_in(client, organisation, status):
    UserFactory(organisation=organisation, email="x@org-a.example", status=status)

    response = client.post(
        reverse("webapp:login"),
        {"username": "x@org-a.example", "password": "correct-horse-battery"},
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "path", ["/", "/messages/", "/calls/", "/voicemail/", "/profile/"], ids=str
)
def test_every_page_asks_an_anonymous_visitor_to_sign_in(client, db, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/sign-in/?next={path}"


def test_sign_out_is_a_post_and_ends_the_session(signed_in):
    assert signed_in.get(reverse("webapp:logout")).status_code == 405

    response = signed_in.post(reverse("webapp:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("webapp:login")
    assert signed_in.get("/").status_code == 302


def test_platform_staff_have_no_webapp_pages_and_are_sent_to_the_console(client, staff):
    client.force_login(staff)

    assert client.get("/")["Location"] == reverse("admin:index")
    assert client.get("/messages/")["Location"] == reverse("admin:index")


def test_member_pages_are_not_cached(signed_in):
    response = signed_in.get("/")

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


# --- password reset ---------------------------------------------------------------------------


def _link(body: str) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", body)[1]


def test_password_reset_mails_a_link_that_sets_a_new_password_once(client, member):
    response = client.post(reverse("webapp:password_reset"), {"email": "Me@org-a.example"})

    assert response["Location"] == reverse("webapp:password_reset_sent")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["me@org-a.example"]
    link = _link(mail.outbox[0].body)

    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-9", "new_password2": "a-new-long-password-9"},
    )

    assert done["Location"] == reverse("webapp:password_reset_complete")
    member.refresh_from_db()
    assert member.check_password("a-new-long-password-9")
    assert AuditEvent.objects.filter(action="member.password_changed", target_id=str(member.pk))
    assert client.get(link, follow=True).context["validlink"] is False


@pytest.mark.parametrize("status", [MemberStatus.DEACTIVATED])
def test_password_reset_mails_nobody_but_active_members(client, organisation, status):
    UserFactory(organisation=organisation, email="x@org-a.example", status=status)

    response = client.post(reverse("webapp:password_reset"), {"email": "x@org-a.example"})
    unknown = client.post(reverse("webapp:password_reset"), {"email": "nobody@example.com"})

    assert response["Location"] == unknown["Location"] == reverse("webapp:password_reset_sent")
    assert mail.outbox == []


def test_an_invited_member_who_asks_for_a_reset_gets_the_invitation_again(
    client, invited, django_capture_on_commit_callbacks
):
    old = invitations.invitation_token_for(invited)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webapp:password_reset"), {"email": "New@org-a.example"})

    assert response["Location"] == reverse("webapp:password_reset_sent")  # same answer as others
    assert [m.to for m in mail.outbox] == [["new@org-a.example"]]
    token = _link(mail.outbox[0].body).split("/")[2]
    assert invitations.invitation_member_for(token) == invited
    with pytest.raises(invitations.InvitationInvalid):
        invitations.invitation_member_for(old)
    assert AuditEvent.objects.filter(
        action="member.invitation_resent", target_id=str(invited.pk)
    ).exists()


# --- invitations ------------------------------------------------------------------------------


@pytest.fixture
def invited(organisation, owner, inventory):
    member = accounts_services.member_invite(
        organisation=organisation,
        email="new@org-a.example",
        name="Nina New",
        role="user",
        actor=owner,
    )
    give_number(member, "mobile", actor=owner)
    return member


def test_invitation_send_mails_the_link_after_the_invite_commits(
    invited, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitations.invitation_send(member=invited)
    assert mail.outbox == []  # nothing leaves before the transaction commits

    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@org-a.example"]
    assert invited.organisation.name in message.subject
    assert "/invitation/" in message.body
    assert invitations.invitation_member_for(_link(message.body).split("/")[2]) == invited


def test_invitation_link_uses_the_request_host_when_given(invited, settings):
    settings.ALLOWED_HOSTS = ["phones.example.com"]
    request = RequestFactory().get("/", HTTP_HOST="phones.example.com", secure=True)

    link = invitations.invitation_link_for(invited, request)

    assert link.startswith("https://phones.example.com/invitation/")


def test_invitation_send_mails_nobody_already_active(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invitation_send(member=member)

    assert mail.outbox == []


def test_accepting_an_invitation_activates_signs_in_and_shows_what_was_assigned(client, invited):
    link = reverse("webapp:invitation_accept", args=[invitations.invitation_token_for(invited)])

    page = client.get(link)
    assert page.status_code == 200
    assert "new@org-a.example" in page.content.decode()

    response = client.post(
        link,
        {
            "name": "Nina N.",
            "new_password1": "long-enough-pass-7",
            "new_password2": "long-enough-pass-7",
        },
    )

    assert response["Location"] == reverse("webapp:home")
    invited.refresh_from_db()
    assert invited.status == MemberStatus.ACTIVE
    assert invited.name == "Nina N."
    assert invited.check_password("long-enough-pass-7")
    home = client.get(response["Location"])
    assert home.status_code == 200
    assert [n.e164 for n in home.context["numbers"]] == [
        n.e164 for n in invited.licences.get().numbers.all()
    ]
    assert [lic.licence_type.code for lic in home.context["licences"]] == ["user_standard"]
    assert AuditEvent.objects.filter(action="member.joined", target_id=str(invited.pk)).exists()


def test_an_invitation_link_works_once(client, invited):
    link = reverse("webapp:invitation_accept", args=[invitations.invitation_token_for(invited)])
    data = {
        "name": "N",
        "new_password1": "long-enough-pass-7",
        "new_password2": "long-enough-pass-7",
    }
    client.post(link, data)
    client.logout()

    again = client.get(link)

    assert again.status_code == 404
    assert "already been used" in again.content.decode()


def test_an_invitation_link_expires_after_seven_days(client, invited):
    token = invitations.invitation_token_for(invited)

    with time_machine.travel(dt.timedelta(days=7, minutes=1)):
        response = client.get(reverse("webapp:invitation_accept", args=[token]))

    assert response.status_code == 404
    assert "expired" in response.content.decode()


def test_a_tampered_or_withdrawn_invitation_link_is_refused(client, invited, owner):
    token = invitations.invitation_token_for(invited)
    tampered = client.get(reverse("webapp:invitation_accept", args=[token[:-2] + "xx"]))
    lifecycle.member_remove(member=invited, actor=owner)
    withdrawn = client.get(reverse("webapp:invitation_accept", args=[token]))

    assert tampered.status_code == withdrawn.status_code == 404
    assert User.objects.get(pk=invited.pk).status == MemberStatus.DEACTIVATED


def test_a_weak_password_keeps_the_invitation_open(client, invited):
    link = reverse("webapp:invitation_accept", args=[invitations.invitation_token_for(invited)])

    response = client.post(link, {"name": "N", "new_password1": "123", "new_password2": "123"})

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    invited.refresh_from_db()
    assert invited.status == MemberStatus.INVITED
