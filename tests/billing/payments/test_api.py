"""`/api/v1/organisation/payment-methods/` and `/api/v1/invoices/{id}/pay/` (docs/api.md)."""

import datetime as dt

import pytest
import time_machine

from billing.models import Invoice, LocalProviderCharge, PaymentAttempt, PaymentMethod
from tests.billing.payments.conftest import AT, GOOD_IBAN, SOFT_CARD, add_card, issue
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(AT, tick=False):
        yield


CARD = {"type": "card", "number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2028}


def test_owner_adds_lists_defaults_and_removes(api_client_for, org, org_owner):
    client = api_client_for(org_owner)
    card = client.post("/api/v1/organisation/payment-methods/", CARD, format="json").json()
    sepa = client.post(
        "/api/v1/organisation/payment-methods/",
        {"type": "sepa_debit", "iban": GOOD_IBAN, "holder": "Ada"},
        format="json",
    ).json()
    assert (card["brand"], card["last4"], card["is_default"]) == ("Visa", "4242", True)
    assert (sepa["last4"], sepa["mandate_signed_on"], sepa["is_default"]) == (
        "3000",
        "2026-03-02",
        False,
    )
    assert "number" not in card and "iban" not in sepa
    listed = client.get("/api/v1/organisation/payment-methods/").json()
    assert [m["id"] for m in listed] == [card["id"], sepa["id"]]
    answer = client.post(f"/api/v1/organisation/payment-methods/{sepa['id']}/default/")
    assert answer.status_code == 200 and answer.json()["is_default"] is True
    assert client.delete(f"/api/v1/organisation/payment-methods/{card['id']}/").status_code == 204
    refused = client.delete(f"/api/v1/organisation/payment-methods/{sepa['id']}/")
    assert refused.status_code == 409 and refused.json()["code"] == "removal_restricts"
    assert client.get("/api/v1/organisation/").json()["status"] == "active"
    confirmed = client.delete(f"/api/v1/organisation/payment-methods/{sepa['id']}/?confirm=true")
    assert confirmed.status_code == 204
    assert client.get("/api/v1/organisation/").json()["status"] == "restricted"
    assert client.get("/api/v1/organisation/payment-methods/").json() == []


def test_finance_reads_but_cannot_change_methods(api_client_for, org, org_owner):
    finance = UserFactory(organisation=org, role="finance")
    method = add_card(org, org_owner)
    client = api_client_for(finance)
    assert [m["id"] for m in client.get("/api/v1/organisation/payment-methods/").json()] == [
        str(method.pk)
    ]
    assert (
        client.post("/api/v1/organisation/payment-methods/", CARD, format="json").status_code == 403
    )
    assert client.delete(f"/api/v1/organisation/payment-methods/{method.pk}/").status_code == 403
    assert PaymentMethod.objects.filter(removed_at__isnull=True).count() == 1


def test_another_organisations_method_and_invoice_are_404(api_client_for, org, org_owner):
    other = OrganisationFactory()
    foreign_method = add_card(other, None)
    foreign_invoice = issue(other)
    client = api_client_for(org_owner)
    base = "/api/v1/organisation/payment-methods"
    assert client.delete(f"{base}/{foreign_method.pk}/?confirm=true").status_code == 404
    assert client.post(f"{base}/{foreign_method.pk}/default/").status_code == 404
    assert client.post(f"/api/v1/invoices/{foreign_invoice.pk}/pay/").status_code == 404
    assert PaymentMethod.objects.get(pk=foreign_method.pk).removed_at is None
    assert not PaymentAttempt.objects.exists() and not LocalProviderCharge.objects.exists()
    assert Invoice.objects.get(pk=foreign_invoice.pk).status == "issued"


def test_pay_now_declined_then_paid_and_listed_on_the_invoice(api_client_for, org, org_owner):
    soft = add_card(org, org_owner, SOFT_CARD)
    good = add_card(org, org_owner)
    invoice = issue(org)
    client = api_client_for(UserFactory(organisation=org, role="finance"))
    declined = client.post(
        f"/api/v1/invoices/{invoice.pk}/pay/", {"payment_method": str(soft.pk)}, format="json"
    )
    assert declined.status_code == 402
    assert declined.json()["code"] == "payment_declined"
    assert declined.json()["detail"] == "Insufficient funds."
    paid = client.post(
        f"/api/v1/invoices/{invoice.pk}/pay/", {"payment_method": str(good.pk)}, format="json"
    )
    assert paid.status_code == 200 and paid.json()["status"] == "succeeded"
    again = client.post(f"/api/v1/invoices/{invoice.pk}/pay/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invoice_not_payable"
    detail = client.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert (detail["status"], detail["amount_due"]) == ("paid", "0.00")
    assert [p["amount"] for p in detail["payments"]] == ["120.00"]
    assert [(a["number"], a["status"], a["reason"]) for a in detail["payment_attempts"]] == [
        (1, "failed", "Insufficient funds."),
        (2, "succeeded", ""),
    ]


def test_user_and_admin_cannot_pay(api_client_for, org, org_owner):
    add_card(org, org_owner)
    invoice = issue(org)
    for role in ("user", "admin"):
        member = UserFactory(organisation=org, role=role)
        answer = api_client_for(member).post(f"/api/v1/invoices/{invoice.pk}/pay/")
        assert answer.status_code == 403
    assert not PaymentAttempt.objects.exists()


def test_an_expired_card_is_a_400_on_its_field(api_client_for, org, org_owner):
    body = {**CARD, "exp_month": 1, "exp_year": 2026}
    answer = api_client_for(org_owner).post(
        "/api/v1/organisation/payment-methods/", body, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["fields"]["exp_year"][0]["code"] == "expired_card"
    assert not PaymentMethod.objects.exists()
    assert dt.date(2026, 3, 2) == AT.date()
