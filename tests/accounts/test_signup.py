"""Signing up through the e-mailed link (accounts/signup.py): the confirmation page, the
password kept hashed, and expired requests discarded."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.core import mail
from django.urls import reverse

from accounts import signup
from accounts.models import Organisation, SignupRequest, User

pytestmark = pytest.mark.django_db

PARIS = dt.timezone(dt.timedelta(hours=1))
DETAILS = {
    "organisation_name": "Acme Télécom",
    "country": "FR",
    "currency": "EUR",
    "timezone_name": "Europe/Paris",
    "plan": "advanced",
    "billing_frequency": "monthly",
    "licence_policy": "block",
}


def requested(django_capture_on_commit_callbacks, email="founder@acme.example") -> str:
    with django_capture_on_commit_callbacks(execute=True):
        signup.signup_request(
            owner_email=email, owner_password="a-long-passphrase", owner_name="Ada", **DETAILS
        )
    return re.search(r"/sign-up/confirm/[^/\s]+/", mail.outbox[-1].body).group(0)


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=PARIS), tick=False)
def test_the_link_shows_what_will_be_created_and_confirming_signs_the_owner_in(
    client, django_capture_on_commit_callbacks
):
    link = requested(django_capture_on_commit_callbacks)
    page = client.get(link)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Create Acme Télécom" in text and "founder@acme.example" in text
    assert (
        not Organisation.objects.exists()
    )  # opening the link (a mail scanner may) creates nothing

    response = client.post(link)

    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    owner = User.objects.get(email="founder@acme.example")
    assert owner.role == "owner" and owner.status == "active"
    assert owner.check_password("a-long-passphrase")
    assert owner.organisation.billing_anchor == dt.date(2026, 3, 2)
    assert client.get(reverse("admin:index")).status_code == 200  # signed in
    assert SignupRequest.objects.get().password_hash == ""  # no credential left behind


def test_the_password_is_stored_hashed_and_never_mailed(django_capture_on_commit_callbacks):
    requested(django_capture_on_commit_callbacks)

    pending = SignupRequest.objects.get()
    assert check_password("a-long-passphrase", pending.password_hash)
    assert "a-long-passphrase" not in mail.outbox[-1].body
    assert "a-long-passphrase" not in str(pending.details)


def test_a_used_or_broken_link_shows_a_page_for_people(client, django_capture_on_commit_callbacks):
    link = requested(django_capture_on_commit_callbacks)
    client.post(link)
    client.logout()

    used = client.get(link)
    broken = client.get(link[:-3] + "xx/")

    for response in (used, broken):
        assert response.status_code == 404
        text = response.content.decode()
        assert "This confirmation link does not work" in text and "signup_link_invalid" not in text
    assert Organisation.objects.count() == 1


def test_expired_requests_are_discarded_by_the_daily_job(django_capture_on_commit_callbacks):
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=PARIS), tick=False):
        requested(django_capture_on_commit_callbacks, "old@acme.example")
    with time_machine.travel(dt.datetime(2026, 3, 3, 8, tzinfo=PARIS), tick=False):
        requested(django_capture_on_commit_callbacks, "recent@acme.example")

    discarded = signup.signup_requests_discard(at=dt.datetime(2026, 3, 3, 9, 30, tzinfo=PARIS))

    assert discarded == 1
    assert list(SignupRequest.objects.values_list("email", flat=True)) == ["recent@acme.example"]
