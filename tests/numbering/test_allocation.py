"""The allocation engine (`numbering.allocation`): its pure predicates, its decisions in memory
after one read, and a single assignment being exactly a batch of one."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from licensing.models import LicenceStatus
from numbering import services
from numbering.allocation import Allocation, NumberRequest
from numbering.capacity import can_receive_number, within_plan_cap
from telecom import errors
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory, licence_type, stock

PARIS = dt.timezone(dt.timedelta(hours=1))
NOV_10 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=PARIS)
MULTI = {"landline": 1, "mobile": 3}


# --- pure predicates: no database ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "number_type", "received", "used", "expected"),
    [
        ({}, "mobile", 0, 0, True),
        ({"mobile": 3}, "mobile", 3, 0, False),  # rule 3: the three mobile slots are taken
        ({"mobile": 3}, "landline", 3, 0, True),  # the landline slot is free
        ({}, "toll_free", 0, 0, False),  # no slot of that type at all
        ({}, "mobile", 9, 5, False),  # rule 8: filled once, then its 5 changes used
        ({}, "mobile", 9, 4, True),
    ],
)
def test_can_receive_number_is_rules_3_and_8(held, number_type, received, used, expected):
    assert (
        can_receive_number(
            capacity=MULTI,
            held=held,
            number_type=number_type,
            numbers_received=received,
            changes_used=used,
            max_changes=5,
        )
        is expected
    )


def test_within_plan_cap_is_rule_5():
    assert within_plan_cap(held=4, adding=1, cap=5)
    assert not within_plan_cap(held=5, adding=1, cap=5)
    assert not within_plan_cap(held=3, adding=3, cap=5)


# --- decisions in memory after one read -----------------------------------------------------------


@pytest.fixture
def org(db):
    return OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))


@pytest.fixture
def member(org):
    return UserFactory(organisation=org)


def mobile(member, **kwargs):
    return NumberRequest(country="FR", number_type="mobile", member=member, **kwargs)


@pytest.mark.django_db
def test_a_batch_fills_the_held_licence_then_takes_a_free_one_then_buys(org, member):
    LicenceFactory(organisation=org, member=member, licence_type=licence_type("user_multi_mobile"))
    free = LicenceFactory(organisation=org)
    allocation = Allocation(org, [(member, None)] * 5, window=5, at=NOV_10, lock=False)

    placed = allocation.plan([mobile(member) for _ in range(5)])

    assert [source for _, source in placed] == ["held", "held", "held", "free", "purchase"]
    assert placed[3][0] == free and placed[3][0].member == member  # in memory only
    assert allocation.numbers_held(member, None) == 5
    assert allocation.supply.quote().purchased == 1


@pytest.mark.django_db
def test_after_the_read_a_batch_on_held_licences_costs_no_statement(org, member):
    LicenceFactory(organisation=org, member=member, licence_type=licence_type("user_multi_mobile"))
    allocation = Allocation(org, [(member, None)] * 3, window=3, at=NOV_10, lock=False)

    with CaptureQueriesContext(connection) as queries:
        placed = allocation.plan([mobile(member) for _ in range(3)])

    assert [source for _, source in placed] == ["held"] * 3
    assert len(queries.captured_queries) == 0


@pytest.mark.django_db
def test_the_plan_cap_counts_the_batch_itself(org, member):
    org.plan = "connect"  # 5 numbers per member
    org.save()
    allocation = Allocation(org, [(member, None)] * 6, window=6, at=NOV_10, lock=False)

    with pytest.raises(errors.PlanNumberLimitReached):
        allocation.plan([mobile(member) for _ in range(6)])
    assert allocation.numbers_held(member, None) == 5


@pytest.mark.django_db
def test_a_free_licence_that_used_its_changes_is_skipped_and_one_scheduled_is_restored(org, member):
    spent = LicenceFactory(organisation=org, numbers_received=9, number_changes_used=5)
    scheduled = LicenceFactory(
        organisation=org,
        status=LicenceStatus.REMOVAL_SCHEDULED,
        removal_effective_on=dt.date(2026, 12, 1),
    )
    allocation = Allocation(org, [(member, None)], at=NOV_10, lock=False)

    pick = allocation.choose(member=member, line=None, number_type="mobile")

    assert pick.source == "restore"
    target = allocation.place(pick, member=member, line=None, number_type="mobile")
    assert target == scheduled and target != spent


# --- a single assignment is a batch of one ------------------------------------------------------


def _world(anchor):
    """An organisation with a free licence whose changes are used up and a licence scheduled for
    removal: rule 2 passes over the first, rule 13 restores the second, then rule 1 buys."""
    org = OrganisationFactory(billing_anchor=anchor)
    member = UserFactory(organisation=org)
    LicenceFactory(organisation=org, numbers_received=9, number_changes_used=5)
    LicenceFactory(
        organisation=org,
        status=LicenceStatus.REMOVAL_SCHEDULED,
        removal_effective_on=dt.date(2026, 12, 1),
    )
    return org, member


def _outcome(result):
    licence = result.licence
    licence.refresh_from_db()
    return (
        result.licence_purchased,
        result.licence_restored,
        licence.status,
        licence.numbers_received,
        licence.number_changes_used,
        result.invoice.total if result.invoice else None,
    )


@pytest.mark.django_db
def test_number_assign_is_numbers_assign_of_one():
    stock("FR", "mobile", 10)
    single_org, single_member = _world(dt.date(2026, 1, 1))
    batch_org, batch_member = _world(dt.date(2026, 1, 1))
    actor = UserFactory(organisation=single_org, role="owner")
    batch_actor = UserFactory(organisation=batch_org, role="owner")

    outcomes = []
    for _ in range(2):  # the second time no licence is left to restore: one is bought
        preview = services.number_assign_preview(
            organisation=single_org,
            country="FR",
            number_type="mobile",
            member=single_member,
            at=NOV_10,
        )
        single = services.number_assign(
            organisation=single_org,
            actor=actor,
            country="FR",
            number_type="mobile",
            member=single_member,
            at=NOV_10,
        )
        (batch,) = services.numbers_assign(
            organisation=batch_org,
            actor=batch_actor,
            requests=[mobile(batch_member)],
            at=NOV_10,
        )
        assert preview.source == ("restore" if not outcomes else "purchase")
        assert _outcome(single) == _outcome(batch)
        outcomes.append(_outcome(single))
    assert outcomes[0][1] and outcomes[1][0]  # restored first, then bought


@pytest.mark.django_db
def test_a_free_licence_named_in_a_batch_is_not_also_taken_as_free(org, member):
    named = LicenceFactory(organisation=org)
    allocation = Allocation(org, [(member, None)] * 2, window=2, at=NOV_10, lock=False)

    placed = allocation.plan([mobile(member, licence=named), mobile(member)])

    assert [source for _, source in placed] == ["given", "purchase"]
    assert placed[1][0] != named
