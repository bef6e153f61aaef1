"""Issue 14 item 1: the client address comes from the configured trusted proxies, never from
whatever `X-Forwarded-For` a client writes; throttles, the sign-in limit and the audit trail
all use it (telecom/clients.py)."""

import pytest
from django.test import RequestFactory

from accounts.models import AuditEvent
from telecom.clients import client_address

BAD_SIGNUP = {"organisation_name": "x"}  # refused (400) after the throttle counted it


def forged(i: int) -> str:
    return f"198.51.100.{i}"


def _address(settings, remote, forwarded=None, *, trusted=(), count=0):
    settings.TRUSTED_PROXIES = list(trusted)
    settings.NUM_PROXIES = count
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


def test_with_no_proxy_configured_the_header_is_ignored(settings):
    assert _address(settings, "203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_behind_one_trusted_proxy_the_right_most_untrusted_address_is_the_client(settings):
    kwargs = {"trusted": ["10.0.0.0/8"]}
    # The client wrote "198.51.100.1" itself; the proxy appended what it saw.
    assert _address(settings, "10.0.0.2", "198.51.100.1, 203.0.113.7", **kwargs) == "203.0.113.7"
    assert _address(settings, "10.0.0.2", "203.0.113.7, 10.0.0.3", **kwargs) == "203.0.113.7"
    # Not from the proxy: the header is the client's own and is ignored.
    assert _address(settings, "203.0.113.9", "198.51.100.1", **kwargs) == "203.0.113.9"
    # Garbage where the client's address should be is no new client.
    assert _address(settings, "10.0.0.2", "198.51.100.1, not-an-ip", **kwargs) == "10.0.0.2"


def test_num_proxies_counts_from_the_right(settings):
    assert _address(settings, "10.0.0.2", "198.51.100.1, 203.0.113.7", count=1) == "203.0.113.7"
    assert _address(settings, "10.0.0.2", "198.51.100.1, 203.0.113.7", count=2) == "198.51.100.1"
    assert _address(settings, "10.0.0.2", None, count=1) == "10.0.0.2"


def test_thirty_token_requests_with_forged_headers_are_throttled(anon_client, owner):
    statuses = [
        anon_client.post(
            "/api/v1/auth/token/",
            {"email": owner.email, "password": f"guess-{i}"},
            format="json",
            HTTP_X_FORWARDED_FOR=forged(i),
        ).status_code
        for i in range(30)
    ]

    assert statuses == [400] * 10 + [429] * 20  # AUTH_TOKEN_THROTTLE: 10/minute


def test_thirty_signups_with_forged_headers_are_throttled(anon_client, db):
    statuses = [
        anon_client.post(
            "/api/v1/signup/", BAD_SIGNUP, format="json", HTTP_X_FORWARDED_FOR=forged(i)
        ).status_code
        for i in range(30)
    ]

    assert statuses == [400] * 20 + [429] * 10  # SIGNUP_THROTTLE: 20/hour


def test_behind_a_trusted_proxy_each_client_has_its_own_count(anon_client, owner, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    def guess(client_ip, forged_prefix=""):
        return anon_client.post(
            "/api/v1/auth/token/",
            {"email": owner.email, "password": "wrong"},
            format="json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"{forged_prefix}{client_ip}",
        ).status_code

    # One attacker behind the proxy, forging a different left-hand address each time.
    attacker = [guess("203.0.113.7", f"198.51.100.{i}, ") for i in range(12)]
    # Another client behind the same proxy is not held back by the attacker.
    bystander = guess("203.0.113.8")

    assert attacker == [400] * 10 + [429] * 2
    assert bystander == 400


def test_the_sign_in_limit_is_not_reset_by_a_forged_header(client, organisation):
    from tests.factories import UserFactory

    member = UserFactory(organisation=organisation, email="victim@org-a.example")
    for i in range(10):
        client.post(
            "/sign-in/",
            {"username": member.email, "password": f"guess-{i}"},
            HTTP_X_FORWARDED_FOR=forged(i),
        )

    response = client.post(
        "/sign-in/",
        {"username": member.email, "password": "still-a-guess"},
        HTTP_X_FORWARDED_FOR=forged(99),
    )

    assert "Too many failed sign-ins" in response.content.decode()


@pytest.mark.django_db
def test_the_audit_trail_records_the_client_address_behind_the_proxy(anon_client, settings):
    from tests.api.test_signup_and_organisation import sign_up

    settings.NUM_PROXIES = 1
    response = sign_up(
        anon_client, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7"
    )

    assert response.status_code == 201
    event = AuditEvent.objects.get(action="organisation.created")
    assert event.client_address == "203.0.113.7"
