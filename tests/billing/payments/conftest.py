"""Helpers of the payment tests: an organisation with an owner, invoices issued at a pinned time,
and test cards of the local provider (billing/payments/provider.py)."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.payments.methods import payment_method_add_card
from billing.quotes import Quote, QuoteLine
from billing.services import invoice_issue
from tests.factories import OrganisationFactory, UserFactory

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
OK_CARD = "4242 4242 4242 4242"
SOFT_CARD = "4000000000009995"
HARD_CARD = "4000000000000002"
AUTH_CARD = "4000002500003155"
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"


def issue(organisation, *, at=AT, amount="100.00") -> Invoice:
    line = QuoteLine(
        description="Licences",
        kind="licence",
        quantity=1,
        unit_price=Decimal(amount),
        amount=Decimal(amount),
    )
    quote = Quote(currency=organisation.currency, tax_rate=Decimal("0.2000"), lines=[line])
    return invoice_issue(organisation=organisation, kind="purchase", quote=quote, actor=None, at=at)


def add_card(organisation, actor, number=OK_CARD, *, at=AT, exp=(12, 2028)):
    return payment_method_add_card(
        organisation=organisation,
        actor=actor,
        number=number,
        exp_month=exp[0],
        exp_year=exp[1],
        holder="Ada Lovelace",
        at=at,
    )


@pytest.fixture
def org(db):
    return OrganisationFactory(
        payment_method_kind="", payment_method_reference="", billing_anchor=dt.date(2026, 1, 1)
    )


@pytest.fixture
def org_owner(org):
    return UserFactory(organisation=org, role="owner", email="boss@pay.example")
