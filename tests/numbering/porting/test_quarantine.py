"""The quarantine lifecycle (rule 6): deleted → quarantined → recovered by staff before the end,
or released to the inventory by the daily job; both through the carrier boundary."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from licensing.models import Licence
from numbering import services
from numbering.carriers import LocalInventoryBackend
from numbering.models import InventoryNumber, NumberAssignment, NumberStatus, PhoneNumber
from numbering.selectors import number_holder
from telecom import errors
from tests.factories import OrganisationFactory, StaffFactory, UserFactory, stock

pytestmark = pytest.mark.django_db
PARIS = dt.timezone(dt.timedelta(hours=1))
NOV_10 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=PARIS)
DEC_10 = dt.date(2026, 12, 10)  # 30 days later: the first day out of quarantine


class RecordingBackend(LocalInventoryBackend):
    calls: list = []

    def release(self, *, e164, country, number_type):
        RecordingBackend.calls.append(("release", e164))
        super().release(e164=e164, country=country, number_type=number_type)

    def recover(self, *, e164, country, number_type):
        RecordingBackend.calls.append(("recover", e164))
        super().recover(e164=e164, country=country, number_type=number_type)


@pytest.fixture
def org():
    return OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))


@pytest.fixture
def owner(org):
    return UserFactory(organisation=org, role="owner")


@pytest.fixture
def recording(settings):
    settings.CARRIER_BACKEND = "tests.numbering.porting.test_quarantine.RecordingBackend"
    RecordingBackend.calls = []
    return RecordingBackend.calls


@pytest.fixture
def deleted(org, owner):
    """A member's number deleted on 10 November: in quarantine until 10 December."""
    stock("FR", "mobile", 3)
    member = UserFactory(organisation=org)
    number = services.number_assign(
        organisation=org, actor=owner, country="FR", number_type="mobile", member=member, at=NOV_10
    ).number
    services.number_delete(number=number, actor=owner, at=NOV_10)
    number.refresh_from_db()
    assert number.quarantine_ends_on == DEC_10
    return number, member


def at_paris(day: dt.date, hour: int = 0, minute: int = 30) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def test_recovery_on_the_last_day_goes_through_the_carrier(deleted, recording):
    number, member = deleted
    recovered = services.number_recover(
        number=number, actor=StaffFactory(), at=at_paris(dt.date(2026, 12, 9), 23, 0)
    )

    assert recovered.status == NumberStatus.ASSIGNED and number_holder(recovered) == (member, None)
    assert recording == [("recover", number.e164)]
    assert not InventoryNumber.objects.filter(e164=number.e164).exists()
    assert NumberAssignment.objects.filter(number=number, ended_at__isnull=True).count() == 1


def test_recovery_after_the_end_is_refused_even_before_the_daily_job(deleted, recording):
    number, _member = deleted

    with pytest.raises(errors.NumberUnavailable) as info:
        services.number_recover(number=number, actor=StaffFactory(), at=at_paris(DEC_10))

    assert "10 Dec 2026" in info.value.detail
    number.refresh_from_db()
    assert number.status == NumberStatus.QUARANTINED and recording == []


def test_recovery_after_release_is_refused(deleted):
    number, _member = deleted
    assert services.numbers_release_quarantined(at=at_paris(DEC_10)) == 1

    with pytest.raises(errors.NumberUnavailable):
        services.number_recover(number=number, actor=StaffFactory(), at=at_paris(DEC_10))


def test_only_platform_staff_recover(deleted, owner):
    number, _member = deleted
    with pytest.raises(PermissionDenied):
        services.number_recover(number=number, actor=owner, at=NOV_10)
    number.refresh_from_db()
    assert number.status == NumberStatus.QUARANTINED


def test_recovery_is_for_the_same_organisation(deleted, other_organisation):
    number, _member = deleted
    stranger = UserFactory(organisation=other_organisation)
    with pytest.raises(Licence.DoesNotExist):
        services.number_recover(number=number, actor=StaffFactory(), member=stranger, at=NOV_10)
    number.refresh_from_db()
    assert number.status == NumberStatus.QUARANTINED


