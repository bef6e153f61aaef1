"""Profile: name, display time zone, password."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.webapp.conftest import received

pytestmark = pytest.mark.django_db


def test_the_profile_page_shows_my_details(signed_in, member):
    response = signed_in.get(reverse("webapp:profile"))

    assert response.status_code == 200
    html = response.content.decode()
    assert member.email in html
    assert 'value="Mia Member"' in html
    assert "The organisation&#x27;s (Europe/Paris)" in html


def test_saving_name_and_time_zone(signed_in, member):
    response = signed_in.post(
        reverse("webapp:profile"), {"name": "  Mia M.  ", "timezone": "America/New_York"}
    )

    assert response["Location"] == reverse("webapp:profile")
    member.refresh_from_db()
    assert (member.name, member.timezone) == ("Mia M.", "America/New_York")
    event = AuditEvent.objects.get(action="member.profile_updated")
    assert event.changes["after"] == {"name": "Mia M.", "timezone": "America/New_York"}


def test_an_unknown_time_zone_is_refused(signed_in, member):
    response = signed_in.post(reverse("webapp:profile"), {"name": "X", "timezone": "Mars/Olympus"})

    assert response.status_code == 400
    assert "timezone" in response.context["form"].errors
    member.refresh_from_db()
    assert member.timezone == ""


def test_times_are_shown_in_my_time_zone_else_my_organisations(signed_in, member, mobile):
    message = received(mobile, body="tz")
    message.sent_at = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC)
    message.save(update_fields=["sent_at"])
    path = f"/messages/{mobile.pk}/with/+33698765432/"

    paris = signed_in.get(path).content.decode()
    member.timezone = "America/New_York"
    member.save(update_fields=["timezone"])
    new_york = signed_in.get(path).content.decode()

    assert '<time datetime="2026-07-01T12:00:00+02:00">12:00</time>' in paris
    assert '<time datetime="2026-07-01T06:00:00-04:00">06:00</time>' in new_york
    assert "America/New_York" in new_york


def test_changing_the_password_keeps_me_signed_in(signed_in, member):
    response = signed_in.post(
        reverse("webapp:password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "brand-new-secret-42",
            "new_password2": "brand-new-secret-42",
        },
    )

    assert response["Location"] == reverse("webapp:profile")
    member.refresh_from_db()
    assert member.check_password("brand-new-secret-42")
    assert signed_in.get(reverse("webapp:home")).status_code == 200


def test_a_wrong_current_password_changes_nothing(signed_in, member):
    response = signed_in.post(
        reverse("webapp:password_change"),
        {
            "old_password": "not-it",
            "new_password1": "brand-new-secret-42",
            "new_password2": "brand-new-secret-42",
        },
    )

    assert response.status_code == 400
    assert "old_password" in response.context["password_form"].errors
    member.refresh_from_db()
    assert member.check_password("correct-horse-battery")
