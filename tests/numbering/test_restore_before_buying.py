"""Rule 13 on every number path: with no free licence, one of the type scheduled for removal (and
not yet removed) is restored at no charge before anything is bought; the previews say so."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from billing.models import Invoice
from licensing import services as licensing
from licensing.models import Licence, LicenceStatus
from numbering import porting, services
from numbering.models import PhoneNumber
from tests.factories import LicenceFactory, OrganisationFactory, StaffFactory, UserFactory, stock

pytestmark = pytest.mark.django_db
PARIS = dt.timezone(dt.timedelta(hours=1))
NOV_9 = dt.datetime(2026, 11, 9, 10, 0, tzinfo=PARIS)  # a Monday
NOV_10 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=PARIS)
DEC_1_0030 = dt.datetime(2026, 12, 1, 0, 30, tzinfo=PARIS)  # the removals took effect
MOBILE, MOBILE_RIO = "+33612345678", "02P000001K9X"


@pytest.fixture
def org():
    return OrganisationFactory(billing_anchor=dt.date(2026, 1, 1), timezone="Europe/Paris")


@pytest.fixture
def owner(org):
    return UserFactory(organisation=org, role="owner")


@pytest.fixture(autouse=True)
def inventory(db):
    return stock("FR", "mobile", 10)


def scheduled(org, owner, count=1, at=NOV_9):
    """`count` user licences terminated: scheduled for removal on 1 Dec 2026."""
    licences = [LicenceFactory(organisation=org) for _ in range(count)]
    for licence in licences:
        licensing.licence_terminate(licence=licence, actor=owner, at=at)
    return licences


def state(org):
    return (
        Invoice.objects.filter(organisation=org).count(),
        Licence.objects.filter(organisation=org).count(),
    )


def restored_audited(licence) -> bool:
    return AuditEvent.objects.filter(action="licence.restored", target_id=str(licence.pk)).exists()


def test_assigning_a_number_restores_a_scheduled_licence_at_no_charge(org, owner):
    [licence] = scheduled(org, owner)
    member = UserFactory(organisation=org)
    before = state(org)

    preview = services.number_assign_preview(
        organisation=org, country="FR", number_type="mobile", member=member, at=NOV_10
    )
    result = services.number_assign(
        organisation=org, actor=owner, country="FR", number_type="mobile", member=member, at=NOV_10
    )

    assert preview.source == "restore" and preview.licence_restored
    assert preview.quote.restore_note == (
        "1 licence scheduled for removal will be restored, no charge."
    )
    assert preview.quote.total == Decimal("0.00")
    assert result.licence.pk == licence.pk
    assert result.licence_restored and not result.licence_purchased and result.invoice is None
    assert state(org) == before  # no invoice, no new licence
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.ACTIVE and licence.removal_effective_on is None
    assert licence.member == member and licence.numbers_received == 1
    assert restored_audited(licence)
    event = AuditEvent.objects.get(action="number.assigned", target_id=str(result.number.pk))
    assert event.changes["licence_restored"] is True
    assert event.changes["licence_purchased"] is False


def test_a_free_licence_is_taken_before_a_scheduled_one(org, owner):
    [licence] = scheduled(org, owner)
    free = LicenceFactory(organisation=org)

    result = services.number_assign(
        organisation=org,
        actor=owner,
        country="FR",
        number_type="mobile",
        member=UserFactory(organisation=org),
        at=NOV_10,
    )

    assert result.licence.pk == free.pk and not result.licence_restored
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.REMOVAL_SCHEDULED


def test_block_policy_still_restores(org, owner):
    org.licence_policy = "block"
    org.save()
    [licence] = scheduled(org, owner)

    result = services.number_assign(
        organisation=org,
        actor=owner,
        country="FR",
        number_type="mobile",
        member=UserFactory(organisation=org),
        at=NOV_10,
    )

    assert result.licence.pk == licence.pk and result.licence_restored


def test_after_the_removal_took_effect_a_licence_is_bought(org, owner):
    [licence] = scheduled(org, owner)

    result = services.number_assign(
        organisation=org,
        actor=owner,
        country="FR",
        number_type="mobile",
        member=UserFactory(organisation=org),
        at=DEC_1_0030,
    )

    assert result.licence_purchased and result.licence.pk != licence.pk
    assert result.invoice.subtotal == Decimal("19.00")  # December, every day left
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.REMOVAL_SCHEDULED


def test_a_batch_restores_what_it_can_then_buys_the_rest_and_the_preview_says_so(org, owner):
    licences = scheduled(org, owner, count=2)
    members = [UserFactory(organisation=org) for _ in range(3)]
    requests = [
        services.NumberRequest(country="FR", number_type="mobile", member=m) for m in members
    ]

    preview = services.numbers_assign_preview(organisation=org, requests=requests, at=NOV_10)
    results = services.numbers_assign(organisation=org, actor=owner, requests=requests, at=NOV_10)

    assert preview.licences_restored == 2 and preview.licences_bought == 1
    assert preview.quote.restore_note == (
        "2 licences scheduled for removal will be restored, no charge."
    )
    # One licence bought on 10 Nov: 19.00 × 21/30 = 13.30, and 20 % tax.
    assert (preview.quote.subtotal, preview.quote.total) == (Decimal("13.30"), Decimal("15.96"))
    assert [r.licence_restored for r in results] == [True, True, False]
    assert {r.licence.pk for r in results[:2]} == {licence.pk for licence in licences}
    [invoice] = Invoice.objects.filter(organisation=org)
    assert invoice.total == preview.quote.total  # the preview's amount is what is billed
    assert all(restored_audited(licence) for licence in licences)


def test_recovering_a_quarantined_number_restores_a_scheduled_licence(org, owner):
    member = UserFactory(organisation=org)
    assigned = services.number_assign(
        organisation=org, actor=owner, country="FR", number_type="mobile", member=member, at=NOV_9
    )
    services.number_delete(number=assigned.number, actor=owner, at=NOV_9)
    licensing.licence_unassign(licence=assigned.licence, actor=owner)
    licensing.licence_terminate(licence=assigned.licence, actor=owner, at=NOV_9)
    before = state(org)

    number = services.number_recover(number=assigned.number, actor=StaffFactory(), at=NOV_10)

    assert number.licence_id == assigned.licence.pk
    assert state(org) == before
    licence = Licence.objects.get(pk=assigned.licence.pk)
    assert licence.status == LicenceStatus.ACTIVE and licence.member == member
    assert restored_audited(licence)


def test_a_porting_reservation_restores_a_scheduled_licence(org, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    [licence] = scheduled(org, owner)
    member = UserFactory(organisation=org)
    before = state(org)

    request = porting.porting_request_create(
        organisation=org,
        actor=owner,
        e164=MOBILE,
        number_type="mobile",
        member=member,
        porting_date=dt.date(2026, 11, 13),
        rio=MOBILE_RIO,
        at=NOV_10,
    )

    assert request.licence_id == licence.pk and request.purchase_invoice is None
    assert state(org) == before
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.ACTIVE and licence.member == member
    assert restored_audited(licence)
    assert PhoneNumber.objects.get(e164=MOBILE).licence_id == licence.pk
    assert "restored at no charge" in request.events.get().note
