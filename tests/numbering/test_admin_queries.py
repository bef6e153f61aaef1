"""The console's number pages: their query count does not grow with their rows (STYLE.md,
"Reading state"). Organisations "Small" (5 numbers) and "Large" (50) are built once for the
module (tests/worlds.py); each test runs in a savepoint rolled back after it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from numbering import services
from tests.admin.conftest import small_and_large_owners
from tests.factories import LineFactory, UserFactory, stock

pytestmark = pytest.mark.django_db


def populate(organisation, owner, rows: int) -> None:
    """`rows` numbers: members' mobiles, lines' landlines, a few quarantined."""
    start = 0 if rows == 5 else 100
    stock("FR", "mobile", rows, start=start)
    stock("FR", "landline", rows, start=start)
    for i in range(rows):
        if i % 3 == 2:
            line = LineFactory(organisation=organisation)
            services.number_assign(
                organisation=organisation,
                actor=owner,
                country="FR",
                number_type="landline",
                line=line,
            )
            continue
        member = UserFactory(organisation=organisation, role="user")
        number = services.number_assign(
            organisation=organisation,
            actor=owner,
            country="FR",
            number_type="mobile",
            member=member,
        ).number
        if i % 3 == 1:
            services.number_delete(number=number, actor=owner)


@pytest.fixture(scope="module")
def small_and_large(django_db_setup, django_db_blocker):
    yield from small_and_large_owners(django_db_blocker, populate)


PAGES = [
    ("admin:numbering_phonenumber_changelist", {}),
    ("admin:numbering_phonenumber_changelist", {"q": "33"}),
    ("admin:numbering_phonenumber_changelist", {"q": "member"}),
    ("admin:numbering_phonenumber_changelist", {"status__exact": "assigned", "_facets": "1"}),
    ("admin:numbering_phonenumber_changelist", {"number_type__exact": "mobile", "country": "FR"}),
    ("admin:index", {}),
    ("admin:search", {"q": "+33 6"}),
]


def count_queries(client, path, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(("name", "params"), PAGES, ids=[f"{n}{p}" for n, p in PAGES])
def test_query_count_is_the_same_for_5_and_50_rows(
    client, small_and_large, django_assert_max_num_queries, name, params
):
    small_owner, large_owner = small_and_large
    path = reverse(name)

    client.force_login(small_owner)
    client.get(path, params)  # warm caches (content types, sessions)
    with_5 = count_queries(client, path, params)
    client.force_login(large_owner)
    client.get(path, params)
    with django_assert_max_num_queries(with_5):
        with_50 = count_queries(client, path, params)

    assert with_50 == with_5
