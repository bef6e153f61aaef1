"""A NUL byte anywhere in a request's parameters is a 400 in the API's error format, on every
route the route walker knows; other control characters never give a 500."""

import re

import pytest

from tests.api.test_tenancy import api_routes
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

CONTROL = "".join(chr(c) for c in [*range(1, 32), 127])
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>")


def _path(route: str, value: str) -> str:
    """The route with every parameter replaced by `value` (already URL-encoded)."""
    return "/" + _GROUP.sub(value, route.replace("^", "").replace("$", "")).replace("\\", "")


ROUTES = [route for route, _pattern in api_routes() if "format" not in route]


@pytest.fixture
def client(api_client_for):
    owner = UserFactory(organisation=OrganisationFactory(), role="owner")
    return api_client_for(owner)


def assert_nul_refused(response, field):
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"] == "A NUL character is not allowed here."
    assert body["fields"] == {
        field: [
            {
                "code": "null_characters_not_allowed",
                "message": "A NUL character is not allowed here.",
            }
        ]
    }


def test_the_walker_sees_the_code_lookups():
    assert len(ROUTES) >= 15
    assert any("(?P<" in route or "<" in route for route in ROUTES)


@pytest.mark.parametrize("route", ROUTES)
def test_nul_in_the_query_string_the_form_or_the_path_is_a_400(client, route):
    path = _path(route, "a1")
    for name, value in (("search", "a\x00b"), ("code", "\x00"), ("q\x00", "x")):
        assert_nul_refused(client.get(path, {name: value}), name.replace("\x00", "\\x00"))
    assert_nul_refused(client.post(path, {"code": "a\x00b"}, format="multipart"), "code")
    urlencoded = client.generic("POST", path, "code=a%00b", "application/x-www-form-urlencoded")
    assert_nul_refused(urlencoded, "code")
    if path != _path(route, "a%00b"):
        assert_nul_refused(client.get(_path(route, "a%00b")), "path")


@pytest.mark.parametrize("route", ROUTES)
def test_other_control_characters_never_give_a_500(client, route):
    for value in (CONTROL, f"a{CONTROL}b"):
        for path in {_path(route, "a1"), _path(route, "a%01%1fb")}:
            response = client.get(path, {"search": value, "code": value})
            assert response.status_code < 500, (path, response.content[:300])
