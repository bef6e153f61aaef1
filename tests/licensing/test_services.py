"""Licence services: design rules 1-2 (as far as licences go), 11-15, 17 and 18, to the cent."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import lifecycle
from accounts import services as accounts_services
from accounts.models import AuditEvent, MemberStatus
from billing.models import Invoice, InvoiceLineKind
from licensing import services
from licensing.models import Licence, LicencePrice, LicenceStatus
from licensing.selectors import licence_summary
from telecom import errors
from tests.factories import (
    LicenceFactory,
    LineFactory,
    OrganisationFactory,
    UserFactory,
    licence_type,
)

PARIS = dt.timezone(dt.timedelta(hours=1))  # November: Paris is UTC+1
NOV_10_NOON = dt.datetime(2026, 11, 10, 12, 0, tzinfo=PARIS)

pytestmark = pytest.mark.django_db


def set_price(
    code: str, *, monthly: str | None = None, yearly: str | None = None, currency: str = "EUR"
) -> None:
    price = LicencePrice.objects.get(licence_type__code=code, currency=currency)
    if monthly:
        price.monthly = Decimal(monthly)
    if yearly:
        price.yearly = Decimal(yearly)
    price.save()


@pytest.fixture
def org():
    """Monthly, Paris, anchored on the 1st: November 2026 is a 30-day period."""
    return OrganisationFactory(billing_anchor=dt.date(2026, 1, 1), timezone="Europe/Paris")


@pytest.fixture
def actor(org):
    return UserFactory(organisation=org, role="owner")


def buy(org, actor, code="user_standard", quantity=1, at=NOV_10_NOON):
    return services.licences_purchase(
        organisation=org, licence_type=licence_type(code), quantity=quantity, actor=actor, at=at
    )


# --- rule 13: buying, pro rata, restore first ---------------------------------------------------


def test_purchase_on_the_10th_of_a_30_day_period_costs_21_30ths(org, actor):
    set_price("user_standard", monthly="249.95")

    result = buy(org, actor, at=NOV_10_NOON)

    invoice = result.invoice
    [line] = invoice.lines.all()
    assert line.amount == Decimal("174.97")  # 249.95 × 21/30 = 174.965 → half up
    assert line.kind == InvoiceLineKind.PRORATION
    assert (line.period_start, line.period_end) == (dt.date(2026, 11, 10), dt.date(2026, 11, 30))
    assert invoice.subtotal == Decimal("174.97")
    assert invoice.tax == Decimal("34.99")  # 20 % of 174.97 = 34.994
    assert invoice.total == Decimal("209.96")
    assert len(result.purchased) == 1 and result.restored == []


@pytest.mark.parametrize(
    ("day", "expected"), [(1, Decimal("249.95")), (30, Decimal("8.33")), (10, Decimal("174.97"))]
)
def test_purchase_on_first_and_last_day(org, actor, day, expected):
    set_price("user_standard", monthly="249.95")
    at = dt.datetime(2026, 11, day, 0, 30, tzinfo=PARIS)

    result = buy(org, actor, at=at)

    assert result.invoice.subtotal == expected


def test_yearly_purchase_eleven_days_into_the_year(actor):
    org = OrganisationFactory(billing_frequency="yearly", billing_anchor=dt.date(2026, 1, 1))
    set_price("user_standard", yearly="2399.95")
    at = dt.datetime(2026, 1, 12, 9, 0, tzinfo=PARIS)  # 11 days into a 365-day year

    result = buy(org, UserFactory(organisation=org, role="owner"), at=at)

    assert result.invoice.subtotal == Decimal("2327.62")  # 2399.95 × 354/365


def test_purchase_quote_shows_the_same_figures_as_the_invoice(org, actor):
    quote = services.licences_purchase_quote(
        organisation=org, licence_type=licence_type("phone_system"), quantity=3, at=NOV_10_NOON
    )

    invoice = buy(org, actor, "phone_system", 3).invoice

    assert quote.subtotal == invoice.subtotal == Decimal("52.40")  # 3 × 24.95 × 21/30
    assert quote.tax == invoice.tax == Decimal("10.48")
    assert quote.total == invoice.total == Decimal("62.88")
    assert [q.amount for q in quote.lines] == [line.amount for line in invoice.lines.all()]


def test_purchase_restores_scheduled_licences_first_at_no_charge(org, actor):
    buy(org, actor, quantity=3)
    services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=2,
        actor=actor,
        at=NOV_10_NOON,
    )
    invoices_before = Invoice.objects.count()

    quote = services.licences_purchase_quote(
        organisation=org, licence_type=licence_type("user_standard"), quantity=3, at=NOV_10_NOON
    )
    result = buy(org, actor, quantity=3)

    assert (quote.restored, quote.purchased) == (2, 1)
    assert len(result.restored) == 2 and len(result.purchased) == 1
    assert Invoice.objects.count() == invoices_before + 1
    [line] = result.invoice.lines.all()
    assert line.quantity == 1 and line.amount == Decimal("13.30")  # 19.00 × 21/30
    assert Licence.objects.filter(organisation=org, status=LicenceStatus.ACTIVE).count() == 4


def test_restoring_only_issues_no_invoice(org, actor):
    buy(org, actor, quantity=2)
    services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=2,
        actor=actor,
        at=NOV_10_NOON,
    )
    invoices_before = Invoice.objects.count()

    result = buy(org, actor, quantity=2)

    assert result.invoice is None and len(result.restored) == 2
    assert Invoice.objects.count() == invoices_before


@pytest.mark.parametrize("quantity", [0, -1, 1001, "2"])
def test_purchase_rejects_a_bad_quantity_and_changes_nothing(org, actor, quantity):
    with pytest.raises(ValidationError) as info:
        buy(org, actor, quantity=quantity)

    assert "quantity" in info.value.message_dict
    assert not Licence.objects.filter(organisation=org).exists()
    assert not Invoice.objects.filter(organisation=org).exists()


def test_invoice_numbers_are_sequential_per_organisation(org, actor):
    numbers = [buy(org, actor).invoice for _ in range(3)]

    assert [i.sequence for i in numbers] == [1, 2, 3]
    assert numbers[2].number == f"{org.invoice_prefix}-000003"


# --- rule 18: restriction --------------------------------------------------------------------


def test_organisation_without_payment_method_cannot_buy(actor):
    org = OrganisationFactory(payment_method_kind="", payment_method_reference="")

    with pytest.raises(errors.AccountRestricted):
        buy(org, UserFactory(organisation=org, role="owner"))

    assert not Licence.objects.filter(organisation=org).exists()


def test_overdue_invoice_restricts_and_paying_lifts_it(org, actor):
    first = buy(org, actor).invoice  # issued 10 Nov, due 24 Nov
    late = dt.datetime(2026, 11, 25, 9, 0, tzinfo=PARIS)

    with pytest.raises(errors.AccountRestricted):
        buy(org, actor, at=late)
    with pytest.raises(errors.AccountRestricted):  # auto-purchase is buying too
        services.licence_allocate(
            organisation=org,
            licence_type=licence_type("phone_system"),
            member=UserFactory(organisation=org),
            actor=actor,
            at=late,
        )

    Invoice.objects.filter(pk=first.pk).update(status="paid")
    assert buy(org, actor, at=late).invoice.sequence == 2


def test_restricted_organisation_keeps_using_what_it_has(actor):
    org = OrganisationFactory(payment_method_kind="", payment_method_reference="")
    licence = LicenceFactory(organisation=org)
    member = UserFactory(organisation=org)

    services.licence_assign(licence=licence, member=member, actor=actor)

    licence.refresh_from_db()
    assert licence.member == member


# --- rules 1 and 2 (licences): a free licence first, then buy or refuse -------------------------


def test_requirement_example_free_licence_first_then_auto_purchase(org, actor):
    """3 licences, 2 assigned, 1 free: the first new employee is free, the second buys one."""
    licences = buy(org, actor, quantity=3).purchased
    for licence in licences[:2]:
        services.licence_assign(licence=licence, member=UserFactory(organisation=org), actor=actor)
    first, second = UserFactory(organisation=org), UserFactory(organisation=org)

    a = services.licence_allocate(
        organisation=org,
        licence_type=licence_type("user_standard"),
        member=first,
        actor=actor,
        at=NOV_10_NOON,
    )
    b = services.licence_allocate(
        organisation=org,
        licence_type=licence_type("user_standard"),
        member=second,
        actor=actor,
        at=NOV_10_NOON,
    )

    assert a.licence == licences[2] and not a.purchased and a.invoice is None
    assert b.purchased and b.invoice.total == Decimal("15.96")  # 13.30 + 20 % tax
    assert Licence.objects.filter(organisation=org).count() == 4


def test_block_policy_refuses_and_changes_nothing(actor):
    org = OrganisationFactory(licence_policy="block")
    member = UserFactory(organisation=org)

    with pytest.raises(errors.NoLicenceAvailable):
        services.licence_allocate(
            organisation=org, licence_type=licence_type("user_standard"), member=member, actor=actor
        )

    assert not Licence.objects.filter(organisation=org).exists()
    assert not Invoice.objects.filter(organisation=org).exists()


def test_licence_assigned_to_a_line(org, actor):
    line = LineFactory(organisation=org)

    result = services.licence_allocate(
        organisation=org,
        licence_type=licence_type("room_phone"),
        line=line,
        actor=actor,
        at=NOV_10_NOON,
    )

    assert result.licence.line == line and result.licence.member is None


def test_assigning_needs_exactly_one_assignee(org, actor):
    licence = LicenceFactory(organisation=org)
    with pytest.raises(ValidationError):
        services.licence_assign(
            licence=licence,
            member=UserFactory(organisation=org),
            line=LineFactory(organisation=org),
            actor=actor,
        )


def test_assigning_to_another_organisations_member_is_refused(org, actor):
    licence = LicenceFactory(organisation=org)
    stranger = UserFactory()  # another organisation

    with pytest.raises(Licence.DoesNotExist):
        services.licence_assign(licence=licence, member=stranger, actor=actor)

    licence.refresh_from_db()
    assert licence.member is None


def test_unassign_and_reassign(org, actor):
    licence = LicenceFactory(organisation=org)
    alice, bob = UserFactory(organisation=org), UserFactory(organisation=org)

    services.licence_assign(licence=licence, member=alice, actor=actor)
    services.licence_assign(licence=licence, member=bob, actor=actor)
    assert Licence.objects.get(pk=licence.pk).member == bob
    services.licence_unassign(licence=licence, actor=actor)
    assert Licence.objects.get(pk=licence.pk).member is None


# --- rule 11: extensions and add-ons ---------------------------------------------------------


def test_extension_only_on_phone_system_and_unique(org, actor):
    phone_system = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    other = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    user_licence = LicenceFactory(organisation=org)

    services.licence_set_extension(licence=phone_system, extension="101", actor=actor)

    with pytest.raises(errors.ExtensionTaken):
        services.licence_set_extension(licence=other, extension="101", actor=actor)
    with pytest.raises(errors.ExtensionNotSupported):
        services.licence_set_extension(licence=user_licence, extension="102", actor=actor)
    with pytest.raises(ValidationError):
        services.licence_set_extension(licence=other, extension="1O1", actor=actor)
    assert Licence.objects.get(pk=phone_system.pk).extension == "101"
    assert Licence.objects.get(pk=other.pk).extension is None


def test_same_extension_in_two_organisations_is_fine(org, actor):
    mine = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    theirs = LicenceFactory(licence_type=licence_type("phone_system"))
    services.licence_set_extension(licence=mine, extension="101", actor=actor)
    services.licence_set_extension(licence=theirs, extension="101", actor=actor)
    assert Licence.objects.filter(extension="101").count() == 2


def test_addons_consume_free_addon_licences_then_auto_purchase(org, actor):
    base = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    free_ip_phone = LicenceFactory(organisation=org, licence_type=licence_type("device_ip_phone"))

    licence, invoice = services.licence_set_addons(
        licence=base, codes=["device_ip_phone", "call_recording"], actor=actor, at=NOV_10_NOON
    )

    addons = {a.licence_type.code: a for a in licence.addons.all()}
    assert set(addons) == {"device_ip_phone", "call_recording"}
    assert addons["device_ip_phone"] == free_ip_phone
    [line] = invoice.lines.all()
    assert line.licence_type.code == "call_recording"
    assert line.amount == Decimal("3.50")  # 5.00 × 21/30


def test_addons_set_is_the_full_set_and_detached_ones_stay_available(org, actor):
    base = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    services.licence_set_addons(
        licence=base, codes=["team_chat", "call_recording"], actor=actor, at=NOV_10_NOON
    )

    services.licence_set_addons(licence=base, codes=["team_chat"], actor=actor)

    assert [a.licence_type.code for a in base.addons.all()] == ["team_chat"]
    summary = {row["type"]: row for row in licence_summary(organisation=org)}
    assert summary["call_recording"]["available"] == 1


def test_addon_that_does_not_fit_the_base_is_refused(org, actor):
    fax = LicenceFactory(organisation=org, licence_type=licence_type("fax"))

    with pytest.raises(errors.AddonNotAllowed):
        services.licence_set_addons(licence=fax, codes=["call_recording"], actor=actor)
    assert not Licence.objects.filter(organisation=org, base_licence=fax).exists()


def test_unknown_addon_code_is_a_field_error(org, actor):
    base = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    with pytest.raises(ValidationError) as info:
        services.licence_set_addons(licence=base, codes=["flux_capacitor"], actor=actor)
    assert info.value.error_dict["codes"][0].code == "unknown_addon"


def test_addons_under_block_policy_without_free_licence(actor):
    org = OrganisationFactory(licence_policy="block")
    base = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))

    with pytest.raises(errors.NoLicenceAvailable):
        services.licence_set_addons(licence=base, codes=["team_chat"], actor=actor)
    assert not Licence.objects.filter(organisation=org, base_licence=base).exists()


# --- rule 12: the summary ----------------------------------------------------------------------


def test_summary_counts_per_type(org, actor):
    licences = buy(org, actor, quantity=4).purchased
    services.licence_assign(licence=licences[0], member=UserFactory(organisation=org), actor=actor)
    services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=actor,
        at=NOV_10_NOON,
    )
    LicenceFactory(
        organisation=org,
        licence_type=licence_type("user_standard"),
        status=LicenceStatus.TERMINATED,
    )

    [row] = [r for r in licence_summary(organisation=org) if r["type"] == "user_standard"]

    assert row == {
        "type": "user_standard",
        "name": "User licence",
        "kind": "base",
        "total": 4,
        "assigned": 1,
        "available": 2,
        "removal_scheduled": 1,
    }


# --- rules 14 and 15: removal, termination, restore --------------------------------------------


def test_schedule_removal_at_period_end(org, actor):
    buy(org, actor, quantity=3)

    result = services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=2,
        actor=actor,
        at=NOV_10_NOON,
    )

    assert result.effective_on == dt.date(2026, 12, 1)
    assert result.termination_fee == Decimal("0.00")
    scheduled = Licence.objects.filter(organisation=org, status=LicenceStatus.REMOVAL_SCHEDULED)
    assert scheduled.count() == 2
    assert set(scheduled.values_list("removal_effective_on", flat=True)) == {dt.date(2026, 12, 1)}


def test_removal_refused_when_fewer_unassigned_than_asked(org, actor):
    licences = buy(org, actor, quantity=2).purchased
    services.licence_assign(licence=licences[0], member=UserFactory(organisation=org), actor=actor)

    with pytest.raises(errors.NotEnoughUnassignedLicences):
        services.licences_schedule_removal(
            organisation=org,
            licence_type=licence_type("user_standard"),
            quantity=2,
            actor=actor,
        )

    assert not Licence.objects.filter(status=LicenceStatus.REMOVAL_SCHEDULED).exists()


def test_a_scheduled_licence_cannot_be_assigned_but_allocation_restores_it(actor):
    """Rule 14 keeps a scheduled licence from being assigned; obtaining one of its type
    (allocation, rule 13) restores it at no charge, even when the policy refuses purchases."""
    org = OrganisationFactory(
        licence_policy="block", billing_anchor=dt.date(2026, 1, 1), timezone="Europe/Paris"
    )
    with time_machine.travel(NOV_10_NOON):
        [licence] = services.licences_purchase(
            organisation=org, licence_type=licence_type("user_standard"), quantity=1, actor=actor
        ).purchased
        services.licence_terminate(licence=licence, actor=actor)
        member = UserFactory(organisation=org)
        invoices = Invoice.objects.filter(organisation=org).count()

        with pytest.raises(errors.LicenceNotActive):
            services.licence_assign(licence=licence, member=member, actor=actor)
        result = services.licence_allocate(
            organisation=org, licence_type=licence_type("user_standard"), member=member, actor=actor
        )

    assert result.licence.pk == licence.pk and not result.purchased and result.invoice is None
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.ACTIVE and licence.removal_effective_on is None
    assert licence.member == member
    assert Invoice.objects.filter(organisation=org).count() == invoices
    assert AuditEvent.objects.filter(action="licence.restored", target_id=str(licence.pk)).exists()


def test_terminate_assigned_licence_is_refused(org, actor):
    licence = LicenceFactory(organisation=org, member=UserFactory(organisation=org))

    with pytest.raises(errors.LicenceInUse):
        services.licence_terminate(licence=licence, actor=actor)

    assert Licence.objects.get(pk=licence.pk).status == LicenceStatus.ACTIVE


def test_terminate_base_licence_with_addons_is_refused(org, actor):
    base = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    services.licence_set_addons(licence=base, codes=["team_chat"], actor=actor)

    with pytest.raises(errors.LicenceInUse):
        services.licence_terminate(licence=base, actor=actor)


def test_terminate_then_restore(org, actor):
    licence = LicenceFactory(organisation=org)

    with time_machine.travel(NOV_10_NOON):
        services.licence_terminate(licence=licence, actor=actor)
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.REMOVAL_SCHEDULED
    assert licence.removal_effective_on == dt.date(2026, 12, 1)

    services.licence_restore(licence=licence, actor=actor, at=NOV_10_NOON)
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.ACTIVE and licence.removal_effective_on is None
    with pytest.raises(errors.LicenceNotRemovable):
        services.licence_restore(licence=licence, actor=actor, at=NOV_10_NOON)


def test_terminating_twice_is_refused(org, actor):
    licence = LicenceFactory(organisation=org)
    services.licence_terminate(licence=licence, actor=actor)
    with pytest.raises(errors.LicenceNotRemovable):
        services.licence_terminate(licence=licence, actor=actor)


# --- rule 17 and members ----------------------------------------------------------------------


def test_users_are_unlimited_and_not_billed(org, actor):
    for n in range(60):
        accounts_services.member_invite(
            organisation=org, email=f"u{n}@example.com", name=f"U {n}", role="user", actor=actor
        )

    assert org.members.count() == 61
    assert not Invoice.objects.filter(organisation=org).exists()


def test_removing_a_member_keeps_their_licences_unassigned(org, actor):
    member = UserFactory(organisation=org)
    licence = LicenceFactory(organisation=org, member=member)

    lifecycle.member_remove(member=member, actor=actor)

    member.refresh_from_db()
    licence.refresh_from_db()
    assert member.status == MemberStatus.DEACTIVATED
    assert licence.member is None and licence.status == LicenceStatus.ACTIVE


def test_admin_cannot_invite_an_owner(org):
    admin = UserFactory(organisation=org, role="admin")
    with pytest.raises(PermissionDenied):
        accounts_services.member_invite(
            organisation=org, email="x@example.com", name="X", role="owner", actor=admin
        )
    assert not org.members.filter(email="x@example.com").exists()


def test_the_last_owner_cannot_be_removed(org, actor):
    with pytest.raises(ValidationError):
        lifecycle.member_remove(member=actor, actor=actor)


def test_services_write_the_audit_trail(org, actor):
    licence = buy(org, actor).purchased[0]
    services.licence_terminate(licence=licence, actor=actor)

    actions = list(
        AuditEvent.objects.filter(organisation=org, target_id=str(licence.pk)).values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["licence.purchased", "licence.terminated"]
    assert AuditEvent.objects.filter(organisation=org, action="invoice.issued").count() == 1


def test_a_closed_organisation_cannot_restore_or_buy(org, actor):
    from django.utils import timezone

    licence = buy(org, actor).purchased[0]
    services.licence_terminate(licence=licence, actor=actor, at=NOV_10_NOON)
    org.closed_at = timezone.now()
    org.save(update_fields=["closed_at"])

    with pytest.raises(errors.AccountRestricted):
        services.licence_restore(licence=licence, actor=actor)
    with pytest.raises(errors.AccountRestricted):
        buy(org, actor)

    assert Licence.objects.get(pk=licence.pk).status == LicenceStatus.REMOVAL_SCHEDULED


@pytest.mark.parametrize("policy", ["auto_purchase", "block"])
def test_addons_preview_says_what_licence_set_addons_would_do(org, actor, policy):
    base = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    services.licence_set_addons(licence=base, codes=["team_chat"], actor=actor, at=NOV_10_NOON)
    org.licence_policy = policy
    org.save()
    LicenceFactory(organisation=org, licence_type=licence_type("device_ip_phone"))
    LicenceFactory(
        organisation=org,
        licence_type=licence_type("call_recording"),
        status=LicenceStatus.REMOVAL_SCHEDULED,
        removal_effective_on=dt.date(2026, 12, 1),
    )

    options = {
        option.licence_type.code: option
        for option in services.licence_addons_preview(licence=base, at=NOV_10_NOON)
    }

    assert options["team_chat"].source == "attached"
    assert (options["device_ip_phone"].source, options["device_ip_phone"].free) == ("free", 1)
    assert options["call_recording"].source == "restore"  # no charge, so allowed under block
    others = {
        o.source
        for code, o in options.items()
        if code not in {"team_chat", "device_ip_phone", "call_recording"}
    }
    assert others == {"purchase" if policy == "auto_purchase" else "refused"}
    assert (
        not Licence.objects.filter(organisation=org, base_licence=base)
        .exclude(licence_type__code="team_chat")
        .exists()
    )  # nothing attached, restored or bought
