"""Issue 14 item 2, by attack: the sign-in limit holds guessers back without locking the member
out (accounts/sign_in_limit.py). Failures count per account and client (address, or a device
the member has signed in on); a completed password reset lifts every lock."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.sign_in_limit import DEVICE_COOKIE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RIGHT = "correct-horse-battery"
VICTIM_IP = "203.0.113.7"
ATTACKER_IP = "198.51.100.66"


@pytest.fixture
def victim(organisation):
    return UserFactory(organisation=organisation, email="victim@org-a.example")


def sign_in(client, email, password, address, path="webapp:login"):
    return client.post(
        reverse(path), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def guess(client, email, address, times=10):
    for attempt in range(times):
        response = sign_in(client, email, f"guess-{attempt}", address)
        assert response.status_code == 200


def locked(response) -> bool:
    return "Too many failed sign-ins" in response.content.decode()


def test_guesses_from_elsewhere_do_not_lock_the_member_out_of_their_own_address(victim):
    guess(Client(), victim.email, ATTACKER_IP)

    assert locked(sign_in(Client(), victim.email, RIGHT, ATTACKER_IP))
    assert sign_in(Client(), victim.email, RIGHT, VICTIM_IP).status_code == 302


def test_a_known_device_signs_in_even_when_its_address_is_locked(victim):
    """Behind one shared address (an office's NAT, a proxy not configured as trusted) the
    attacker's guesses lock the address, but not the browser the member signed in on before."""
    device = Client()
    assert sign_in(device, victim.email, RIGHT, VICTIM_IP).status_code == 302
    assert DEVICE_COOKIE in device.cookies
    device.post(reverse("webapp:logout"))

    guess(Client(), victim.email, VICTIM_IP)

    assert locked(sign_in(Client(), victim.email, RIGHT, VICTIM_IP))
    assert sign_in(device, victim.email, RIGHT, VICTIM_IP).status_code == 302


def test_a_known_device_cookie_is_itself_limited_and_cannot_be_forged(victim):
    device = Client()
    sign_in(device, victim.email, RIGHT, VICTIM_IP)
    device.post(reverse("webapp:logout"))
    guess(device, victim.email, VICTIM_IP)  # a stolen cookie gives ten guesses, not more

    assert locked(sign_in(device, victim.email, RIGHT, VICTIM_IP))

    forged = Client()
    forged.cookies[DEVICE_COOKIE] = "abc:" + "0" * 20
    guess(forged, victim.email, ATTACKER_IP)
    assert locked(sign_in(forged, victim.email, RIGHT, ATTACKER_IP))


def test_a_device_cookie_is_for_the_accounts_signed_in_on_it(victim, organisation):
    other = UserFactory(organisation=organisation, email="other@org-a.example")
    device = Client()
    sign_in(device, other.email, RIGHT, VICTIM_IP)
    device.post(reverse("webapp:logout"))
    guess(Client(), victim.email, VICTIM_IP)

    # Known for `other`, not for the victim's account: the address's lock applies.
    assert locked(sign_in(device, victim.email, RIGHT, VICTIM_IP))


def test_guessing_spread_over_many_addresses_stops_but_known_devices_still_sign_in(
    victim, settings
):
    settings.SIGN_IN_ACCOUNT_FAILURES_ALLOWED = 30
    device = Client()
    sign_in(device, victim.email, RIGHT, VICTIM_IP)
    device.post(reverse("webapp:logout"))

    for i in range(3):
        guess(Client(), victim.email, f"198.51.100.{i}")

    refused = sign_in(Client(), victim.email, RIGHT, "198.51.100.200")
    assert locked(refused)
    assert "devices it has not used before" in refused.content.decode()
    assert sign_in(device, victim.email, RIGHT, VICTIM_IP).status_code == 302


def test_a_completed_password_reset_lifts_the_lock(victim):
    client = Client()
    guess(client, victim.email, VICTIM_IP)
    assert locked(sign_in(client, victim.email, RIGHT, VICTIM_IP))

    client.post(reverse("webapp:password_reset"), {"email": victim.email})
    link = re.search(r"https?://[^/\s]+(/\S+)", mail.outbox[0].body)[1]
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-9", "new_password2": "a-new-long-password-9"},
    )

    assert sign_in(client, victim.email, "a-new-long-password-9", VICTIM_IP).status_code == 302


def test_the_console_sign_in_keeps_the_same_limit_and_remembers_the_device(organisation):
    owner = UserFactory(organisation=organisation, role="owner", email="boss@org-a.example")
    device = Client()
    assert sign_in(device, owner.email, RIGHT, VICTIM_IP, "admin:login").status_code == 302
    assert DEVICE_COOKIE in device.cookies
    device.post(reverse("admin:logout"))

    for attempt in range(10):
        sign_in(Client(), owner.email, f"guess-{attempt}", VICTIM_IP, "admin:login")

    assert locked(sign_in(Client(), owner.email, RIGHT, VICTIM_IP, "admin:login"))
    assert sign_in(device, owner.email, RIGHT, VICTIM_IP, "admin:login").status_code == 302


def test_the_api_token_endpoint_counts_per_account_and_address(anon_client, victim, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth_token": "100/minute"})
    for attempt in range(10):
        anon_client.post(
            "/api/v1/auth/token/",
            {"email": victim.email, "password": f"guess-{attempt}"},
            format="json",
            REMOTE_ADDR=ATTACKER_IP,
        )
    right = {"email": victim.email, "password": RIGHT}
    attacker = anon_client.post(
        "/api/v1/auth/token/", right, format="json", REMOTE_ADDR=ATTACKER_IP
    )
    member = anon_client.post("/api/v1/auth/token/", right, format="json", REMOTE_ADDR=VICTIM_IP)

    assert attacker.status_code == 400
    assert attacker.json()["fields"]["non_field_errors"][0]["code"] == "sign_in_locked"
    assert member.status_code == 200
