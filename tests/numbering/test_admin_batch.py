"""The members list's action "Give each selected member a new number": choose, review (which
licences the numbers take, what the bought ones cost), confirm; `numbers_assign` underneath."""

import datetime as dt
import html
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from billing.models import Invoice
from numbering.models import InventoryNumber, NumberAssignment, PhoneNumber
from numbering.selectors import number_holder
from tests.admin.conftest import db_state, messages_of
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory, stock

pytestmark = pytest.mark.django_db
NOV_10 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
MEMBERS = reverse("admin:accounts_user_changelist")


@pytest.fixture
def org(db):
    organisation = OrganisationFactory(name="Batchly", billing_anchor=dt.date(2026, 1, 1))
    stock("FR", "mobile", 10, start=700)
    return organisation


@pytest.fixture
def owner(org):
    return UserFactory(organisation=org, role="owner", name="Bea Owner")


@pytest.fixture
def newcomers(org):
    return [UserFactory(organisation=org, name=f"Newcomer {i}") for i in range(3)]


def state() -> dict:
    return {
        **db_state(),
        "numbers": list(PhoneNumber.objects.order_by("pk").values()),
        "history": list(NumberAssignment.objects.order_by("pk").values()),
        "inventory": InventoryNumber.objects.count(),
    }


def text(response) -> str:
    return html.unescape(response.content.decode())


def action(members, **extra) -> dict:
    return {
        "action": "give_numbers",
        "_selected_action": [str(m.pk) for m in members],
        **extra,
    }


@pytest.mark.time_machine(NOV_10, tick=False)
def test_choose_review_then_confirm(client, org, owner, newcomers):
    LicenceFactory(organisation=org)  # one free licence: the other two are bought
    client.force_login(owner)
    before = state()

    with time_machine.travel(NOV_10, tick=False):
        choose = client.post(MEMBERS, action(newcomers, index="0"))
        assert choose.status_code == 200
        assert "3 members of Batchly" in text(choose) and 'name="_review"' in text(choose)

        review = client.post(
            MEMBERS, action(newcomers, country="FR", number_type="mobile", _review="1")
        )
        page = text(review)
        assert (
            "3 new numbers: 1 on a free licence, which becomes the member's; 2 on a licence "
            "bought now. The licences bought are charged pro rata on one invoice: "
            "31.92 EUR with tax."
        ) in page
        assert "User licence × 2, 10 Nov 2026 to 30 Nov 2026 (21/30 days)" in page
        assert 'name="_confirm"' in page
        assert state() == before  # a review writes nothing

        confirm = client.post(
            MEMBERS, action(newcomers, country="FR", number_type="mobile", _confirm="1")
        )

    assert confirm.status_code == 302
    invoice = Invoice.objects.get(organisation=org)
    assert invoice.total == Decimal("31.92")
    assert messages_of(confirm) == [
        f"Gave 3 member(s) a new number. 2 licence(s) bought on invoice {invoice.number}, "
        "total 31.92 EUR."
    ]
    for member in newcomers:
        number = PhoneNumber.objects.get(licence__member=member)
        assert number_holder(number) == (member, None)


def test_a_refused_batch_is_said_on_the_review_and_cannot_be_confirmed(client, owner, org):
    org.licence_policy = "block"
    org.save()
    members = [UserFactory(organisation=org, name=f"Blocked {i}") for i in range(2)]
    LicenceFactory(organisation=org)
    client.force_login(owner)
    before = state()

    review = client.post(MEMBERS, action(members, country="FR", number_type="mobile", _review="1"))
    confirm = client.post(
        MEMBERS, action(members, country="FR", number_type="mobile", _confirm="1")
    )

    assert "licence policy is to refuse" in text(review)
    assert f"{members[1]}: No free User licence" in text(review)
    assert 'name="_confirm"' not in text(review)
    assert any("licence policy is to refuse" in m for m in messages_of(confirm))
    assert state() == before


def test_too_few_numbers_is_said_on_the_review(client, owner, org):
    members = [UserFactory(organisation=org) for _ in range(11)]
    client.force_login(owner)

    review = client.post(MEMBERS, action(members, country="FR", number_type="mobile", _review="1"))

    assert "Only 10 mobile numbers are available in FR, not 11." in text(review)


def test_finance_is_not_offered_the_action_and_cannot_post_it(client, org, newcomers):
    finance = UserFactory(organisation=org, role="finance")
    client.force_login(finance)
    before = state()

    listing = client.get(MEMBERS)
    response = client.post(
        MEMBERS, action(newcomers, country="FR", number_type="mobile", _confirm="1")
    )

    assert listing.status_code == 200 and "give_numbers" not in text(listing)
    assert state() == before
    assert "Gave" not in " ".join(messages_of(response))


def test_another_organisations_members_cannot_be_given_numbers(client, org, newcomers):
    intruder = UserFactory(organisation=OrganisationFactory(name="Intruder"), role="owner")
    client.force_login(intruder)
    before = state()

    response = client.post(
        MEMBERS, action(newcomers, country="FR", number_type="mobile", _confirm="1")
    )

    assert response.status_code in (200, 302)
    assert "Newcomer" not in text(response)
    assert state() == before


def test_platform_staff_give_numbers_within_one_organisation(client, staff, org, newcomers):
    elsewhere = UserFactory(organisation=OrganisationFactory(name="Elsewhere"))
    client.force_login(staff)
    before = state()

    mixed = client.post(
        MEMBERS, action([*newcomers, elsewhere], country="FR", number_type="mobile", _confirm="1")
    )
    assert messages_of(mixed) == ["Select members of one organisation."]
    assert state() == before

    done = client.post(MEMBERS, action(newcomers, country="FR", number_type="mobile", _confirm="1"))
    assert done.status_code == 302
    assert PhoneNumber.objects.filter(organisation=org).count() == 3
