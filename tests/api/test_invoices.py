"""API.md "Billing": invoices, read side."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from billing.models import Invoice
from billing.quotes import Quote, QuoteLine
from billing.services import invoice_issue
from tests.factories import OrganisationFactory, UserFactory, licence_type

INVOICE_FIELDS = {
    "id",
    "amount_due",
    "number",
    "status",
    "overdue",
    "issued_on",
    "due_on",
    "period_start",
    "period_end",
    "currency",
    "subtotal",
    "tax",
    "total",
    "lines",
}
LINE_FIELDS = {
    "description",
    "kind",
    "type",
    "quantity",
    "unit_price",
    "period_start",
    "period_end",
    "amount",
}


def issue(organisation, *, at, lines=None) -> Invoice:
    lines = lines or [
        QuoteLine(
            description="User licence × 1",
            kind="proration",
            quantity=1,
            unit_price=Decimal("19.00"),
            amount=Decimal("19.00"),
            licence_type=licence_type("user_standard"),
            period_start=dt.date(2026, 3, 1),
            period_end=dt.date(2026, 3, 31),
        )
    ]
    quote = Quote(currency=organisation.currency, tax_rate=organisation.tax_rate, lines=lines)
    return invoice_issue(organisation=organisation, kind="purchase", quote=quote, actor=None, at=at)


@pytest.fixture
def billed(db):
    organisation = OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))
    first = issue(organisation, at=dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC))
    second = issue(
        organisation,
        at=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC),
        lines=[
            QuoteLine(
                description="IP desk phone",
                kind="device",
                quantity=2,
                unit_price=Decimal("129.00"),
                amount=Decimal("258.00"),
            ),
        ],
    )
    return organisation, first, second


@time_machine.travel(dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC), tick=False)
def test_invoice_list_fields(api_client_for, billed):
    organisation, first, second = billed
    finance = UserFactory(organisation=organisation, role="finance")

    response = api_client_for(finance).get("/api/v1/invoices/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    rows = {row["id"]: row for row in body["results"]}
    assert all(set(row) == INVOICE_FIELDS for row in rows.values())
    old = rows[str(first.pk)]
    assert old["number"] == first.number
    assert old["status"] == "issued"
    assert old["overdue"] is True  # due 19 January, unpaid on 10 March
    assert old["issued_on"] == "2026-01-05"
    assert old["due_on"] == "2026-01-19"
    assert (old["subtotal"], old["tax"], old["total"], old["currency"]) == (
        "19.00",
        "3.80",
        "22.80",
        "EUR",
    )
    assert old["lines"] == [
        {
            "description": "User licence × 1",
            "kind": "proration",
            "type": "user_standard",
            "quantity": 1,
            "unit_price": "19.00",
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
            "amount": "19.00",
        }
    ]
    new = rows[str(second.pk)]
    assert new["overdue"] is False
    assert new["lines"][0]["type"] is None
    assert new["lines"][0]["kind"] == "device"
    assert set(new["lines"][0]) == LINE_FIELDS


@time_machine.travel(dt.datetime(2026, 1, 19, 23, 30, tzinfo=dt.UTC), tick=False)
def test_overdue_uses_the_organisation_local_date(api_client_for, billed):
    organisation, first, _second = billed
    owner = UserFactory(organisation=organisation, role="owner")

    # 23:30 UTC on the 19th is already the 20th in Paris (UTC+1): due on the 19th, so overdue.
    body = api_client_for(owner).get(f"/api/v1/invoices/{first.pk}/").json()

    assert body["overdue"] is True


def test_a_paid_invoice_is_never_overdue(api_client_for, billed):
    organisation, first, _second = billed
    Invoice.objects.filter(pk=first.pk).update(status="paid")
    owner = UserFactory(organisation=organisation, role="owner")

    assert api_client_for(owner).get(f"/api/v1/invoices/{first.pk}/").json()["overdue"] is False


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("issued_from=2026-02-01", {"second"}),
        ("issued_to=2026-01-31", {"first"}),
        ("issued_from=2026-01-05&issued_to=2026-03-02", {"first", "second"}),
        ("status=paid", set()),
        ("status=issued", {"first", "second"}),
    ],
)
def test_invoice_filters(api_client_for, billed, query, expected):
    organisation, first, second = billed
    admin = UserFactory(organisation=organisation, role="admin")
    by_key = {"first": str(first.pk), "second": str(second.pk)}

    response = api_client_for(admin).get(f"/api/v1/invoices/?{query}")

    assert {row["id"] for row in response.json()["results"]} == {by_key[k] for k in expected}


@pytest.mark.parametrize("query", ["issued_from=yesterday", "status=lost"])
def test_invoice_filters_reject_bad_values(api_client_for, billed, query):
    organisation, *_ = billed
    admin = UserFactory(organisation=organisation, role="admin")

    response = api_client_for(admin).get(f"/api/v1/invoices/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("admin", 200), ("finance", 200), ("user", 403)]
)
def test_invoice_reading_by_role(api_client_for, billed, role, status):
    organisation, first, _ = billed
    member = UserFactory(organisation=organisation, role=role)
    client = api_client_for(member)

    assert client.get("/api/v1/invoices/").status_code == status
    assert client.get(f"/api/v1/invoices/{first.pk}/").status_code == status


def test_invoices_are_read_only(api_client_for, billed):
    organisation, first, _ = billed
    owner = UserFactory(organisation=organisation, role="owner")
    client = api_client_for(owner)

    assert client.post("/api/v1/invoices/", {}, format="json").status_code == 405
    assert client.delete(f"/api/v1/invoices/{first.pk}/").status_code == 405
    assert client.patch(f"/api/v1/invoices/{first.pk}/", {}, format="json").status_code == 405


# --- recording a payment: platform staff only (issue 11 section 4) -------------------------------


@pytest.fixture
def monday():
    with time_machine.travel(dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


def test_staff_record_a_payment_with_its_method_and_reference(monday, api_client_for, org_a, staff):
    from billing.models import Payment

    invoice = org_a["invoice"]

    response = api_client_for(staff).post(
        f"/api/v1/invoices/{invoice.pk}/payments/",
        {"method": "bank_transfer", "reference": " BANK-42 "},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert (response.json()["id"], response.json()["status"]) == (str(invoice.pk), "paid")
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.amount, payment.method, payment.reference, payment.recorded_by) == (
        invoice.total,
        "bank_transfer",
        "BANK-42",
        staff,
    )


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"method": "bank_transfer"}, "reference", "required"),
        ({"method": "bank_transfer", "reference": "  "}, "reference", "blank"),
        ({"reference": "BANK-42"}, "method", "required"),
        ({"method": "", "reference": "BANK-42"}, "method", "invalid_choice"),
        ({"method": "gold_bars", "reference": "BANK-42"}, "method", "invalid_choice"),
    ],
)
def test_a_payment_without_method_or_reference_is_a_400_naming_the_field(
    monday, api_client_for, org_a, staff, state, body, field, code
):
    before = state()
    response = api_client_for(staff).post(
        f"/api/v1/invoices/{org_a['invoice'].pk}/payments/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert {f: [e["code"] for e in errors] for f, errors in response.json()["fields"].items()} == {
        field: [code]
    }
    assert state() == before


def test_a_paid_invoice_is_not_paid_twice(monday, api_client_for, org_a, staff, state):
    client = api_client_for(staff)
    path = f"/api/v1/invoices/{org_a['invoice'].pk}/payments/"
    body = {"method": "card", "reference": "R-1"}
    assert client.post(path, body, format="json").status_code == 200
    before = state()
    again = client.post(path, body, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "invoice_not_payable"
    assert state() == before
