"""The billing console's lists keep their query count whatever their rows: 5 or 50 of everything
(invoices, charges, usage, commitments), built once for the module."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organisation
from billing import services as billing
from billing.models import Invoice
from licensing import services as licensing
from licensing.models import Device
from numbering import services as numbering
from tests.factories import OrganisationFactory, UserFactory, licence_type, stock
from tests.worlds import built_once

pytestmark = pytest.mark.django_db


def populate(organisation: Organisation, owner, rows: int) -> None:
    """`rows` invoices (with their lines), device orders, usage records and commitments."""
    phone = licence_type("phone_system")
    for _ in range(rows):
        licensing.licences_purchase(
            organisation=organisation, licence_type=phone, quantity=1, actor=owner
        )
        billing.device_order(
            organisation=organisation,
            device=Device.objects.get(code="obihai_ata"),
            quantity=1,
            actor=owner,
        )
    stock("FR", "mobile", 1, start=70 if rows > 5 else 80)
    number = numbering.number_assign(
        organisation=organisation, actor=owner, country="FR", number_type="mobile", member=owner
    ).number
    for _ in range(rows):
        billing.usage_record(
            number=number,
            kind="call",
            direction="outbound",
            started_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
            cost=Decimal("0.10"),
        )
    from licensing.models import LicenceType

    for licence_type_ in LicenceType.objects.order_by("code")[: min(rows, 12)]:
        billing.commitment_create(
            organisation=organisation,
            licence_type=licence_type_,
            quantity=1,
            ends_on=dt.date.today() + dt.timedelta(days=100),
            actor=None,
        )
    # Some overdue, some paid: every column and filter has something to show.
    invoices = list(Invoice.objects.filter(organisation=organisation).order_by("sequence"))
    Invoice.objects.filter(pk__in=[i.pk for i in invoices[::2]]).update(due_on=dt.date(2020, 1, 1))
    for invoice in invoices[1::3]:
        billing.invoice_record_payment(invoice=invoice, actor=None)


PAGES = [
    ("admin:billing_invoice_changelist", {}),
    ("admin:billing_invoice_changelist", {"overdue": "yes", "_facets": "1"}),
    ("admin:billing_invoice_changelist", {"issued_from": "2000-01-01", "status__exact": "issued"}),
    ("admin:billing_commitment_changelist", {}),
    ("admin:billing_charge_changelist", {"billed": "no"}),
    ("admin:billing_usagerecord_changelist", {}),
    ("admin:billing_usagerecord_changelist", {"kind__exact": "call", "_facets": "1"}),
    ("admin:billing_invoice_upcoming", {}),
    ("admin:index", {}),
]


@pytest.fixture(scope="module")
def small_and_large(django_db_setup, django_db_blocker):
    with built_once(django_db_blocker):
        small = OrganisationFactory(name="Small")
        large = OrganisationFactory(name="Large")
        small_owner = UserFactory(organisation=small, role="owner")
        large_owner = UserFactory(organisation=large, role="owner")
        populate(small, small_owner, 5)
        populate(large, large_owner, 50)
        yield small_owner, large_owner


def count_queries(client, target, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(target, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(("name", "params"), PAGES, ids=[f"{n}{p}" for n, p in PAGES])
def test_billing_pages_query_count_is_the_same_for_5_and_50_rows(
    client, small_and_large, django_assert_max_num_queries, name, params
):
    small_owner, large_owner = small_and_large
    target = reverse(name)
    client.force_login(small_owner)
    client.get(target, params)  # warm caches (content types, sessions)
    with_5 = count_queries(client, target, params)

    client.force_login(large_owner)
    client.get(target, params)
    with django_assert_max_num_queries(with_5):
        response = client.get(target, params)
    assert response.status_code == 200
    if "changelist" in name and not params.get("kind__exact"):
        assert response.context["cl"].result_count >= 12