def test_release_is_through_the_carrier_and_idempotent(deleted, recording):
    number, _member = deleted

    with time_machine.travel(at_paris(dt.date(2026, 12, 9), 23, 59), tick=False):
        assert services.numbers_release_quarantined() == 0
    with time_machine.travel(at_paris(DEC_10, 0, 1), tick=False):
        assert services.numbers_release_quarantined() == 1
        assert services.numbers_release_quarantined() == 0
    with time_machine.travel(at_paris(DEC_10, 0, 1) + dt.timedelta(days=3), tick=False):
        assert services.numbers_release_quarantined() == 0

    number.refresh_from_db()
    assert number.status == NumberStatus.RELEASED and number.licence is None
    assert recording == [("release", number.e164)]
    assert InventoryNumber.objects.filter(e164=number.e164).count() == 1


def test_a_released_number_can_be_taken_by_another_organisation(deleted, other_organisation):
    number, _member = deleted
    services.numbers_release_quarantined(at=at_paris(DEC_10))
    other_owner = UserFactory(organisation=other_organisation, role="owner")

    taken = services.number_assign(
        organisation=other_organisation,
        actor=other_owner,
        country="FR",
        number_type="mobile",
        member=other_owner,
        e164=number.e164,
        at=at_paris(DEC_10, 9),
    )

    assert taken.number.e164 == number.e164 and taken.number.pk != number.pk
    assert PhoneNumber.objects.filter(e164=number.e164).count() == 2  # history and the live one
    assert PhoneNumber.objects.filter(e164=number.e164).exclude(status="released").count() == 1


def test_a_recovered_number_is_not_released_later(deleted):
    number, _member = deleted
    services.number_recover(number=number, actor=StaffFactory(), at=NOV_10)

    assert services.numbers_release_quarantined(at=at_paris(DEC_10) + dt.timedelta(days=5)) == 0
    number.refresh_from_db()
    assert number.status == NumberStatus.ASSIGNED


def test_release_waits_for_the_organisations_local_day(owner):
    """The quarantine ends on a local date: a Pacific organisation's number is released a
    local midnight later than a UTC one's."""
    org = OrganisationFactory(
        billing_anchor=dt.date(2026, 1, 1),
        timezone="America/Los_Angeles",
        country="US",
        currency="USD",
    )
    owner = UserFactory(organisation=org, role="owner")
    stock("US", "mobile", 2)
    number = services.number_assign(
        organisation=org, actor=owner, country="US", number_type="mobile", member=owner, at=NOV_10
    ).number
    services.number_delete(number=number, actor=owner, at=NOV_10)
    number.refresh_from_db()
    ends = number.quarantine_ends_on

    utc_midnight = dt.datetime(ends.year, ends.month, ends.day, 1, 0, tzinfo=dt.UTC)
    assert services.numbers_release_quarantined(at=utc_midnight) == 0  # still the day before
    assert services.numbers_release_quarantined(at=utc_midnight + dt.timedelta(hours=8)) == 1


def test_the_daily_job_releases_due_numbers_behind_a_thousand_not_yet_due():
    """1,001 Los Angeles numbers whose quarantine ends on a local date that has not come yet
    come first (by id) among the candidates; the three Paris numbers due behind them are all
    released by the one daily run, not a day later."""
    from numbering.tasks import release_quarantined_numbers

    la = OrganisationFactory(
        billing_anchor=dt.date(2026, 1, 1),
        timezone="America/Los_Angeles",
        country="US",
        currency="USD",
    )
    paris = OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))
    quarantined = {"status": NumberStatus.QUARANTINED, "quarantined_at": NOV_10}
    waiting = [
        PhoneNumber(
            id=f"00000000-0000-0000-0000-{i:012d}",
            organisation=la,
            e164=f"+1415555{i:04d}",
            country="US",
            number_type="mobile",
            quarantine_ends_on=DEC_10,
            **quarantined,
        )
        for i in range(1001)
    ]
    due = [
        PhoneNumber(
            id=f"ffffffff-0000-0000-0000-{i:012d}",
            organisation=paris,
            e164=f"+3361000000{i}",
            country="FR",
            number_type="mobile",
            quarantine_ends_on=DEC_10,
            **quarantined,
        )
        for i in range(3)
    ]
    PhoneNumber.objects.bulk_create(waiting + due)

    # 08:00 in Paris on 10 December, still 9 December (23:00) in Los Angeles.
    released = release_quarantined_numbers(as_of="2026-12-10T07:00:00+00:00")

    assert released == 3
    assert set(
        PhoneNumber.objects.filter(status=NumberStatus.RELEASED).values_list("e164", flat=True)
    ) == {n.e164 for n in due}
    assert InventoryNumber.objects.filter(country="FR").count() == 3
    assert (
        PhoneNumber.objects.filter(organisation=la, status=NumberStatus.QUARANTINED).count() == 1001
    )
