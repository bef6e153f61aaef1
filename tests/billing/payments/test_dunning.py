"""Dunning (docs/rules.md, dunning): retries after a soft decline, none after a hard one,
reminders, and the ladder restricted → suspended → lifted, over 35 days of `run_billing`."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import AuditEvent
from billing.models import Invoice, PaymentAttempt, PaymentReminder
from billing.payments.collection import invoice_pay_now, invoices_collect
from billing.payments.dunning import next_retry_at
from billing.restriction import (
    organisation_lifting_action,
    organisation_restriction_reasons,
    organisation_status,
)
from billing.services import invoice_record_payment
from billing.usage import usage_record
from telecom.errors import AccountSuspended
from tests.billing.payments.conftest import AT, HARD_CARD, OK_CARD, SOFT_CARD, add_card, issue
from tests.factories import StaffFactory, UserFactory, give_number

pytestmark = pytest.mark.django_db


def run_billing(at: dt.datetime) -> list[str]:
    out = StringIO()
    call_command("run_billing", "--as-of", at.isoformat(), stdout=out)
    return out.getvalue().splitlines()


def day(n: int) -> dt.datetime:
    return AT + dt.timedelta(days=n)


def test_soft_decline_is_retried_1_3_5_7_days_after_the_first_failure(org, org_owner):
    add_card(org, org_owner, SOFT_CARD)
    invoice = issue(org)
    invoices_collect([invoice.pk], at=AT)
    assert next_retry_at(invoice) == day(1)
    for n in range(0, 12):
        run_billing(day(n))
        run_billing(day(n))  # twice a day: nothing more
    attempts = PaymentAttempt.objects.filter(invoice=invoice).order_by("number")
    assert [(a.number, a.trigger, a.created_at) for a in attempts] == [
        (1, "issued", AT),
        (2, "retry", day(1)),
        (3, "retry", day(3)),
        (4, "retry", day(5)),
        (5, "retry", day(7)),
    ]
    assert all(a.status == "failed" and a.decline == "soft" for a in attempts)
    assert next_retry_at(invoice) is None
    # reminders: at the first failure, and the day before the last retry
    reminders = PaymentReminder.objects.filter(invoice=invoice).order_by("sent_at")
    assert [(r.kind, r.sent_at) for r in reminders] == [
        ("first_failure", AT),
        ("last_retry", day(6)),
    ]


def test_hard_decline_is_not_retried(org, org_owner):
    add_card(org, org_owner, HARD_CARD)
    invoice = issue(org)
    invoices_collect([invoice.pk], at=AT)
    assert next_retry_at(invoice) is None
    for n in range(1, 9):
        run_billing(day(n))
    assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1


def test_the_ladder_over_35_days_and_paying_lifts_it(org, org_owner):
    """Issued 2 Mar, due 16 Mar (14 days): restricted from 17 Mar, suspended from 16 Apr
    (30 days past due), back to active the moment everything due is paid."""
    card = add_card(org, org_owner, SOFT_CARD)
    number = _number_of(org)
    invoice = issue(org)
    invoices_collect([invoice.pk], at=AT)
    assert invoice.due_on == dt.date(2026, 3, 16)
    seen = {}
    for n in range(0, 46):
        at = day(n)
        run_billing(at)
        org.refresh_from_db()
        seen[at.date()] = organisation_status(org, at=at)
    assert seen[dt.date(2026, 3, 16)] == "active"
    assert seen[dt.date(2026, 3, 17)] == "restricted"
    assert seen[dt.date(2026, 4, 15)] == "restricted"
    assert seen[dt.date(2026, 4, 16)] == "suspended"
    at = day(45)
    reasons = organisation_restriction_reasons(org, at=at)
    assert any("overdue" in r for r in reasons) and any("calls and messages" in r for r in reasons)
    assert organisation_lifting_action(org, at=at) == "Pay the overdue invoices from Billing."
    assert AuditEvent.objects.filter(action="invoice.overdue").count() == 1
    # suspended: no outgoing usage through the product
    with pytest.raises(AccountSuspended):
        usage_record(
            number=number, kind="sms", direction="outbound", started_at=at, cost=Decimal("0.10")
        )
    # paying everything due lifts both at once
    good = add_card(org, org_owner, OK_CARD, at=at)
    invoice_pay_now(
        organisation=org, invoice_id=invoice.pk, actor=org_owner, method_id=good.pk, at=at
    )
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    org.refresh_from_db()
    assert organisation_status(org, at=at) == "active"
    assert organisation_lifting_action(org, at=at) == ""
    assert card.pk != good.pk


def _number_of(org):
    """A member's number, its licence's invoice paid by bank transfer the day before."""
    member = UserFactory(organisation=org, role="user")
    before = AT - dt.timedelta(days=1)
    with time_machine.travel(before, tick=False):
        number = give_number(member, at=before)
    staff = StaffFactory()
    for bought in Invoice.objects.filter(organisation=org, status="issued"):
        invoice_record_payment(invoice=bought, actor=staff, method="bank_transfer", reference="T")
    return number
