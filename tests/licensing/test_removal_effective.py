"""A removal is done from its effective date, whatever the renewal job's lag (rules 15 and 16),
and terminating by UUID shows its termination fee before confirming."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import AuditEvent
from billing.models import Commitment, Invoice
from licensing import services
from licensing.models import Licence, LicenceStatus
from telecom import errors
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory, licence_type

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
JAN_15 = dt.datetime(2027, 1, 15, 10, 0, tzinfo=PARIS)
# 1 Feb 2027 00:30 in Paris is still 31 Jan in UTC (23:30): the removal has taken effect there.
FEB_1_0030 = dt.datetime(2027, 2, 1, 0, 30, tzinfo=PARIS)
JAN_31_2330 = dt.datetime(2027, 1, 31, 23, 30, tzinfo=PARIS)


@pytest.fixture
def org():
    return OrganisationFactory(billing_anchor=dt.date(2026, 1, 1), timezone="Europe/Paris")


@pytest.fixture
def actor(org):
    return UserFactory(organisation=org, role="owner")


@pytest.fixture
def scheduled(org, actor):
    """One user licence terminated on 15 Jan: its removal takes effect on 1 Feb 2027."""
    licence = LicenceFactory(organisation=org, purchased_at=dt.datetime(2026, 6, 1, tzinfo=PARIS))
    with time_machine.travel(JAN_15, tick=False):
        services.licence_terminate(licence=licence, actor=actor)
    licence.refresh_from_db()
    assert licence.removal_effective_on == dt.date(2027, 2, 1)
    return licence


def snapshot(org):
    return (
        sorted(Licence.objects.filter(organisation=org).values_list("pk", "status", "member_id")),
        Invoice.objects.filter(organisation=org).count(),
        AuditEvent.objects.filter(organisation=org).count(),
    )


def test_restore_at_0030_on_the_effective_date_is_refused_before_the_job_runs(
    org, actor, scheduled
):
    before = snapshot(org)

    with pytest.raises(errors.RemovalAlreadyEffective) as refused:
        services.licence_restore(licence=scheduled, actor=actor, at=FEB_1_0030)

    assert refused.value.code == "removal_already_effective"
    assert "removed on 1 Feb 2027" in refused.value.detail
    scheduled.refresh_from_db()
    # The renewal job has not run: still scheduled, and it stays so (the fee stays owed).
    assert scheduled.status == LicenceStatus.REMOVAL_SCHEDULED
    assert scheduled.removal_effective_on == dt.date(2027, 2, 1)
    assert snapshot(org) == before


def test_restore_at_2330_the_evening_before_still_works(org, actor, scheduled):
    services.licence_restore(licence=scheduled, actor=actor, at=JAN_31_2330)

    scheduled.refresh_from_db()
    assert scheduled.status == LicenceStatus.ACTIVE and scheduled.removal_effective_on is None
    assert AuditEvent.objects.filter(
        action="licence.restored", target_id=str(scheduled.pk)
    ).exists()


def test_a_purchase_after_the_effective_date_buys_instead_of_restoring(org, actor, scheduled):
    quote = services.licences_purchase_quote(
        organisation=org, licence_type=licence_type("user_standard"), quantity=1, at=FEB_1_0030
    )
    result = services.licences_purchase(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=actor,
        at=FEB_1_0030,
    )

    assert (quote.restored, quote.purchased) == (0, 1)
    # February 2027 has 28 days, all left: the full 19.00, plus 20 % tax.
    assert quote.total == Decimal("22.80")
    assert result.restored == [] and len(result.purchased) == 1
    assert result.invoice.total == quote.total
    scheduled.refresh_from_db()
    assert scheduled.status == LicenceStatus.REMOVAL_SCHEDULED


def test_a_purchase_the_evening_before_restores_at_no_charge(org, actor, scheduled):
    quote = services.licences_purchase_quote(
        organisation=org, licence_type=licence_type("user_standard"), quantity=1, at=JAN_31_2330
    )
    result = services.licences_purchase(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=actor,
        at=JAN_31_2330,
    )

    assert (quote.restored, quote.purchased, quote.total) == (1, 0, Decimal("0.00"))
    assert quote.restore_note == "1 licence scheduled for removal will be restored, no charge."
    assert [licence.pk for licence in result.restored] == [scheduled.pk]
    assert result.invoice is None


def test_allocation_after_the_effective_date_does_not_restore(org, actor, scheduled):
    member = UserFactory(organisation=org)

    result = services.licence_allocate(
        organisation=org,
        licence_type=licence_type("user_standard"),
        member=member,
        actor=actor,
        at=FEB_1_0030,
    )

    assert result.purchased and result.licence.pk != scheduled.pk
    scheduled.refresh_from_db()
    assert scheduled.status == LicenceStatus.REMOVAL_SCHEDULED


# --- terminate by UUID: the fee it causes, before confirming (rule 16) --------------------------


@pytest.fixture
def committed(org):
    """Three user licences committed until 1 Aug 2027, and three held."""
    Commitment.objects.create(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=3,
        ends_on=dt.date(2027, 8, 1),
    )
    return [LicenceFactory(organisation=org) for _ in range(3)]


def test_termination_review_shows_the_fee_that_terminating_then_causes(org, actor, committed):
    licence = committed[0]
    before = snapshot(org)

    with time_machine.travel(JAN_15, tick=False):
        review = services.licence_termination_quote(licence=licence)
        assert snapshot(org) == before
        terminated = services.licence_terminate(licence=licence, actor=actor)

    # One below the commitment, six whole months from 1 Feb to 1 Aug, at 19.00 a month.
    assert review.effective_on == dt.date(2027, 2, 1)
    assert review.termination_fee == Decimal("114.00")
    assert [lic.pk for lic in review.licences] == [licence.pk]
    assert terminated.termination_fee == Decimal("114.00")
    event = AuditEvent.objects.get(action="licence.terminated", target_id=str(licence.pk))
    assert event.changes["termination_fee"] == "114.00"


def test_termination_review_refuses_as_terminate_does(org, actor):
    member = UserFactory(organisation=org)
    licence = LicenceFactory(organisation=org, member=member)

    with pytest.raises(errors.LicenceInUse):
        services.licence_termination_quote(licence=licence, at=JAN_15)


# --- rule 13 on the licensing paths: add-ons (allocation is in test_services) ------------------


def test_addons_restore_a_scheduled_addon_licence_before_buying(org, actor):
    base = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    recording = LicenceFactory(organisation=org, licence_type=licence_type("call_recording"))
    with time_machine.travel(JAN_15, tick=False):
        services.licence_terminate(licence=recording, actor=actor)
        before = Invoice.objects.filter(organisation=org).count()

        _, invoice = services.licence_set_addons(
            licence=base, codes=["call_recording"], actor=actor
        )

    assert invoice is None
    assert Invoice.objects.filter(organisation=org).count() == before
    recording.refresh_from_db()
    assert recording.status == LicenceStatus.ACTIVE and recording.base_licence == base
    assert AuditEvent.objects.filter(
        action="licence.restored", target_id=str(recording.pk)
    ).exists()
