"""Issue 11 section 6: bad input never reaches a 500. Prices and quantities are bounded so every
invoice amount fits its column; usage is refused outside the organisation's life; the
calling-credit cap is never set below what the period used, nor below zero."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billing.models import Invoice, UsageCounter, UsageRecord
from billing.quotes import Quote, QuoteLine
from billing.services import invoice_issue
from billing.usage import organisation_update_limits, usage_record, usage_used
from licensing.models import DevicePrice, LicencePrice
from tests.billing.test_api import service_client, usage_body
from tests.factories import (
    StaffFactory,
    UserFactory,
    give_number,
    licence_type,
    renewing_organisation,
    token_for,
)

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# 1 Nov 2026 is the organisation's sign-up (anchor) day; its first period ends on 30 Nov.
ANCHOR = dt.date(2026, 11, 1)
NOV_10 = dt.datetime(2026, 11, 10, 10, 0, tzinfo=PARIS)


@pytest.fixture
def nov_10():
    with time_machine.travel(NOV_10, tick=False):
        yield NOV_10


@pytest.fixture
def org(nov_10):
    organisation = renewing_organisation(ANCHOR, billing_frequency="yearly")
    owner = UserFactory(organisation=organisation, role="owner")
    return {"organisation": organisation, "owner": owner, "number": give_number(owner)}


def rows() -> dict:
    return {
        "invoices": list(Invoice.objects.order_by("pk").values("pk", "status", "total")),
        "usage": list(UsageRecord.objects.order_by("pk").values()),
        "counters": list(UsageCounter.objects.order_by("pk").values("pk", "used")),
    }


# --- prices and amounts --------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["monthly", "yearly"])
def test_a_licence_price_above_the_bound_is_a_field_error(field):
    price = LicencePrice.objects.filter(currency="EUR").first()
    setattr(price, field, Decimal("99999999.99"))
    with pytest.raises(ValidationError) as refused:
        price.full_clean()
    assert refused.value.message_dict == {
        field: ["A price is at most 99999.99: invoices could not hold more."]
    }


def test_a_device_price_above_the_bound_is_a_field_error():
    price = DevicePrice.objects.filter(device__code="ip_desk_phone", currency="EUR").get()
    price.unit_price = Decimal("100000.00")
    with pytest.raises(ValidationError) as refused:
        price.full_clean()
    assert set(refused.value.message_dict) == {"unit_price"}


def test_the_database_refuses_a_price_above_the_bound_too():
    with pytest.raises(IntegrityError), transaction.atomic():
        LicencePrice.objects.filter(currency="EUR").update(yearly=Decimal("99999999.99"))
    with pytest.raises(IntegrityError), transaction.atomic():
        DevicePrice.objects.filter(currency="EUR").update(unit_price=Decimal("100000.00"))


def test_a_thousand_licences_at_the_highest_yearly_price_are_invoiced_exactly(org):
    """The largest purchase there can be: 1000 × 99,999.99 a year, bought on the anchor day."""
    LicencePrice.objects.filter(licence_type=licence_type("room_phone"), currency="EUR").update(
        yearly=Decimal("99999.99")
    )
    client = service_client()  # any client; the owner's token below
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(org['owner'])}")
    with time_machine.travel(dt.datetime(2026, 11, 1, 9, 0, tzinfo=PARIS), tick=False):
        response = client.post(
            "/api/v1/licences/purchase/",
            {"type": "room_phone", "quantity": 1000},
            format="json",
        )
    assert response.status_code == 201, response.content
    invoice = Invoice.objects.get(pk=response.json()["invoice"])
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("99999990.00"),
        Decimal("19999998.00"),
        Decimal("119999988.00"),
    )
    assert response.json()["total"] == "119999988.00"


def test_an_invoice_holds_a_renewal_of_a_million_licences_at_the_highest_price(org):
    """Renewals bill every licence held, in any number: invoice amounts are numeric(16, 2)."""
    line = QuoteLine(
        description="Room phone × 1000000",
        kind="licence",
        quantity=1_000_000,
        unit_price=Decimal("99999.99"),
        amount=Decimal("99999990000.00"),
    )
    quote = Quote(currency="EUR", tax_rate=Decimal("0.2000"), lines=[line])
    invoice = invoice_issue(
        organisation=org["organisation"], kind="renewal", quote=quote, actor=None
    )
    invoice.refresh_from_db()
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("99999990000.00"),
        Decimal("19999998000.00"),
        Decimal("119999988000.00"),
    )
    assert invoice.lines.get().amount == Decimal("99999990000.00")


# --- usage outside the organisation's life -------------------------------------------------------


@pytest.mark.parametrize(
    ("started_at", "code"),
    [
        # 23:59 Paris on the day before the sign-up (anchor) day.
        (dt.datetime(2026, 10, 31, 23, 59, tzinfo=PARIS), "before_organisation"),
        (dt.datetime(2026, 1, 1, 12, 0, tzinfo=PARIS), "before_organisation"),
        (NOV_10 + dt.timedelta(minutes=5, seconds=1), "in_the_future"),
        (NOV_10 + dt.timedelta(days=3), "in_the_future"),
    ],
)
def test_usage_outside_the_organisations_life_is_a_400_and_not_stored(org, started_at, code):
    before = rows()
    response = service_client().post(
        "/api/v1/usage/", usage_body(org["number"], started_at=started_at), format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert [e["code"] for e in body["fields"]["started_at"]] == [code]
    assert set(body["fields"]) == {"started_at"}
    assert rows() == before


def test_usage_on_the_first_instant_or_a_few_minutes_ahead_is_stored(org):
    client = service_client()
    first = dt.datetime(2026, 11, 1, 0, 0, tzinfo=PARIS)
    for started_at in (first, NOV_10 + dt.timedelta(minutes=5)):
        response = client.post(
            "/api/v1/usage/", usage_body(org["number"], started_at=started_at), format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["period_start"] == "2026-11-01"


def test_a_usage_belongs_to_the_period_of_its_start_in_the_organisations_time_zone(nov_10):
    """A monthly organisation anchored on 1 Nov: a call at 00:30 Paris on 1 Dec (23:30 UTC on
    30 Nov) belongs to December's period, and one at 23:30 Paris on 30 Nov to November's."""
    organisation = renewing_organisation(ANCHOR)
    owner = UserFactory(organisation=organisation, role="owner")
    number = give_number(owner)
    organisation_update_limits(
        organisation=organisation, actor=StaffFactory(), calling_credit_cap=Decimal("500.00")
    )
    december = dt.datetime(2026, 12, 1, 0, 30, tzinfo=PARIS)
    november = dt.datetime(2026, 11, 30, 23, 30, tzinfo=PARIS)
    with time_machine.travel(december + dt.timedelta(hours=1), tick=False):
        late = usage_record(
            number=number,
            kind="call",
            direction="outbound",
            started_at=november,
            cost=Decimal("1.00"),
        )
        early = usage_record(
            number=number,
            kind="call",
            direction="outbound",
            started_at=december.astimezone(dt.UTC),
            cost=Decimal("2.00"),
        )
        assert usage_used(organisation) == Decimal("2.00")
    assert (late.period_start, early.period_start) == (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert usage_used(organisation, at=november) == Decimal("1.00")


# --- the calling-credit cap ----------------------------------------------------------------------


def _use(number, cost: str):
    return usage_record(
        number=number,
        kind="call",
        direction="outbound",
        started_at=NOV_10 - dt.timedelta(hours=1),
        cost=Decimal(cost),
    )


def test_the_cap_is_not_lowered_below_what_the_period_used(org):
    organisation = org["organisation"]
    _use(org["number"], "120.50")
    with pytest.raises(ValidationError) as refused:
        organisation_update_limits(
            organisation=organisation, actor=StaffFactory(), calling_credit_cap=Decimal("100.00")
        )
    assert refused.value.message_dict == {
        "calling_credit_cap": [
            "This period has already used 120.50 EUR of calling credit; the cap cannot be set "
            "below that (100.00 EUR)."
        ]
    }
    organisation.refresh_from_db()
    assert organisation.calling_credit_cap == Decimal("250.00")
    organisation_update_limits(
        organisation=organisation, actor=StaffFactory(), calling_credit_cap=Decimal("120.50")
    )
    organisation.refresh_from_db()
    assert organisation.calling_credit_cap == Decimal("120.50")


def test_a_negative_cap_is_a_field_error_not_a_constraint(org):
    with pytest.raises(ValidationError) as refused:
        organisation_update_limits(
            organisation=org["organisation"],
            actor=StaffFactory(),
            calling_credit_cap=Decimal("-1.00"),
        )
    assert refused.value.message_dict == {
        "calling_credit_cap": ["The calling-credit cap cannot be negative."]
    }
