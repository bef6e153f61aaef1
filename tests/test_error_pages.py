"""Branded error pages: the console and the webapp answer 403, 404, 500 and a failed CSRF check
with a sentence and a way back; the API keeps its JSON errors (docs/api.md)."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.test import Client, RequestFactory
from django.urls import get_resolver

from telecom import views

pytestmark = pytest.mark.django_db

CONSOLE_HOME = 'href="/admin/"'
WEBAPP_HOME = 'href="/"'


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


def text(response) -> str:
    return response.content.decode()


def test_the_error_handlers_are_the_products():
    resolver = get_resolver()

    assert resolver.resolve_error_handler(403) is views.permission_denied
    assert resolver.resolve_error_handler(404) is views.page_not_found
    assert resolver.resolve_error_handler(500) is views.server_error


def test_a_missing_console_page_is_branded_with_a_way_back_to_the_console(client, owner):
    client.force_login(owner)

    response = client.get("/admin/no-such-page/")

    assert response.status_code == 404
    assert "This page does not exist." in text(response)
    assert "Back to the console home" in text(response)
    assert CONSOLE_HOME in text(response)
    assert "Telecom console" in text(response)
    assert owner.organisation.name in text(response)  # the console's own header


def test_a_missing_webapp_page_is_branded_with_a_way_back_home(client, user_member):
    client.force_login(user_member)

    for path in ("/no-such-page/", f"/calls/{uuid.uuid4()}/"):
        response = client.get(path)

        assert response.status_code == 404, path
        assert "This page does not exist." in text(response)
        assert "Back to your home page" in text(response)
        assert WEBAPP_HOME in text(response)
        assert "/admin/" not in text(response)  # an end user is not sent to the console


def test_a_signed_out_visitor_gets_the_webapp_404_too(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "This page does not exist." in text(response)
    assert WEBAPP_HOME in text(response)


def test_the_api_keeps_json_errors(client):
    response = client.get("/api/v1/no-such-endpoint/")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_a_console_refusal_is_branded(client, finance_member):
    # Finance may read members but not add one (docs/api.md's role matrix): the admin refuses.
    client.force_login(finance_member)

    response = client.get("/admin/accounts/user/add/")

    assert response.status_code == 403
    assert "You do not have access to this page." in text(response)
    assert CONSOLE_HOME in text(response)


def test_a_failed_csrf_check_says_what_to_do(user_member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_member)

    response = client.post("/profile/", {"name": "New name"})

    assert response.status_code == 403
    assert "your session expired" in text(response)
    assert "send the form again" in text(response)
    assert WEBAPP_HOME in text(response)


@pytest.mark.parametrize(
    ("path", "home", "way_back"),
    [
        ("/admin/licensing/licence/", CONSOLE_HOME, "Back to the console home"),
        ("/calls/", WEBAPP_HOME, "Back to your home page"),
    ],
)
def test_the_500_page_renders_without_a_database_query(
    django_assert_num_queries, path, home, way_back
):
    request = RequestFactory().get(path)

    with django_assert_num_queries(0):
        response = views.server_error(request)

    assert response.status_code == 500
    assert "Something went wrong on our side." in text(response)
    assert way_back in text(response)
    assert home in text(response)


def test_a_crash_in_the_webapp_shows_the_500_page(user_member, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("webapp.views.selectors.my_numbers", crash)
    client = Client(raise_request_exception=False)
    client.force_login(user_member)

    response = client.get("/")

    assert response.status_code == 500
    assert "Something went wrong on our side." in text(response)
    assert "boom" not in text(response)


def test_an_api_crash_stays_json():
    request = RequestFactory().get("/api/v1/licences/")

    response = views.server_error(request)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
