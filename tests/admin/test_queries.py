"""A list page's query count does not grow with its rows (STYLE.md, "Reading state")."""

import pytest
from django.urls import reverse

from licensing import services as licensing
from licensing.models import LicenceStatus
from tests.admin.conftest import get_as_flat_as_for_5_rows, small_and_large_owners
from tests.factories import (
    LicenceFactory,
    LineFactory,
    UserFactory,
    licence_type,
)

pytestmark = pytest.mark.django_db


def populate(organisation, owner, rows: int) -> None:
    """`rows` of everything: members holding licences with add-ons and extensions, lines,
    invoices (one purchase each) and their audit events."""
    call_recording = licence_type("call_recording")
    phone = licence_type("phone_system")
    for i in range(rows):
        member = UserFactory(organisation=organisation, role="user")
        line = LineFactory(organisation=organisation)
        base = LicenceFactory(
            organisation=organisation, licence_type=phone, member=member, extension=str(200 + i)
        )
        LicenceFactory(organisation=organisation, licence_type=call_recording, base_licence=base)
        LicenceFactory(
            organisation=organisation, line=line, licence_type=licence_type("room_phone")
        )
        LicenceFactory(
            organisation=organisation,
            status=LicenceStatus.REMOVAL_SCHEDULED,
            removal_effective_on="2030-01-01",
        )
        licensing.licences_purchase(
            organisation=organisation, licence_type=call_recording, quantity=1, actor=owner
        )


PAGES = [
    ("admin:licensing_licence_changelist", {}),
    ("admin:licensing_licence_changelist", {"q": "2"}),
    ("admin:licensing_licence_changelist", {"assignment": "member", "_facets": "1"}),
    ("admin:accounts_user_changelist", {}),
    ("admin:accounts_user_changelist", {"role__exact": "user", "q": "member"}),
    ("admin:billing_invoice_changelist", {}),
    ("admin:billing_invoice_changelist", {"overdue": "no"}),
    ("admin:licensing_line_changelist", {}),
    ("admin:accounts_auditevent_changelist", {}),
    ("admin:accounts_organisation_changelist", {}),
    ("admin:licensing_licencetype_changelist", {}),
    ("admin:index", {}),
    ("admin:search", {"q": "member"}),
]


@pytest.fixture(scope="module")
def small_and_large(django_db_setup, django_db_blocker):
    yield from small_and_large_owners(django_db_blocker, populate)


@pytest.mark.parametrize(("name", "params"), PAGES, ids=[f"{n}{p}" for n, p in PAGES])
def test_query_count_is_the_same_for_5_and_50_rows(
    client, small_and_large, django_assert_max_num_queries, name, params
):
    get_as_flat_as_for_5_rows(
        client, small_and_large, reverse(name), params, django_assert_max_num_queries
    )


def test_platform_staff_lists_stay_flat_across_organisations(
    client, staff, small_and_large, django_assert_max_num_queries
):
    client.force_login(staff)
    for name in (
        "admin:licensing_licence_changelist",
        "admin:billing_invoice_changelist",
        "admin:accounts_user_changelist",
        "admin:accounts_organisation_changelist",
    ):
        url = reverse(name)
        client.get(url)
        with django_assert_max_num_queries(30):
            assert client.get(url).status_code == 200
