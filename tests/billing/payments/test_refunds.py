"""Refunds to the original payment method (docs/rules.md, "Refunds"): a credit note on a charged
invoice gives the money back once, the amount due stays right, payments recorded by hand are
refunded by hand, and only platform staff of the right organisation can ask."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import CreditNote, LocalProviderRefund, Payment, Refund
from billing.payments.collection import invoice_charge
from billing.payments.models import AttemptTrigger, RefundStatus
from billing.payments.provider import LocalProvider
from billing.payments.refunds import (
    credit_note_issue_refunding,
    credit_note_refund,
    credit_note_refund_preview,
    refund_send,
)
from billing.selectors import invoice_amount_due, invoice_list
from billing.services import invoice_record_payment
from telecom.errors import RefundNotPossible
from tests.admin.conftest import db_state, messages_of
from tests.billing.payments.conftest import AT, add_card, issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("owner", "admin", "finance", "user")


@pytest.fixture
def state():
    return db_state


@pytest.fixture
def paid(org, org_owner):
    """A 120.00 EUR invoice (100.00 + 20 % VAT) paid by charging Visa •••• 4242."""
    add_card(org, org_owner)
    invoice = issue(org)
    attempt = invoice_charge(invoice, trigger=AttemptTrigger.ISSUED, at=AT)
    invoice.refresh_from_db()
    assert (invoice.total, attempt.status, invoice.status) == (
        Decimal("120.00"),
        "succeeded",
        "paid",
    )
    return invoice


@pytest.fixture
def by_transfer(org, staff):
    invoice = issue(org)
    invoice_record_payment(invoice=invoice, actor=staff, method="bank_transfer", reference="TRX-9")
    invoice.refresh_from_db()
    return invoice


def credit_50(invoice, staff, **extra):
    # 50.00 EUR including VAT: 41.67 + 8.33
    return credit_note_issue_refunding(
        invoice=invoice, actor=staff, reason="Goodwill", amount=Decimal("41.67"), at=AT, **extra
    )


def test_a_credit_note_with_refund_gives_back_50_once(paid, staff):
    preview = credit_note_refund_preview(
        invoice=paid, reason="Goodwill", amount=Decimal("41.67"), refund=True
    )
    assert (preview.total, preview.due_before, preview.due_after) == (
        Decimal("50.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert preview.refund_sentence == "Refund 50.00 EUR to Visa •••• 4242."

    note = credit_50(paid, staff, refund=True)

    refund = Refund.objects.get()
    assert (refund.credit_note, refund.amount, refund.status) == (
        note,
        Decimal("50.00"),
        RefundStatus.SUCCEEDED,
    )
    assert refund.payment == Payment.objects.get(invoice=paid)
    provider_side = LocalProviderRefund.objects.get()
    assert (provider_side.amount, provider_side.reference) == (
        Decimal("50.00"),
        refund.provider_reference,
    )
    assert invoice_amount_due(paid) == Decimal("0.00")
    assert invoice_amount_due(invoice_list(organisation=None).get(pk=paid.pk)) == Decimal("0.00")


def test_a_duplicated_refund_call_refunds_once(paid, staff):
    note = credit_50(paid, staff)  # issued without a refund
    assert not Refund.objects.exists()

    first = credit_note_refund(credit_note=note, actor=staff, at=AT)
    again = credit_note_refund(credit_note=note, actor=staff, at=AT)
    refund_send(first[0], at=AT)  # a duplicated task sending the same refund

    assert [r.amount for r in first] == [Decimal("50.00")] and again == []
    assert Refund.objects.count() == 1 and LocalProviderRefund.objects.count() == 1
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED


def test_the_refund_is_capped_by_what_the_method_paid_less_earlier_refunds(paid, staff):
    credit_50(paid, staff, refund=True)
    second = credit_note_issue_refunding(
        invoice=paid, actor=staff, reason="Cancelled", whole=True, at=AT, refund=True
    )
    assert second.total == Decimal("70.00")
    assert sorted(r.amount for r in Refund.objects.all()) == [Decimal("50.00"), Decimal("70.00")]
    assert invoice_amount_due(paid) == Decimal("0.00")


def test_the_local_provider_never_refunds_more_than_was_charged(paid):
    charge = Payment.objects.get(invoice=paid).reference
    provider = LocalProvider()
    ok = provider.refund(charge_reference=charge, amount=Decimal("100.00"), idempotency_key="a")
    same = provider.refund(charge_reference=charge, amount=Decimal("100.00"), idempotency_key="a")
    over = provider.refund(charge_reference=charge, amount=Decimal("20.01"), idempotency_key="b")
    assert ok.succeeded and same == ok
    assert not over.succeeded and over.reason == "Only 20.00 EUR of this charge is left to refund."
    assert LocalProviderRefund.objects.filter(succeeded=True).count() == 1


def test_a_refund_of_a_bank_transfer_is_refused_and_nothing_changes(by_transfer, staff):
    preview = credit_note_refund_preview(
        invoice=by_transfer, reason="Goodwill", amount=Decimal("41.67")
    )
    assert preview.refund_sentence == "Paid by bank transfer: refund it by hand."
    with pytest.raises(RefundNotPossible, match="Paid by bank transfer: refund it by hand"):
        credit_50(by_transfer, staff, refund=True)
    assert not CreditNote.objects.exists() and not Refund.objects.exists()


# --- the API ---------------------------------------------------------------------------------


def post(client, invoice, body, preview=False):
    path = f"/api/v1/invoices/{invoice.pk}/credit-notes/" + ("preview/" if preview else "")
    return client.post(path, body, format="json")


BODY = {"amount": "41.67", "reason": "Goodwill", "refund": True}


def test_api_credit_note_with_refund(api_client_for, paid, staff):
    client = api_client_for(staff)
    preview = post(client, paid, BODY, preview=True)
    assert preview.status_code == 200, preview.content
    assert (preview.json()["refund_amount"], preview.json()["refund_summary"]) == (
        "50.00",
        "Refund 50.00 EUR to Visa •••• 4242.",
    )
    assert post(client, paid, BODY).status_code == 201
    detail = client.get(f"/api/v1/invoices/{paid.pk}/").json()
    assert detail["amount_due"] == "0.00"
    assert [(r["amount"], r["status"]) for r in detail["refunds"]] == [("50.00", "succeeded")]


def test_api_refund_of_a_bank_transfer_is_a_409(api_client_for, by_transfer, staff, state):
    before = state()
    response = post(api_client_for(staff), by_transfer, BODY)
    assert response.status_code == 409
    assert response.json()["code"] == "refund_not_possible"
    assert "refund it by hand" in response.json()["detail"]
    assert state() == before and not Refund.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_api_another_organisations_invoice_is_a_404(api_client_for, paid, other_owner, role, state):
    attacker = UserFactory(organisation=other_owner.organisation, role=role)
    before = state()
    for preview in (False, True):
        assert post(api_client_for(attacker), paid, BODY, preview).status_code == 404
    assert state() == before and not LocalProviderRefund.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_api_customer_roles_cannot_refund(api_client_for, paid, org, role, state):
    member = UserFactory(organisation=org, role=role)
    before = state()
    for preview in (False, True):
        assert post(api_client_for(member), paid, BODY, preview).status_code == 403
    assert state() == before and not LocalProviderRefund.objects.exists()


# --- the console -----------------------------------------------------------------------------


def credit_url(invoice):
    return reverse("admin:billing_invoice_credit", args=[invoice.pk])


def test_console_review_offers_and_makes_the_refund(client, paid, staff):
    client.force_login(staff)
    page = client.get(credit_url(paid)).content.decode()
    assert "Refund to the original payment method" in page
    data = {"what": "amount", "amount": "41.67", "reason": "Goodwill", "refund": "on"}
    review = client.post(credit_url(paid), {**data, "_review": "1"})
    assert "Refund 50.00 EUR to Visa •••• 4242." in review.content.decode()
    assert not CreditNote.objects.exists()
    confirmed = client.post(credit_url(paid), {**data, "refund": "True", "_confirm": "1"})
    assert confirmed.status_code == 302
    note = CreditNote.objects.get()
    assert messages_of(confirmed) == [
        f"Credit note {note.number} issued: 50.00 EUR off invoice {paid.number}. "
        "50.00 EUR refunded to Visa •••• 4242."
    ]
    assert Refund.objects.get().amount == Decimal("50.00")
    invoice_page = client.get(reverse("admin:billing_invoice_change", args=[paid.pk]))
    text = invoice_page.content.decode()
    assert 'id="refunds"' in text and "Visa •••• 4242" in text


def test_console_bank_transfer_says_refund_by_hand_and_offers_no_checkbox(
    client, by_transfer, staff
):
    client.force_login(staff)
    page = client.get(credit_url(by_transfer)).content.decode()
    assert "Refund to the original payment method" not in page
    data = {"what": "amount", "amount": "41.67", "reason": "Goodwill"}
    review = client.post(credit_url(by_transfer), {**data, "_review": "1"})
    assert "Paid by bank transfer: refund it by hand." in review.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_console_customer_roles_cannot_credit_or_refund(client, paid, org, role):
    client.force_login(UserFactory(organisation=org, role=role))
    data = {"what": "amount", "amount": "41.67", "reason": "x", "refund": "on", "_confirm": "1"}
    response = client.post(credit_url(paid), data)
    # owners, admins and finance are refused; a plain user has no console (sent to the webapp)
    assert response.status_code == (302 if role == "user" else 403)
    assert not CreditNote.objects.exists() and not Refund.objects.exists()


def test_a_refund_left_pending_by_a_crash_is_finished_once_by_the_daily_job(
    paid, staff, monkeypatch
):
    from billing.payments import refunds
    from billing.payments.dunning import dunning_run

    def killed(refund, *, at=None):
        return refund  # the worker died before asking the provider

    monkeypatch.setattr(refunds, "refund_send", killed)
    credit_50(paid, staff, refund=True)
    assert Refund.objects.get().status == RefundStatus.PENDING
    assert invoice_amount_due(paid) == Decimal("0.00")  # overpaid meanwhile, never negative
    monkeypatch.undo()

    dunning_run(at=AT)
    dunning_run(at=AT)
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert LocalProviderRefund.objects.count() == 1


def test_the_database_refuses_a_zero_refund_and_a_second_one_per_credit_note_and_payment(
    paid, staff
):
    from django.db import IntegrityError, transaction

    note = credit_50(paid, staff, refund=True)
    other = credit_50(paid, staff)  # a second credit note, not refunded
    first = Refund.objects.get()
    cases = (
        (other, Decimal("0.00"), "refund_amount_positive"),
        (note, Decimal("1.00"), "refund_one_per_credit_note_payment"),
    )
    for credit_note, amount, constraint in cases:
        with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
            Refund.objects.create(
                organisation=first.organisation,
                credit_note=credit_note,
                payment=first.payment,
                amount=amount,
                currency="EUR",
                idempotency_key=constraint,
            )
    assert Refund.objects.count() == 1
