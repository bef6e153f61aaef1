"""Number services: design rules 1-10 with exact expectations."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import lifecycle
from billing.models import Invoice
from licensing import services as licensing_services
from licensing.models import Licence, LicenceStatus
from numbering import services
from numbering.models import InventoryNumber, NumberAssignment, NumberStatus, PhoneNumber
from numbering.selectors import number_holder, numbers_held_by
from telecom import errors
from tests.factories import (
    LicenceFactory,
    LineFactory,
    OrganisationFactory,
    StaffFactory,
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
    return {
        "mobile": stock("FR", "mobile", 30),
        "landline": stock("FR", "landline", 10),
        "toll_free": stock("FR", "toll_free", 3),
    }


def assign(org, owner, member=None, *, number_type="mobile", line=None, **kwargs):
    kwargs.setdefault("at", NOV_10)
    return services.number_assign(
        organisation=org,
        actor=owner,
        country="FR",
        number_type=number_type,
        member=member,
        line=line,
        **kwargs,
    )


# --- rules 1 and 2 ----------------------------------------------------------------------------


def test_requirement_example_auto_purchase(org, owner):
    """3 licences, 2 numbers assigned, 1 licence free: the first new employee uses the free
    licence at no cost, the second buys one, charged pro rata."""
    free = LicenceFactory(organisation=org)
    for _ in range(2):
        assign(org, owner, UserFactory(organisation=org), licence=LicenceFactory(organisation=org))
    first, second = UserFactory(organisation=org), UserFactory(organisation=org)

    a = assign(org, owner, first)
    b = assign(org, owner, second)

    assert a.licence == free and not a.licence_purchased and a.invoice is None
    assert b.licence_purchased
    assert b.invoice.subtotal == Decimal("13.30")  # 19.00 × 21/30
    assert Licence.objects.filter(organisation=org).count() == 4
    assert PhoneNumber.objects.filter(organisation=org, status="assigned").count() == 4


def test_requirement_example_block(owner):
    org = OrganisationFactory(licence_policy="block")
    owner = UserFactory(organisation=org, role="owner")
    LicenceFactory(organisation=org)
    for _ in range(2):
        assign(org, owner, UserFactory(organisation=org), licence=LicenceFactory(organisation=org))
    first, second = UserFactory(organisation=org), UserFactory(organisation=org)
    assign(org, owner, first)
    stock_before = InventoryNumber.objects.count()

    with pytest.raises(errors.NoLicenceAvailable):
        assign(org, owner, second)

    assert not numbers_held_by(member=second).exists()
    assert InventoryNumber.objects.count() == stock_before
    assert Licence.objects.filter(organisation=org).count() == 3


def test_rule_2_member_licence_with_free_slot_first(org, owner):
    member = UserFactory(organisation=org)
    multi = LicenceFactory(
        organisation=org, licence_type=licence_type("user_multi_mobile"), member=member
    )
    LicenceFactory(organisation=org)  # a free licence that must not be used

    results = [assign(org, owner, member) for _ in range(3)]
    results.append(assign(org, owner, member, number_type="landline"))

    assert {r.licence for r in results} == {multi}
    assert not any(r.licence_purchased for r in results)
    multi.refresh_from_db()
    assert multi.number_changes_used == 0 and multi.numbers_received == 4


def test_rule_3_multi_mobile_licence_full(org, owner):
    member = UserFactory(organisation=org)
    multi = LicenceFactory(
        organisation=org, licence_type=licence_type("user_multi_mobile"), member=member
    )
    for _ in range(3):
        assign(org, owner, member, licence=multi)

    with pytest.raises(errors.LicenceFull):
        assign(org, owner, member, licence=multi)
    with pytest.raises(errors.LicenceFull):
        assign(org, owner, member, licence=multi, number_type="toll_free")
    assert multi.numbers.count() == 3


def test_rule_3_standard_licence_holds_one_number(org, owner):
    member = UserFactory(organisation=org)
    licence = LicenceFactory(organisation=org, member=member)
    assign(org, owner, member, licence=licence)

    with pytest.raises(errors.LicenceFull):
        assign(org, owner, member, licence=licence, number_type="landline")

    second = assign(org, owner, member, number_type="landline")  # rule 2 buys another
    assert second.licence != licence and second.licence_purchased


def test_assign_to_a_line_uses_the_line_kind_licence(org, owner):
    line = LineFactory(organisation=org, kind="room_phone")

    result = assign(org, owner, line=line, number_type="landline")

    assert result.licence.licence_type.code == "room_phone" and result.licence.line == line
    assert number_holder(result.number) == (None, line)


def test_assign_a_given_available_number(org, owner, inventory):
    wanted = inventory["mobile"][7]
    result = assign(org, owner, UserFactory(organisation=org), e164=wanted)
    assert result.number.e164 == wanted
    assert not InventoryNumber.objects.filter(e164=wanted).exists()


def test_assign_an_unavailable_or_invalid_number(org, owner):
    member = UserFactory(organisation=org)
    with pytest.raises(errors.NumberUnavailable):
        assign(org, owner, member, e164="+33699999999")
    with pytest.raises(ValidationError) as info:
        assign(org, owner, member, e164="+33 6 12")
    assert info.value.error_dict["e164"][0].code == "invalid_number"
    with pytest.raises(ValidationError):
        assign(org, owner, member, e164="+33123456789")  # a landline declared as mobile
    assert not Licence.objects.filter(organisation=org).exists()


def test_no_number_left_in_stock(org, owner, inventory):
    member = UserFactory(organisation=org, role="user")
    for _ in range(3):
        assign(org, owner, UserFactory(organisation=org), number_type="toll_free")
    with pytest.raises(errors.NumberUnavailable):
        assign(org, owner, member, number_type="toll_free")
    assert not Licence.objects.filter(organisation=org, member=member).exists()


# --- rule 4 -----------------------------------------------------------------------------------


def test_rule_4_a_number_is_live_once(org, owner, inventory):
    taken = assign(org, owner, UserFactory(organisation=org)).number.e164
    InventoryNumber.objects.create(e164=taken, country="FR", number_type="mobile")  # bad stock
    other_org = OrganisationFactory()

    with pytest.raises(errors.NumberUnavailable):
        services.number_assign(
            organisation=other_org,
            actor=UserFactory(organisation=other_org),
            country="FR",
            number_type="mobile",
            member=UserFactory(organisation=other_org),
            e164=taken,
        )
    assert PhoneNumber.objects.filter(e164=taken).count() == 1


# --- rule 5 -----------------------------------------------------------------------------------


def test_rule_5_plan_cap(org, owner):
    member = UserFactory(organisation=org)  # connect plan: 5 numbers
    for _ in range(5):
        assign(org, owner, member)

    with pytest.raises(errors.PlanNumberLimitReached):
        assign(org, owner, member)
    assert numbers_held_by(member=member).count() == 5


# --- rule 6 -----------------------------------------------------------------------------------


def test_rule_6_delete_quarantines_and_keeps_the_licence(org, owner):
    member = UserFactory(organisation=org)
    result = assign(org, owner, member)

    number = services.number_delete(number=result.number, actor=owner, at=NOV_10)

    assert number.status == NumberStatus.QUARANTINED and number.licence is None
    assert number.quarantine_ends_on == dt.date(2026, 12, 10)
    licence = Licence.objects.get(pk=result.licence.pk)
    assert licence.member == member and licence.status == LicenceStatus.ACTIVE
    again = assign(org, owner, member)  # the slot is free again: no purchase
    assert again.licence == licence and not again.licence_purchased


def test_rule_6_recover_by_platform_staff_only(org, owner):
    member = UserFactory(organisation=org)
    number = assign(org, owner, member).number
    services.number_delete(number=number, actor=owner, at=NOV_10)

    with pytest.raises(PermissionDenied):
        services.number_recover(number=number, actor=owner)
    recovered = services.number_recover(number=number, actor=StaffFactory(), at=NOV_10)

    assert recovered.status == NumberStatus.ASSIGNED
    assert number_holder(recovered) == (member, None)


def test_rule_6_release_after_quarantine(org, owner):
    number = assign(org, owner, UserFactory(organisation=org)).number
    services.number_delete(number=number, actor=owner, at=NOV_10)

    assert services.numbers_release_quarantined(at=NOV_10 + dt.timedelta(days=29)) == 0
    assert services.numbers_release_quarantined(at=NOV_10 + dt.timedelta(days=30)) == 1
    assert services.numbers_release_quarantined(at=NOV_10 + dt.timedelta(days=31)) == 0

    number.refresh_from_db()
    assert number.status == NumberStatus.RELEASED
    assert InventoryNumber.objects.filter(e164=number.e164).exists()


# --- rule 7 -----------------------------------------------------------------------------------


@pytest.mark.time_machine(NOV_10 + dt.timedelta(days=10), tick=False)
def test_rule_7_reassign_moves_the_licence_with_a_single_number(org, owner):
    alice, bob = UserFactory(organisation=org), UserFactory(organisation=org)
    result = assign(org, owner, alice)
    licences_before = Licence.objects.count()

    number = services.number_reassign(number=result.number, member=bob, actor=owner)

    assert number.licence == result.licence
    assert Licence.objects.get(pk=result.licence.pk).member == bob
    assert Licence.objects.count() == licences_before
    history = list(NumberAssignment.objects.filter(number=number).order_by("started_at", "id"))
    assert [h.member for h in history] == [alice, bob]
    assert history[0].ended_at is not None and history[1].ended_at is None


def test_rule_7_reassign_from_a_shared_licence_uses_a_slot_of_the_target(org, owner):
    alice, bob = UserFactory(organisation=org), UserFactory(organisation=org)
    multi = LicenceFactory(
        organisation=org, licence_type=licence_type("user_multi_mobile"), member=alice
    )
    first = assign(org, owner, alice, licence=multi).number
    assign(org, owner, alice, licence=multi)
    bobs = LicenceFactory(organisation=org, member=bob)

    moved = services.number_reassign(number=first, member=bob, actor=owner)

    assert moved.licence == bobs
    assert Licence.objects.get(pk=multi.pk).member == alice


def test_rule_7_target_plan_cap(org, owner):
    alice, bob = UserFactory(organisation=org), UserFactory(organisation=org)
    for _ in range(5):
        assign(org, owner, bob)
    number = assign(org, owner, alice).number

    with pytest.raises(errors.PlanNumberLimitReached):
        services.number_reassign(number=number, member=bob, actor=owner)
    assert number_holder(PhoneNumber.objects.get(pk=number.pk)) == (alice, None)


# --- rule 8 -----------------------------------------------------------------------------------


def test_rule_8_five_changes_then_refused(org, owner):
    member = UserFactory(organisation=org)
    number = assign(org, owner, member).number
    licence = number.licence

    for _ in range(5):
        number = services.number_change(number=number, actor=owner, at=NOV_10)
    with pytest.raises(errors.NumberChangeLimitReached):
        services.number_change(number=number, actor=owner, at=NOV_10)

    licence.refresh_from_db()
    assert licence.number_changes_used == 5
    assert PhoneNumber.objects.get(pk=number.pk).status == NumberStatus.ASSIGNED
    assert PhoneNumber.objects.filter(organisation=org, status="quarantined").count() == 5


def test_rule_8_delete_and_reassign_on_the_same_licence_counts(org, owner):
    member = UserFactory(organisation=org)
    number = assign(org, owner, member).number
    for _ in range(5):
        services.number_delete(number=number, actor=owner, at=NOV_10)
        number = assign(org, owner, member).number  # same licence, a change each time
    services.number_delete(number=number, actor=owner, at=NOV_10)

    sixth = assign(org, owner, member)  # the old licence has no change left: rule 2 buys one

    assert sixth.licence_purchased
    assert sixth.licence != number.licence


# --- rule 9 -----------------------------------------------------------------------------------


def test_rule_9_removing_a_member_keeps_licence_and_numbers_together(org, owner):
    member = UserFactory(organisation=org)
    result = assign(org, owner, member)

    lifecycle.member_remove(member=member, actor=owner)

    licence = Licence.objects.get(pk=result.licence.pk)
    number = PhoneNumber.objects.get(pk=result.number.pk)
    assert licence.member is None and number.licence == licence
    assert number.status == NumberStatus.ASSIGNED
    # The licence is not "free" for someone else's new number: it waits with its number.
    newcomer = assign(org, owner, UserFactory(organisation=org))
    assert newcomer.licence != licence
    # Reassigning the licence gives the number to the new holder.
    heir = UserFactory(organisation=org)
    licensing_services.licence_assign(licence=licence, member=heir, actor=owner)
    assert number_holder(PhoneNumber.objects.get(pk=number.pk)) == (heir, None)


def test_licence_holding_numbers_cannot_be_terminated(org, owner):
    member = UserFactory(organisation=org)
    result = assign(org, owner, member)
    licensing_services.licence_unassign(licence=result.licence, actor=owner)

    with pytest.raises(errors.LicenceInUse):
        licensing_services.licence_terminate(licence=result.licence, actor=owner)


# --- rule 18 ----------------------------------------------------------------------------------


def test_rule_18_restricted_cannot_assign_new_numbers(owner):
    org = OrganisationFactory(payment_method_kind="", payment_method_reference="")
    LicenceFactory(organisation=org)

    with pytest.raises(errors.AccountRestricted):
        assign(org, UserFactory(organisation=org, role="owner"), UserFactory(organisation=org))
    assert not PhoneNumber.objects.filter(organisation=org).exists()


def test_audit_records_number_changes(org, owner):
    from accounts.models import AuditEvent

    number = assign(org, owner, UserFactory(organisation=org)).number
    services.number_delete(number=number, actor=owner, at=NOV_10)
    actions = set(
        AuditEvent.objects.filter(target_id=str(number.pk)).values_list("action", flat=True)
    )
    assert actions == {"number.assigned", "number.deleted"}
    assert Invoice.objects.filter(organisation=org).count() == 1
