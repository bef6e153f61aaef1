"""A list's query count does not grow with its rows (STYLE.md "Reading state").

Organisations "Small" (5 rows) and "Large" (50) are built once for the module (tests/worlds.py);
each test runs in a savepoint rolled back after it.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from numbering.services import number_assign
from tests.admin.conftest import small_and_large_owners
from tests.factories import LicenceFactory, LineFactory, UserFactory, licence_type, stock

# Every test of the module sees Small and Large (built below), whatever the order.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_and_large")]

MAX_QUERIES = 8  # auth token, page count, page, prefetches; never one per row


def populate(organisation, owner, rows: int) -> None:
    """`rows` members, each with a seat holding a number and carrying two add-ons, plus line
    licences."""
    line = LineFactory(organisation=organisation)
    stock("FR", "mobile", rows, start=1000 * rows)
    for _ in range(rows):
        member = UserFactory(organisation=organisation)
        base = LicenceFactory(organisation=organisation, member=member)
        number_assign(
            organisation=organisation,
            actor=None,
            country="FR",
            number_type="mobile",
            member=member,
        )
        for code in ("call_recording", "team_chat"):
            LicenceFactory(
                organisation=organisation, licence_type=licence_type(code), base_licence=base
            )
        LicenceFactory(
            organisation=organisation, licence_type=licence_type("room_phone"), line=line
        )


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


@pytest.fixture(scope="module")
def small_and_large(django_db_setup, django_db_blocker):
    yield from small_and_large_owners(django_db_blocker, populate)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/licences/?page_size=500",
        "/api/v1/licences/?page_size=500&assigned=true&kind=base",
        "/api/v1/licences/?page_size=500&search=member",
        "/api/v1/members/?page_size=500",
        "/api/v1/members/?page_size=500&status=active&search=member",
        "/api/v1/lines/?page_size=500",
        "/api/v1/invoices/?page_size=500",
    ],
)
def test_list_query_count_is_the_same_for_5_and_50_rows(
    api_client_for, small_and_large, django_assert_max_num_queries, path
):
    small, large = (api_client_for(owner) for owner in small_and_large)
    with django_assert_max_num_queries(MAX_QUERIES):
        few = count_queries(small, path)

    with django_assert_max_num_queries(MAX_QUERIES):
        many = count_queries(large, path)

    assert few == many


def test_the_licence_list_really_holds_the_rows(api_client_for, small_and_large):
    _small_owner, owner = small_and_large

    body = api_client_for(owner).get("/api/v1/licences/?page_size=500").json()

    assert body["count"] == 200
    with_addons = [row for row in body["results"] if row["addons"]]
    assert len(with_addons) == 50
    assert all(len(row["addons"]) == 2 for row in with_addons)
    assert all(len(row["numbers"]) == 1 for row in with_addons)
    members = api_client_for(owner).get("/api/v1/members/?page_size=500").json()["results"]
    assert sorted(row["number_count"] for row in members) == [0] + [1] * 50


def test_a_users_own_licence_list_is_constant_too(
    api_client_for, user_member, django_assert_max_num_queries
):
    organisation = user_member.organisation
    client = api_client_for(user_member)
    for _ in range(5):
        LicenceFactory(organisation=organisation, member=user_member)
    few = count_queries(client, "/api/v1/licences/")
    for _ in range(45):
        LicenceFactory(organisation=organisation, member=user_member)

    with django_assert_max_num_queries(MAX_QUERIES):
        many = count_queries(client, "/api/v1/licences/")

    assert few == many
