"""The billing console's lists keep their query count whatever their rows: 5 or 50 of everything
(invoices, charges, usage, commitments), built once for the module."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Organisation
from billing import services as billing
from billing.models import Invoice
from billing.usage import usage_record
from licensing import services as licensing
from licensing.models import Device
from numbering import services as numbering
from tests.admin.conftest import get_as_flat_as_for_5_rows, small_and_large_owners
from tests.factories import licence_type, stock

pytestmark = pytest.mark.django_db


def populate(organisation: Organisation, owner, rows: int) -> None:
    """`rows` invoices (with their lines), device orders, usage records and commitments."""
    phone = licence_type("phone_system")
    for _ in range(rows):
        licensing.licences_purchase(
            organisation=organisation, licence_type=phone, quantity=1, actor=owner
        )
        licensing.device_order(
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
        usage_record(
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
    yield from small_and_large_owners(django_db_blocker, populate)


@pytest.mark.parametrize(("name", "params"), PAGES, ids=[f"{n}{p}" for n, p in PAGES])
def test_billing_pages_query_count_is_the_same_for_5_and_50_rows(
    client, small_and_large, django_assert_max_num_queries, name, params
):
    response = get_as_flat_as_for_5_rows(
        client, small_and_large, reverse(name), params, django_assert_max_num_queries
    )
    if "changelist" in name and not params.get("kind__exact"):
        assert response.context["cl"].result_count >= 12
