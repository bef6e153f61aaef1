"""`numbers_assign`: a batch of new numbers follows rules 1-5 and 18 exactly as one number at a
time does, all or none, in the same statements whatever its size."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from billing.models import Invoice
from licensing.models import Licence
from numbering import services
from numbering.models import InventoryNumber, NumberAssignment, PhoneNumber
from numbering.services import NumberRequest
from telecom import errors
from tests.factories import (
    LicenceFactory,
    OrganisationFactory,
    UserFactory,
    licence_type,
    stock,
)

pytestmark = pytest.mark.django_db
PARIS = dt.timezone(dt.timedelta(hours=1))
NOV_10 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=PARIS)


@pytest.fixture
def org():
    return OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))


@pytest.fixture
def owner(org):
    return UserFactory(organisation=org, role="owner")


@pytest.fixture(autouse=True)
def inventory(db):
    return {"mobile": stock("FR", "mobile", 60), "landline": stock("FR", "landline", 10)}


def assign_all(org, owner, requests):
    return services.numbers_assign(organisation=org, actor=owner, requests=requests, at=NOV_10)


def mobile(member, **kwargs):
    return NumberRequest(country="FR", number_type="mobile", member=member, **kwargs)


def nothing_written(org, stock_before: int) -> bool:
    return (
        not PhoneNumber.objects.filter(organisation=org).exists()
        and not Invoice.objects.filter(organisation=org).exists()
        and not NumberAssignment.objects.filter(organisation=org).exists()
        and InventoryNumber.objects.count() == stock_before
    )


def test_free_licences_first_then_one_invoice_for_the_licences_bought(org, owner, inventory):
    """The requirement's example as a batch: 1 free licence, 3 new employees. The first takes the
    free licence at no cost; the other two buy theirs, on one pro rata invoice."""
    free = LicenceFactory(organisation=org)
    members = [UserFactory(organisation=org) for _ in range(3)]

    results = assign_all(org, owner, [mobile(m) for m in members])

    assert [r.licence_purchased for r in results] == [False, True, True]
    assert results[0].licence == free and results[0].invoice is None
    invoice = results[1].invoice
    assert results[2].invoice == invoice
    assert invoice.subtotal == Decimal("26.60")  # 2 × 19.00 × 21/30
    assert [r.number.e164 for r in results] == inventory["mobile"][:3]  # in number order
    for member, result in zip(members, results, strict=True):
        licence = Licence.objects.get(pk=result.licence.pk)
        assert licence.member == member
        assert (licence.numbers_received, licence.number_changes_used) == (1, 0)
        assert PhoneNumber.objects.get(pk=result.number.pk).licence == licence
        history = NumberAssignment.objects.get(number=result.number)
        assert (history.member, history.licence, history.ended_at) == (member, licence, None)
    assert AuditEvent.objects.filter(organisation=org, action="number.assigned").count() == 3
    assert AuditEvent.objects.filter(organisation=org, action="licence.purchased").count() == 2
    assert not InventoryNumber.objects.filter(e164__in=[r.number.e164 for r in results]).exists()


def test_a_batch_sees_its_own_numbers_on_a_multi_number_licence(org, owner):
    """Rule 2 inside a batch: the second and third numbers find the slots the first one's
    licence still has; the landline goes on the same licence."""
    member = UserFactory(organisation=org)
    multi = LicenceFactory(
        organisation=org, licence_type=licence_type("user_multi_mobile"), member=member
    )
    LicenceFactory(organisation=org)  # free, and not needed

    results = assign_all(
        org,
        owner,
        [
            mobile(member),
            mobile(member),
            mobile(member),
            NumberRequest(country="FR", number_type="landline", member=member),
        ],
    )

    assert {r.licence for r in results} == {multi}
    multi.refresh_from_db()
    assert (multi.numbers_received, multi.number_changes_used) == (4, 0)


def test_a_licence_bought_in_the_batch_serves_the_same_members_next_number(org, owner):
    org.default_licence_type = licence_type("user_multi_mobile")
    org.save()
    member = UserFactory(organisation=org)

    results = assign_all(org, owner, [mobile(member), mobile(member)])

    assert [r.licence_purchased for r in results] == [True, False]
    assert results[0].licence == results[1].licence
    assert Licence.objects.filter(organisation=org).count() == 1
    assert results[0].invoice.lines.get().quantity == 1


def test_the_plan_cap_counts_the_batch_and_names_the_member(org, owner, inventory):
    """Rule 5: connect allows 5 numbers per member; the sixth in one batch refuses the batch."""
    member = UserFactory(organisation=org, name="Cap Member")
    stock_before = InventoryNumber.objects.count()

    with pytest.raises(errors.PlanNumberLimitReached, match=r"^Cap Member"):
        assign_all(org, owner, [mobile(member) for _ in range(6)])

    assert nothing_written(org, stock_before)
    assert not Licence.objects.filter(organisation=org).exists()
    assert len(assign_all(org, owner, [mobile(member) for _ in range(5)])) == 5


def test_block_policy_refuses_the_whole_batch_when_licences_run_out(owner):
    org = OrganisationFactory(licence_policy="block")
    owner = UserFactory(organisation=org, role="owner")
    LicenceFactory(organisation=org)
    LicenceFactory(organisation=org)
    members = [UserFactory(organisation=org) for _ in range(3)]
    stock_before = InventoryNumber.objects.count()

    with pytest.raises(errors.NoLicenceAvailable, match=f"^{members[2]}"):
        assign_all(org, owner, [mobile(m) for m in members])

    assert nothing_written(org, stock_before)
    assert Licence.objects.filter(organisation=org, member__isnull=False).count() == 0
    assert len(assign_all(org, owner, [mobile(m) for m in members[:2]])) == 2


def test_a_free_licence_without_changes_left_is_passed_over(org, owner):
    spent = LicenceFactory(organisation=org, numbers_received=6, number_changes_used=5)
    fresh = LicenceFactory(organisation=org)
    members = [UserFactory(organisation=org) for _ in range(2)]

    results = assign_all(org, owner, [mobile(m) for m in members])

    assert results[0].licence == fresh
    assert results[1].licence_purchased and results[1].licence != spent


def test_too_few_numbers_in_stock_refuses_the_batch(org, owner):
    members = [UserFactory(organisation=org) for _ in range(11)]
    stock_before = InventoryNumber.objects.count()

    with pytest.raises(errors.NumberUnavailable, match="Only 10 landline numbers"):
        assign_all(
            org,
            owner,
            [NumberRequest(country="FR", number_type="landline", member=m) for m in members],
        )

    assert nothing_written(org, stock_before)


def test_named_numbers_and_any_number_mix(org, owner, inventory):
    wanted = inventory["mobile"][-1]
    first, second = UserFactory(organisation=org), UserFactory(organisation=org)

    results = assign_all(org, owner, [mobile(first), mobile(second, e164=wanted)])

    assert [r.number.e164 for r in results] == [inventory["mobile"][0], wanted]


def test_another_organisations_member_refuses_the_batch_and_changes_nothing(org, owner):
    stranger = UserFactory(organisation=OrganisationFactory())
    stock_before = InventoryNumber.objects.count()

    with pytest.raises(Licence.DoesNotExist):
        assign_all(org, owner, [mobile(UserFactory(organisation=org)), mobile(stranger)])

    assert nothing_written(org, stock_before)
    assert not PhoneNumber.objects.filter(organisation=stranger.organisation).exists()


def test_an_invalid_request_names_the_holder(org, owner):
    member = UserFactory(organisation=org, name="Bad Request")
    with pytest.raises(ValidationError) as refused:
        assign_all(
            org,
            owner,
            [mobile(UserFactory(organisation=org)), NumberRequest("ZZ", "mobile", member=member)],
        )
    assert refused.value.messages == [
        f"{member}: Numbers are offered in BE, DE, ES, FR, GB, IT, US."
    ]


def test_an_empty_batch_does_nothing(org, owner):
    assert assign_all(org, owner, []) == []


@pytest.mark.parametrize("policy_free", [True, False], ids=["free licences", "auto-purchase"])
def test_the_same_statements_for_5_numbers_or_40(policy_free):
    def run(size: int) -> int:
        org = OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))
        owner = UserFactory(organisation=org, role="owner")
        members = [UserFactory(organisation=org) for _ in range(size)]
        if policy_free:
            for _ in range(size):
                LicenceFactory(organisation=org)
        with CaptureQueriesContext(connection) as queries:
            results = assign_all(org, owner, [mobile(m) for m in members])
        assert len({r.licence.pk for r in results}) == size
        assert all(r.licence_purchased is not policy_free for r in results)
        return len(queries)

    # With the read of licences a purchase would restore first, and of the billing details whose
    # VAT treatment the review shows (billing.profile.vat_preview).
    assert run(5) == run(40) <= 26
