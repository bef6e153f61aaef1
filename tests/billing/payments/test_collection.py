"""Collection (docs/rules.md, payments): charging on issue, "Pay now", declines, idempotency,
a crash between the provider's answer and the commit, and two "Pay now" at once."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Invoice, LocalProviderCharge, Payment, PaymentAttempt
from billing.payments import collection
from billing.payments.collection import attempts_reconcile, invoice_pay_now, invoices_collect
from billing.selectors import invoice_amount_due
from billing.services import invoice_record_payment
from telecom.errors import InvoiceNotPayable, NoPaymentMethod, PaymentInProgress
from tests.billing.payments.conftest import AT, HARD_CARD, SOFT_CARD, add_card, issue
from tests.concurrency import run_concurrently
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_issuing_sends_the_collection_task_after_commit(
    org, org_owner, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "telecom.celery.app.send_task", lambda name, kwargs: sent.append((name, kwargs))
    )
    with django_capture_on_commit_callbacks(execute=True):
        issue(org)
    assert sent == []  # nothing to charge: no payment method of the provider
    add_card(org, org_owner)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue(org)
    assert sent == [("billing.collect_invoices", {"invoice_ids": [str(invoice.pk)]})]


def test_an_issued_invoice_is_charged_once_even_if_the_task_runs_twice(org, org_owner):
    method = add_card(org, org_owner)
    invoice = issue(org)
    assert invoices_collect([invoice.pk], at=AT) == 1
    assert invoices_collect([invoice.pk], at=AT) == 0
    invoice.refresh_from_db()
    attempt = PaymentAttempt.objects.get()
    payment = Payment.objects.get()
    assert (invoice.status, invoice.paid_at) == ("paid", AT)
    assert (attempt.status, attempt.amount, attempt.payment_method_id) == (
        "succeeded",
        Decimal("120.00"),
        method.pk,
    )
    assert attempt.idempotency_key == f"invoice-{invoice.pk}-attempt-1"
    assert (payment.amount, payment.attempt_id, payment.reference) == (
        Decimal("120.00"),
        attempt.pk,
        attempt.provider_reference,
    )
    assert LocalProviderCharge.objects.count() == 1
    assert invoice_amount_due(invoice) == Decimal("0.00")


def test_without_a_method_nothing_is_charged(org):
    invoice = issue(org)
    assert invoices_collect([invoice.pk], at=AT) == 0
    assert not PaymentAttempt.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).status == "issued"


@pytest.mark.parametrize(
    ("card", "decline", "reason"),
    [
        (SOFT_CARD, "soft", "Insufficient funds."),
        (HARD_CARD, "hard", "The card was refused by its bank."),
    ],
)
def test_a_decline_records_a_failed_attempt_with_the_reason(
    org, org_owner, mailoutbox, django_capture_on_commit_callbacks, card, decline, reason
):
    add_card(org, org_owner, card)
    invoice = issue(org)
    with django_capture_on_commit_callbacks(execute=True):
        invoices_collect([invoice.pk], at=AT)
    attempt = PaymentAttempt.objects.get()
    assert (attempt.status, attempt.decline, attempt.reason) == ("failed", decline, reason)
    assert not Payment.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).status == "issued"
    assert invoice_amount_due(invoice) == Decimal("120.00")
    # the first failure's reminder goes to the billing contacts (the owner here), once
    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["boss@pay.example"], f"Payment of invoice {invoice.number} failed")
    ]
    assert reason in mailoutbox[0].body


def test_pay_now_with_a_chosen_method_after_a_decline(org, org_owner):
    add_card(org, org_owner, SOFT_CARD)
    good = add_card(org, org_owner)
    invoice = issue(org)
    invoices_collect([invoice.pk], at=AT)
    later = AT + dt.timedelta(hours=2)
    attempt = invoice_pay_now(
        organisation=org, invoice_id=invoice.pk, actor=org_owner, method_id=good.pk, at=later
    )
    invoice.refresh_from_db()
    assert (attempt.number, attempt.trigger, attempt.status) == (2, "pay_now", "succeeded")
    assert (invoice.status, invoice.paid_at) == ("paid", later)
    assert list(invoice.payment_attempts.values_list("status", flat=True)) == [
        "failed",
        "succeeded",
    ]


def test_paying_an_already_paid_invoice_is_refused_and_charges_nothing(org, org_owner, staff):
    add_card(org, org_owner)
    invoice = issue(org)
    invoice_record_payment(invoice=invoice, actor=staff, method="bank_transfer", reference="TRX-1")
    with pytest.raises(InvoiceNotPayable):
        invoice_pay_now(organisation=org, invoice_id=invoice.pk, actor=org_owner, at=AT)
    assert not PaymentAttempt.objects.exists() and not LocalProviderCharge.objects.exists()
    assert Payment.objects.get().amount == Decimal("120.00")


def test_paying_another_organisations_invoice_is_not_found(org, org_owner):
    other = OrganisationFactory()
    add_card(other, None)
    foreign = issue(other)
    with pytest.raises(Invoice.DoesNotExist):
        invoice_pay_now(organisation=org, invoice_id=foreign.pk, actor=org_owner, at=AT)
    assert not PaymentAttempt.objects.exists()
    assert Invoice.objects.get(pk=foreign.pk).status == "issued"


def test_pay_now_without_a_method_says_so(org, org_owner):
    invoice = issue(org)
    with pytest.raises(NoPaymentMethod):
        invoice_pay_now(organisation=org, invoice_id=invoice.pk, actor=org_owner, at=AT)


def test_worker_killed_after_the_providers_answer_is_reconciled_without_a_second_charge(
    org, org_owner, monkeypatch
):
    add_card(org, org_owner)
    invoice = issue(org)

    def killed(attempt, result, *, at):
        raise SystemExit("worker killed before the commit")

    monkeypatch.setattr(collection, "_finish", killed)
    with pytest.raises(SystemExit):
        invoices_collect([invoice.pk], at=AT)
    monkeypatch.undo()
    # the provider charged; our side has only the pending attempt
    assert LocalProviderCharge.objects.count() == 1
    assert PaymentAttempt.objects.get().status == "pending"
    assert Invoice.objects.get(pk=invoice.pk).status == "issued"
    # a new charge of the same invoice meanwhile is refused, not doubled
    with pytest.raises(PaymentInProgress):
        invoice_pay_now(organisation=org, invoice_id=invoice.pk, actor=org_owner, at=AT)
    assert attempts_reconcile(at=AT + dt.timedelta(days=1)) == 1
    assert attempts_reconcile(at=AT + dt.timedelta(days=1)) == 0
    charge = LocalProviderCharge.objects.get()
    attempt = PaymentAttempt.objects.get()
    assert (attempt.status, attempt.provider_reference) == ("succeeded", charge.reference)
    assert Payment.objects.get().reference == charge.reference
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


@pytest.mark.django_db(transaction=True)
def test_two_pay_now_at_once_charge_once():
    org = OrganisationFactory(payment_method_kind="", payment_method_reference="")
    owner = UserFactory(organisation=org, role="owner")
    finance = UserFactory(organisation=org, role="finance")
    add_card(org, owner)
    invoice = issue(org)

    def pay(actor):
        return lambda: invoice_pay_now(organisation=org, invoice_id=invoice.pk, actor=actor, at=AT)

    results = run_concurrently([pay(owner), pay(finance)])
    succeeded = [r for r in results if isinstance(r, PaymentAttempt)]
    refused = [r for r in results if isinstance(r, InvoiceNotPayable | PaymentInProgress)]
    assert (len(succeeded), len(refused)) == (1, 1), results
    assert LocalProviderCharge.objects.count() == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert PaymentAttempt.objects.get().status == "succeeded"
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
