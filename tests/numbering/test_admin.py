"""Numbers in the console: the list, the number's page, the flows (assign with a review,
reassign, change, delete, recover), the dashboard and search, and tenancy attacks on all of them.
Also the review's service, `number_assign_preview`, against what `number_assign` then does."""

import datetime as dt
import html
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.views.main import SEARCH_VAR
from django.urls import reverse

from accounts.models import AuditEvent
from billing.models import Invoice
from licensing import services as licensing_services
from licensing.models import Licence
from numbering import services
from numbering.models import InventoryNumber, NumberAssignment, NumberStatus, PhoneNumber
from numbering.selectors import number_holder
from telecom import errors
from tests.admin.conftest import (
    SHARE_WORLDS,
    assert_none_of,
    build_world,
    db_state,
    messages_of,
    shared_worlds,  # noqa: F401 (a fixture: this module is outside tests/admin)
    world_of,
    worlds_clock,  # noqa: F401 (a fixture, likewise)
)
from tests.factories import (
    LicenceFactory,
    LineFactory,
    OrganisationFactory,
    UserFactory,
    licence_type,
    stock,
)

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]

PARIS = ZoneInfo("Europe/Paris")
# A 30-day period (November, anchored on the 1st) with 21 days left, as in docs/rules.md's example.
NOV_10 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=PARIS)
# The shared worlds are built at this instant, whichever test comes first (one pinned to another
# day would otherwise date their invoices, and a later test at today's date would find them
# overdue), and the module's unpinned tests run on from it (tests/admin/conftest.py).
WORLDS_BUILT_AT = NOV_10


def page_text(response) -> str:
    """The page as a person reads it (entities decoded: "Mia's", not "Mia&#x27;s")."""
    return html.unescape(response.content.decode())


def url(name: str, *args) -> str:
    return reverse(f"admin:numbering_phonenumber_{name}", args=args)


def state() -> dict:
    return {
        **db_state(),
        "numbers": list(PhoneNumber.objects.order_by("pk").values()),
        "history": list(NumberAssignment.objects.order_by("pk").values()),
        "inventory": InventoryNumber.objects.count(),
    }


def with_numbers(world, *, start: int):
    """A world of tests.admin.conftest (its user holds a mobile on their user licence), plus: the
    line's landline (on its room licence) and a quarantined number."""
    stock("FR", "mobile", 10, start=start)
    stock("FR", "landline", 5, start=start)
    world.mobile = PhoneNumber.objects.get(licence=world.assigned)
    world.landline = services.number_assign(
        organisation=world.organisation,
        actor=world.owner,
        country="FR",
        number_type="landline",
        line=world.line,
    ).number
    deleted = services.number_assign(
        organisation=world.organisation,
        actor=world.owner,
        country="FR",
        number_type="mobile",
        member=world.admin,
        licence=world.free,
    ).number
    world.quarantined = services.number_delete(number=deleted, actor=world.owner)
    world.texts += [
        world.mobile.e164,
        world.landline.e164,
        world.quarantined.e164,
        str(world.mobile.pk),
        str(world.landline.pk),
        str(world.quarantined.pk),
    ]
    return world


def build_worlds():
    """The module's worlds, built once for all its tests (tests/admin/conftest.py)."""
    return {
        "a": with_numbers(build_world("zorblax", extension="101"), start=1000),
        "b": with_numbers(build_world("quimby", extension="101", number_start=50), start=2000),
    }


@pytest.fixture
def world_a(request, db):
    return world_of(request, "a")


@pytest.fixture
def world_b(request, db):
    return world_of(request, "b")


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_numbers_their_holder_and_licence(client, world_a):
    client.force_login(world_a.owner)

    text = page_text(client.get(url("changelist")))

    for number in (world_a.mobile, world_a.landline, world_a.quarantined):
        assert str(number) in text  # "+33 6 20 00 00 00"
    assert "zorblax-user" in text and "zorblax-reception" in text
    assert str(world_a.assigned) in text  # the mobile's licence
    assert "Assign a number" in text and 'name="action"' in text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"country": "FR"}, {"mobile", "landline", "quarantined"}),
        ({"number_type__exact": "landline"}, {"landline"}),
        ({"status__exact": "quarantined"}, {"quarantined"}),
        ({"member": "{user}"}, {"mobile"}),
        ({"licence": "{assigned}"}, {"mobile"}),
        ({SEARCH_VAR: "zorblax-user"}, {"mobile"}),
        ({SEARCH_VAR: "{mobile_spaced}"}, {"mobile"}),
        ({SEARCH_VAR: "reception"}, {"landline"}),
    ],
)
def test_list_filters_and_search(client, world_a, params, expected):
    client.force_login(world_a.owner)
    refs = {
        "user": world_a.user.pk,
        "assigned": world_a.assigned.pk,
        "mobile_spaced": str(world_a.mobile),  # "+33 6 20 00 00 00"
    }
    names = {
        str(world_a.mobile): "mobile",
        str(world_a.landline): "landline",
        str(world_a.quarantined): "quarantined",
    }

    response = client.get(url("changelist"), {k: v.format(**refs) for k, v in params.items()})

    assert response.status_code == 200
    # The world's porting request (tests/admin/conftest.py) is listed too; these filters are
    # about the held and quarantined numbers.
    shown = {
        str(number)
        for number in response.context["cl"].result_list
        if number.status != NumberStatus.PORTING
    }
    assert {names[n] for n in shown} == expected


def test_finance_reads_numbers_but_changes_none(client, world_a):
    client.force_login(world_a.finance)
    before = state()

    listing = page_text(client.get(url("changelist")))
    page = page_text(client.get(url("change", world_a.mobile.pk)))
    forbidden = [
        client.get(url("assign")),
        client.post(url("reassign", world_a.mobile.pk), {"member": world_a.owner.pk}),
        client.post(url("change_number", world_a.mobile.pk)),
        client.post(url("delete_number", world_a.mobile.pk)),
        client.post(url("recover", world_a.quarantined.pk)),
    ]
    client.post(
        url("changelist"),
        {
            "action": "delete_selected_numbers",
            "post": "yes",
            "_selected_action": [str(world_a.mobile.pk)],
        },
    )

    assert str(world_a.mobile) in listing
    assert "Assign a number" not in listing and 'name="action"' not in listing
    assert "Assignment history" in page and "Reassign" not in page
    assert {r.status_code for r in forbidden} == {403}
    assert state() == before


def test_there_is_no_add_edit_or_plain_delete(client, world_a):
    client.force_login(world_a.owner)
    before = state()

    add = client.get(reverse("admin:numbering_phonenumber_add"))
    edit = client.post(url("change", world_a.mobile.pk), {"e164": "+33611111111"})
    delete = client.post(url("delete", world_a.mobile.pk), {"post": "yes"})

    assert add.status_code == 403 and edit.status_code == 403 and delete.status_code == 403
    assert state() == before


# --- the number's page ---------------------------------------------------------------------------


def test_number_page_shows_assignment_history_and_audit_trail(client, world_a):
    with time_machine.travel(dt.datetime(2027, 3, 2, 9, 0, tzinfo=PARIS), tick=False):
        services.number_reassign(number=world_a.mobile, member=world_a.admin, actor=world_a.owner)
    client.force_login(world_a.owner)

    response = client.get(url("change", world_a.mobile.pk))

    text = page_text(response)
    history = re.search(r'id="number-history".*?</table>', text, re.S).group(0)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", history)
    assert [(who, to) for who, _licence, _from, to in rows] == [
        (str(world_a.admin), "now"),
        (str(world_a.user), "2 Mar 2027 08:00"),  # times in UTC, the console's time zone
    ]
    assert all(f"User licence {world_a.assigned.pk}" == lic for _w, lic, _f, _t in rows)
    audit = re.search(r'id="number-audit".*?</table>', text, re.S).group(0)
    assert "number.reassigned" in audit and "number.assigned" in audit
    assert "Reassign" in text and "Change number" in text and "Delete (quarantine)" in text
    assert "Recover" not in text  # platform staff only, and for quarantined numbers


def test_number_history_page_is_the_audit_trail(client, world_a):
    client.force_login(world_a.owner)
    text = page_text(client.get(url("history", world_a.mobile.pk)))
    assert "number.assigned" in text


# --- assign: choose, review (licence and price), confirm -----------------------------------------


@pytest.fixture
def nov_org(db):
    organisation = OrganisationFactory(name="Zorblax November", billing_anchor=dt.date(2026, 1, 1))
    stock("FR", "mobile", 10, start=900)
    return organisation


@pytest.fixture
def nov_owner(nov_org):
    return UserFactory(organisation=nov_org, role="owner", name="Nora Owner")


def assign_data(member, **extra) -> dict:
    return {"member": member.pk, "country": "FR", "number_type": "mobile", **extra}


@pytest.mark.time_machine(NOV_10, tick=False)
def test_assign_review_says_a_licence_will_be_bought_and_its_exact_price(
    client, nov_org, nov_owner
):
    member = UserFactory(organisation=nov_org, name="Mia Member")
    client.force_login(nov_owner)
    before = state()

    with time_machine.travel(NOV_10, tick=False):
        review = client.post(url("assign"), {**assign_data(member), "_review": "1"})

        text = page_text(review)
        assert review.status_code == 200
        assert (
            "No free licence of the type User licence is available: one will be bought and "
            "charged pro rata, 13.30 EUR + 2.66 EUR tax = 15.96 EUR."
        ) in text
        assert "User licence × 1, 10 Nov 2026 to 30 Nov 2026 (21/30 days)" in text
        assert '<td class="num">19.00 EUR</td><td class="num">13.30 EUR</td>' in text
        assert '<td class="num" id="quote-total">15.96 EUR</td>' in text
        assert 'name="_confirm"' in text
        first = (
            InventoryNumber.objects.filter(country="FR", number_type="mobile")
            .order_by("e164")
            .first()
            .e164
        )
        assert f'value="{first}"' in text  # the available numbers to choose from
        assert state() == before  # a review writes nothing

        confirm = client.post(url("assign"), {**assign_data(member), "_confirm": "1"})

    assert confirm.status_code == 302
    number = PhoneNumber.objects.get(organisation=nov_org)
    assert confirm.url == url("change", number.pk)
    assert number.e164 == first and number_holder(number) == (member, None)
    invoice = Invoice.objects.get(organisation=nov_org)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("13.30"),
        Decimal("2.66"),
        Decimal("15.96"),
    )
    message = " ".join(messages_of(confirm))
    assert f"assigned to {member}" in message and invoice.number in message
    assert "15.96 EUR" in message


def test_assign_review_says_a_scheduled_licence_is_restored_at_no_charge(
    client, nov_org, nov_owner
):
    member = UserFactory(organisation=nov_org, name="Mia Member")
    scheduled = LicenceFactory(organisation=nov_org)
    licensing_services.licence_terminate(licence=scheduled, actor=nov_owner, at=NOV_10)

    with time_machine.travel(NOV_10, tick=False):
        client.force_login(nov_owner)
        review = client.post(url("assign"), {**assign_data(member), "_review": "1"})
        confirm = client.post(url("assign"), {**assign_data(member), "_confirm": "1"})

    assert (
        "No free licence of the type User licence is available: 1 licence scheduled for removal "
        f"will be restored, no charge. It becomes {member}'s."
    ) in html.unescape(page_text(review))
    assert confirm.status_code == 302
    assert not Invoice.objects.filter(organisation=nov_org).exists()
    scheduled.refresh_from_db()
    assert scheduled.status == "active" and scheduled.member == member
    assert "restored, at no charge" in " ".join(messages_of(confirm))


def test_assign_review_with_a_free_licence_costs_nothing_and_a_chosen_number(client, world_a):
    member = UserFactory(organisation=world_a.organisation, name="zorblax-newcomer")
    free = LicenceFactory(organisation=world_a.organisation)
    client.force_login(world_a.admin)
    invoices = Invoice.objects.count()
    wanted = (
        InventoryNumber.objects.filter(country="FR", number_type="mobile")
        .order_by("-e164")
        .first()
        .e164
    )

    review = page_text(client.post(url("assign"), {**assign_data(member), "_review": "1"}))
    confirm = client.post(url("assign"), {**assign_data(member, e164=wanted), "_confirm": "1"})

    assert (
        f"The number takes the free licence {free.pk} (User licence), which becomes "
        f"{member}'s. No licence is bought: nothing is charged."
    ) in review
    assert 'id="review-lines"' not in review
    assert confirm.status_code == 302
    number = PhoneNumber.objects.get(e164=wanted)
    assert number.licence == free and number_holder(number) == (member, None)
    assert Invoice.objects.count() == invoices  # nothing bought, nothing billed


def test_assign_only_numbers_containing_digits(client, world_a):
    client.force_login(world_a.owner)
    wanted = (
        InventoryNumber.objects.filter(country="FR", number_type="mobile")
        .order_by("-e164")
        .first()
        .e164
    )

    review = client.post(
        url("assign"), {**assign_data(world_a.admin, contains=wanted[-4:]), "_review": "1"}
    )

    assert [n.e164 for n in review.context["preview"].available] == [wanted]


def test_assign_review_under_the_block_policy_says_refused(client, db):
    organisation = OrganisationFactory(licence_policy="block")
    owner = UserFactory(organisation=organisation, role="owner")
    stock("FR", "mobile", 3, start=800)
    client.force_login(owner)
    before = state()

    review = page_text(client.post(url("assign"), {**assign_data(owner), "_review": "1"}))
    confirm = client.post(url("assign"), {**assign_data(owner), "_confirm": "1"})

    assert "licence is available and the licence policy is to refuse" in review
    assert 'name="_confirm"' not in review
    user_licence = licence_type("user_standard")
    assert f"Buy 1 {user_licence.name} (" in review and " EUR a month)" in review
    assert reverse("admin:licensing_licence_buy") + f"?licence_type={user_licence.pk}" in review
    assert confirm.status_code == 200
    assert any("licence policy is to refuse; buy one first." in m for m in messages_of(confirm))
    assert state() == before


def test_assign_past_the_plan_cap_is_refused_with_its_rule(client, world_a):
    # The user holds a mobile and a porting reservation (rule 5 counts both): 3 more reach 5.
    for _ in range(3):
        services.number_assign(
            organisation=world_a.organisation,
            actor=world_a.owner,
            country="FR",
            number_type="mobile",
            member=world_a.user,
        )
    client.force_login(world_a.owner)
    before = state()

    review = page_text(client.post(url("assign"), {**assign_data(world_a.user), "_review": "1"}))
    confirm = client.post(url("assign"), {**assign_data(world_a.user), "_confirm": "1"})

    assert "plan allows" in review
    assert any("plan allows" in m for m in messages_of(confirm))
    assert state() == before


def test_a_number_taken_between_review_and_confirm_is_a_message(client, world_a):
    client.force_login(world_a.owner)
    wanted = InventoryNumber.objects.filter(country="FR", number_type="mobile").first().e164
    client.post(url("assign"), {**assign_data(world_a.admin, e164=wanted), "_review": "1"})
    InventoryNumber.objects.filter(e164=wanted).delete()  # someone else took it
    before = state()

    confirm = client.post(
        url("assign"), {**assign_data(world_a.admin, e164=wanted), "_confirm": "1"}
    )

    assert confirm.status_code == 200
    assert any(wanted in m for m in messages_of(confirm))
    assert "is not available" in page_text(confirm)  # the review, again
    assert state() == before


def test_assign_form_errors(client, world_a):
    client.force_login(world_a.owner)
    before = state()

    neither = client.post(url("assign"), {"country": "FR", "number_type": "mobile", "_review": "1"})
    both = client.post(
        url("assign"), {**assign_data(world_a.user, line=world_a.line.pk), "_confirm": "1"}
    )
    bad_number = client.post(
        url("assign"), {**assign_data(world_a.user, e164="+33 6"), "_confirm": "1"}
    )

    assert "Choose a member or a line (exactly one)." in page_text(neither)
    assert "Choose a member or a line (exactly one)." in page_text(both)
    assert messages_of(bad_number) and not any(
        "invalid_number" in m for m in messages_of(bad_number)
    )
    assert state() == before


def test_assign_to_a_line(client, world_a):
    line = LineFactory(organisation=world_a.organisation, kind="fax", name="zorblax-fax")
    client.force_login(world_a.owner)
    data = {"line": line.pk, "country": "FR", "number_type": "landline"}

    review = page_text(client.post(url("assign"), {**data, "_review": "1"}))
    confirm = client.post(url("assign"), {**data, "_confirm": "1"})

    assert "No free licence of the type Fax line is available: one will be bought" in review
    assert confirm.status_code == 302
    number = PhoneNumber.objects.get(licence__line=line)
    assert number.licence.licence_type.code == "fax"


def test_platform_staff_assign_in_the_members_organisation(client, staff, world_a):
    client.force_login(staff)
    member = UserFactory(organisation=world_a.organisation, name="zorblax-staffed")

    response = client.post(url("assign"), {**assign_data(member), "_confirm": "1"})

    assert response.status_code == 302
    assert PhoneNumber.objects.get(licence__member=member).organisation == world_a.organisation


# --- reassign, change, delete, recover -----------------------------------------------------------


def test_reassign_review_then_confirm(client, world_a):
    client.force_login(world_a.owner)
    target = world_a.finance

    review = page_text(
        client.post(url("reassign", world_a.mobile.pk), {"member": target.pk, "_review": "1"})
    )
    confirm = client.post(
        url("reassign", world_a.mobile.pk), {"member": target.pk, "_confirm": "1"}
    )

    assert (
        f"The number moves to {target} with its licence {world_a.assigned.pk} (User licence), "
        "which holds only this number."
    ) in review
    assert confirm.status_code == 302 and confirm.url == url("change", world_a.mobile.pk)
    assert number_holder(PhoneNumber.objects.get(pk=world_a.mobile.pk)) == (target, None)
    assert Licence.objects.get(pk=world_a.assigned.pk).member == target
    assert f"reassigned to {target}" in " ".join(messages_of(confirm))


@pytest.mark.time_machine(NOV_10, tick=False)
def test_reassign_from_a_shared_licence_reviews_the_purchase(client, nov_org, nov_owner):
    alice = UserFactory(organisation=nov_org, name="Alice")
    bob = UserFactory(organisation=nov_org, name="Bob")
    multi = LicenceFactory(
        organisation=nov_org, licence_type=licence_type("user_multi_mobile"), member=alice
    )
    first = services.number_assign(
        organisation=nov_org,
        actor=nov_owner,
        country="FR",
        number_type="mobile",
        member=alice,
        licence=multi,
    ).number
    services.number_assign(
        organisation=nov_org,
        actor=nov_owner,
        country="FR",
        number_type="mobile",
        member=alice,
        licence=multi,
    )
    client.force_login(nov_owner)

    with time_machine.travel(NOV_10, tick=False):
        review = page_text(
            client.post(url("reassign", first.pk), {"member": bob.pk, "_review": "1"})
        )

    assert (
        "No free licence of the type User licence is available: one will be bought "
        "and charged pro rata, 13.30 EUR + 2.66 EUR tax = 15.96 EUR."
    ) in review


def test_reassign_past_the_targets_cap_is_refused(client, world_a):
    for _ in range(5):
        services.number_assign(
            organisation=world_a.organisation,
            actor=world_a.owner,
            country="FR",
            number_type="mobile",
            member=world_a.finance,
        )
    client.force_login(world_a.owner)
    before = state()

    review = page_text(
        client.post(
            url("reassign", world_a.mobile.pk), {"member": world_a.finance.pk, "_review": "1"}
        )
    )
    confirm = client.post(
        url("reassign", world_a.mobile.pk), {"member": world_a.finance.pk, "_confirm": "1"}
    )

    assert "plan allows" in review
    assert 'name="_confirm"' not in review
    assert any("plan allows" in m for m in messages_of(confirm))
    assert state() == before


def test_change_shows_the_count_then_gives_a_new_number(client, world_a):
    client.force_login(world_a.owner)
    wanted = (
        InventoryNumber.objects.filter(country="FR", number_type="mobile")
        .order_by("-e164")
        .first()
        .e164
    )

    page = page_text(client.get(url("change_number", world_a.mobile.pk)))
    response = client.post(url("change_number", world_a.mobile.pk), {"e164": wanted})

    assert (
        f"This is change 1 of 5 on licence {world_a.assigned.pk} (User licence); it is free."
    ) in page
    assert f'value="{wanted}"' in page
    new = PhoneNumber.objects.get(e164=wanted)
    assert response.status_code == 302 and response.url == url("change", new.pk)
    assert new.licence == world_a.assigned
    old = PhoneNumber.objects.get(pk=world_a.mobile.pk)
    assert old.status == NumberStatus.QUARANTINED
    assert f"was changed to {new}" in " ".join(messages_of(response))


def test_the_sixth_change_is_refused_in_the_console(client, world_a):
    number = world_a.mobile
    for _ in range(5):
        number = services.number_change(number=number, actor=world_a.owner)
    client.force_login(world_a.owner)
    before = state()

    page = page_text(client.get(url("change_number", number.pk)))
    response = client.post(url("change_number", number.pk), {})

    assert "has used all 5 of its number changes" in page
    assert any(
        m.startswith("This licence has used its 5 number changes.") for m in messages_of(response)
    )
    assert state() == before


@pytest.mark.time_machine(NOV_10, tick=False)
def test_delete_confirms_then_quarantines_and_keeps_the_licence(client, world_a):
    client.force_login(world_a.owner)

    page = page_text(client.get(url("delete_number", world_a.mobile.pk)))
    with time_machine.travel(NOV_10, tick=False):
        response = client.post(url("delete_number", world_a.mobile.pk))

    assert "goes into quarantine for 30 days" in page and "stays assigned and billed" in page
    assert response.status_code == 302
    number = PhoneNumber.objects.get(pk=world_a.mobile.pk)
    assert number.status == NumberStatus.QUARANTINED
    assert number.quarantine_ends_on == dt.date(2026, 12, 10)
    assert Licence.objects.get(pk=world_a.assigned.pk).member == world_a.user
    assert "in quarantine until 10 Dec 2026" in " ".join(messages_of(response))


def test_bulk_delete_asks_first(client, world_a):
    client.force_login(world_a.owner)
    selected = [str(world_a.mobile.pk), str(world_a.landline.pk)]
    before = state()

    ask = client.post(
        url("changelist"), {"action": "delete_selected_numbers", "_selected_action": selected}
    )

    assert ask.status_code == 200 and "Yes, delete these numbers" in page_text(ask)
    assert state() == before
    done = client.post(
        url("changelist"),
        {"action": "delete_selected_numbers", "post": "yes", "_selected_action": selected},
    )
    assert done.status_code == 302
    assert set(PhoneNumber.objects.filter(pk__in=selected).values_list("status", flat=True)) == {
        "quarantined"
    }
    assert "Deleted 2 phone numbers." in messages_of(done)


def test_deleting_a_quarantined_number_from_the_list_is_a_refusal_message(client, world_a):
    client.force_login(world_a.owner)
    before = state()

    response = client.post(
        url("changelist"),
        {
            "action": "delete_selected_numbers",
            "post": "yes",
            "_selected_action": [str(world_a.quarantined.pk)],
        },
    )

    assert any("Only an assigned number can be deleted." in m for m in messages_of(response))
    assert state() == before


def test_recover_is_for_platform_staff(client, world_a, staff):
    client.force_login(world_a.owner)
    before = state()
    assert client.get(url("recover", world_a.quarantined.pk)).status_code == 403
    assert client.post(url("recover", world_a.quarantined.pk)).status_code == 403
    assert state() == before

    client.force_login(staff)
    page = page_text(client.get(url("change", world_a.quarantined.pk)))
    before = state()
    review = client.post(url("recover", world_a.quarantined.pk))
    assert state() == before  # the review changes nothing
    response = client.post(url("recover", world_a.quarantined.pk), {"_confirm": "1"})

    assert "Recover" in page
    assert review.status_code == 200 and 'id="recover-review"' in page_text(review)
    assert review.context["preview"].source == "held"
    assert "nothing is charged" in page_text(review)
    assert response.status_code == 302
    number = PhoneNumber.objects.get(pk=world_a.quarantined.pk)
    assert number.status == NumberStatus.ASSIGNED
    assert number_holder(number) == (world_a.admin, None)  # its last holder


def test_recovery_that_buys_a_licence_shows_the_price_first(client, world_a, staff):
    """Recovered to a member with no licence and none free: the review prices the licence
    bought, and the invoice bills exactly that; the message names it."""
    Licence.objects.filter(organisation=world_a.organisation).free().delete()
    Licence.objects.filter(organisation=world_a.organisation, status="removal_scheduled").delete()
    client.force_login(staff)
    target = {"member": str(world_a.finance.pk)}
    before = state()

    review = client.post(url("recover", world_a.quarantined.pk), target)

    preview = review.context["preview"]
    text = page_text(review)
    assert state() == before
    assert preview.source == "purchase" and "A licence will be bought" in text
    assert f"{preview.quote.total} {preview.quote.currency}" in text
    invoices = set(Invoice.objects.all())

    done = client.post(url("recover", world_a.quarantined.pk), {**target, "_confirm": "1"})

    [invoice] = set(Invoice.objects.all()) - invoices
    assert done.status_code == 302
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        preview.quote.subtotal,
        preview.quote.tax,
        preview.quote.total,
    )
    assert any(
        f"invoice {invoice.number}, total {invoice.total} {invoice.currency}" in m
        for m in messages_of(done)
    )


# --- dashboard, search and the member's page -----------------------------------------------------


def test_dashboard_counts_numbers_by_status(client, world_a):
    client.force_login(world_a.owner)

    text = page_text(client.get(reverse("admin:index")))

    assert '<td class="num" id="numbers-assigned">2</td>' in text
    assert '<td class="num" id="numbers-quarantined">1</td>' in text
    assert '<td class="num" id="numbers-porting">1</td>' in text  # the world's porting request


def test_search_finds_numbers_by_digits(client, world_a):
    client.force_login(world_a.owner)
    spaced = str(world_a.landline)  # "+33 1 20 00 00 00"

    response = client.get(reverse("admin:search"), {"q": spaced})
    by_tail = client.get(reverse("admin:search"), {"q": world_a.landline.e164[-6:]})
    words = client.get(reverse("admin:search"), {"q": "nobody-is-called-this"})

    assert [n.pk for n in response.context["numbers"]] == [world_a.landline.pk]
    assert world_a.landline.pk in {n.pk for n in by_tail.context["numbers"]}
    assert 'id="search-numbers"' in page_text(response)
    assert words.context["numbers"] == []


def test_member_page_lists_the_numbers_they_hold(client, world_a):
    client.force_login(world_a.owner)
    member_url = reverse("admin:accounts_user_change", args=[world_a.user.pk])

    held = page_text(client.get(member_url))
    services.number_delete(number=world_a.mobile, actor=world_a.owner)
    after = page_text(client.get(member_url))

    assert "Numbers held" in held and str(world_a.mobile) in held
    assert "Licences held" in held  # the licences are there too
    assert str(world_a.mobile) not in after


def test_the_member_form_still_saves_with_the_numbers_section(client, world_a):
    client.force_login(world_a.owner)

    response = client.post(
        reverse("admin:accounts_user_change", args=[world_a.user.pk]),
        {
            "name": "zorblax-renamed",
            "role": "user",
            "licences-TOTAL_FORMS": "0",
            "licences-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    world_a.user.refresh_from_db()
    assert world_a.user.name == "zorblax-renamed"


# --- tenancy: a member of B with A's ids ---------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "key"),
    [
        ("change", "mobile"),
        ("history", "mobile"),
        ("delete", "mobile"),
        ("reassign", "mobile"),
        ("change_number", "mobile"),
        ("delete_number", "mobile"),
        ("recover", "quarantined"),
    ],
)
def test_a_number_pages_do_not_exist_for_b(client, world_a, world_b, view, key):
    client.force_login(world_b.owner)
    number = getattr(world_a, key)
    before = state()

    get = client.get(url(view, number.pk))
    post = client.post(
        url(view, number.pk),
        {"post": "yes", "member": world_b.user.pk, "_confirm": "1", "e164": ""},
    )

    for response in (get, post):
        assert response.status_code == 302, (view, response.status_code)
        assert response.url == reverse("admin:index")
        assert any("doesn’t exist" in m for m in messages_of(response))
    followed = page_text(client.get(get.url))
    assert_none_of([s for s in world_a.secrets() if s != str(number.pk)], followed)
    assert state() == before


def test_a_missing_and_a_foreign_number_answer_the_same(client, world_a, world_b):
    client.force_login(world_b.owner)
    foreign = client.get(url("reassign", world_a.mobile.pk))
    missing = client.get(url("reassign", "00000000-0000-0000-0000-000000000000"))
    assert foreign.status_code == missing.status_code == 302
    assert foreign.url == missing.url


def test_b_lists_searches_and_filters_none_of_a(client, world_a, world_b):
    client.force_login(world_b.owner)
    for params in (
        {},
        {SEARCH_VAR: world_a.mobile.e164},
        {SEARCH_VAR: str(world_a.mobile)},
        {SEARCH_VAR: "zorblax"},
        {"member": world_a.user.pk},
        {"licence": world_a.assigned.pk},
        {"status__exact": "quarantined", "_facets": "1"},
    ):
        response = client.get(url("changelist"), params)
        assert response.status_code == 200
        shown = {n.organisation_id for n in response.context["cl"].result_list}
        assert shown <= {world_b.organisation.pk}
        echoed = " ".join(str(v) for v in params.values())
        assert_none_of(
            [s for s in world_a.secrets() if s.lower() not in echoed.lower()], page_text(response)
        )


def test_b_assigning_to_a_member_or_line_of_a_fails_as_a_missing_id(client, world_a, world_b):
    client.force_login(world_b.owner)
    before = state()
    for data in ({"member": world_a.user.pk}, {"line": world_a.line.pk}):
        for step in ("_review", "_confirm"):
            response = client.post(
                url("assign"), {"country": "FR", "number_type": "mobile", **data, step: "1"}
            )
            assert response.status_code == 200
            assert "Select a valid choice" in page_text(response)
            assert_none_of(world_a.secrets(), page_text(response))
    reassign = client.post(
        url("reassign", world_b.mobile.pk), {"member": world_a.user.pk, "_confirm": "1"}
    )
    assert "Select a valid choice" in page_text(reassign)
    assert state() == before


def test_b_actions_with_a_ids_change_nothing(client, world_a, world_b):
    client.force_login(world_b.owner)
    before = state()
    for action in ("delete_selected_numbers", "reassign_one", "change_one"):
        response = client.post(
            url("changelist"),
            {
                "action": action,
                "post": "yes",
                "_selected_action": [str(world_a.mobile.pk), str(world_a.landline.pk)],
            },
        )
        assert response.status_code in (200, 302)
        assert_none_of(world_a.secrets(), page_text(client.get(url("changelist"))))
    assert state() == before


def test_b_dashboard_search_and_member_page_show_none_of_a(client, world_a, world_b):
    client.force_login(world_b.owner)
    for path, params in (
        (reverse("admin:index"), {}),
        (reverse("admin:search"), {"q": world_a.mobile.e164}),
        (reverse("admin:search"), {"q": str(world_a.landline)}),
        (reverse("admin:accounts_user_change", args=[world_b.user.pk]), {}),
        (url("assign"), {}),
    ):
        response = client.get(path, params)
        assert response.status_code == 200
        echoed = " ".join(str(v) for v in params.values())
        assert_none_of(
            [s for s in world_a.secrets() if s.lower() not in echoed.lower()], page_text(response)
        )
    dashboard = page_text(client.get(reverse("admin:index")))
    assert '<td class="num" id="numbers-assigned">2</td>' in dashboard  # B's own two


def test_platform_staff_see_every_organisations_numbers(client, staff, world_a, world_b):
    client.force_login(staff)
    text = page_text(client.get(url("changelist")))
    assert str(world_a.mobile) in text and str(world_b.mobile) in text
    assert client.get(url("change", world_a.mobile.pk)).status_code == 200


# --- the review's service: number_assign_preview says what number_assign then does ---------------


@pytest.fixture
def org(db):
    organisation = OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))
    stock("FR", "mobile", 20, start=700)
    stock("FR", "landline", 5, start=700)
    return organisation


@pytest.fixture
def owner(org):
    return UserFactory(organisation=org, role="owner")


def preview_then_assign(org, owner, member=None, **kwargs):
    """The preview, the state it left, and what the assignment then did."""
    kwargs.setdefault("country", "FR")
    kwargs.setdefault("number_type", "mobile")
    before = state()
    preview = services.number_assign_preview(organisation=org, member=member, at=NOV_10, **kwargs)
    unchanged = state() == before
    try:
        outcome = services.number_assign(
            organisation=org, actor=owner, member=member, at=NOV_10, **kwargs
        )
    except errors.DomainError as exc:
        outcome = exc
    return preview, unchanged, outcome


def test_preview_of_a_purchase_is_the_invoice_to_the_cent(org, owner):
    member = UserFactory(organisation=org)

    preview, unchanged, result = preview_then_assign(org, owner, member)

    assert unchanged
    assert preview.source == "purchase" and preview.licence_purchased
    assert preview.licence_type.code == "user_standard"
    invoice = result.invoice
    assert (
        (preview.quote.subtotal, preview.quote.tax, preview.quote.total)
        == (invoice.subtotal, invoice.tax, invoice.total)
        == (Decimal("13.30"), Decimal("2.66"), Decimal("15.96"))
    )
    line = invoice.lines.get()
    assert [(q.description, q.unit_price, q.amount) for q in preview.quote.lines] == [
        (line.description, line.unit_price, line.amount)
    ]
    assert preview.available[0].e164 == result.number.e164


def test_preview_of_a_free_and_of_a_held_licence(org, owner):
    member = UserFactory(organisation=org)
    free = LicenceFactory(organisation=org)

    preview, unchanged, result = preview_then_assign(org, owner, member)
    assert unchanged and (preview.source, preview.licence) == ("free", free)
    assert result.licence == free and not result.licence_purchased

    multi = LicenceFactory(
        organisation=org, licence_type=licence_type("user_multi_mobile"), member=member
    )
    preview, unchanged, result = preview_then_assign(org, owner, member)
    assert unchanged and (preview.source, preview.licence) == ("held", multi)
    assert result.licence == multi and preview.quote is None


def test_preview_of_a_given_licence(org, owner):
    member = UserFactory(organisation=org)
    given = LicenceFactory(organisation=org)
    LicenceFactory(organisation=org)  # an older free one that rule 2 would otherwise take

    preview, unchanged, result = preview_then_assign(org, owner, member, licence=given)

    assert unchanged and (preview.source, preview.licence) == ("given", given)
    assert result.licence == given


@pytest.mark.time_machine(NOV_10, tick=False)
@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("block", "no_licence_available"),
        ("cap", "plan_number_limit_reached"),
        ("restricted", "account_restricted"),
        ("no_stock", "number_unavailable"),
        ("full_licence", "licence_full"),
        ("fax_mobile", "licence_full"),
    ],
)
def test_preview_refuses_as_the_assignment_does(org, owner, case, code):
    member = UserFactory(organisation=org)
    kwargs = {}
    if case == "block":
        org.licence_policy = "block"
        org.save()
    elif case == "cap":
        for _ in range(5):
            services.number_assign(
                organisation=org, actor=owner, country="FR", number_type="mobile", member=member
            )
    elif case == "restricted":
        org.payment_method_kind = org.payment_method_reference = ""
        org.save()
    elif case == "no_stock":
        kwargs["number_type"] = "toll_free"
    elif case == "full_licence":
        kwargs["licence"] = services.number_assign(
            organisation=org, actor=owner, country="FR", number_type="mobile", member=member
        ).licence
    elif case == "fax_mobile":
        kwargs["line"] = LineFactory(organisation=org, kind="fax")
        member = None

    preview, unchanged, outcome = preview_then_assign(org, owner, member, **kwargs)

    assert unchanged
    assert preview.refusal is not None and preview.refusal.code == code
    assert not preview.licence_purchased
    assert isinstance(outcome, errors.DomainError) and outcome.code == code


def test_reassign_preview_matches_rule_7(org, owner):
    alice, bob = UserFactory(organisation=org), UserFactory(organisation=org)
    number = services.number_assign(
        organisation=org, actor=owner, country="FR", number_type="mobile", member=alice
    ).number
    before = state()

    moves = services.number_reassign_preview(number=number, member=bob)
    same = services.number_reassign_preview(number=number, member=alice)

    assert state() == before
    assert (moves.source, moves.licence) == ("moves", number.licence)
    assert same.source == "unchanged"
    services.number_delete(number=number, actor=owner)
    gone = services.number_reassign_preview(
        number=PhoneNumber.objects.get(pk=number.pk), member=bob
    )
    assert gone.refusal.code == "number_unavailable"


def test_preview_writes_no_audit_and_takes_no_number(org, owner):
    member = UserFactory(organisation=org)
    audit, stock_before = AuditEvent.objects.count(), InventoryNumber.objects.count()

    services.number_assign_preview(
        organisation=org, country="FR", number_type="mobile", member=member
    )

    assert AuditEvent.objects.count() == audit
    assert InventoryNumber.objects.count() == stock_before


def test_assign_page_offers_porting_an_existing_number(client, nov_owner):
    client.force_login(nov_owner)

    page = client.get(reverse("admin:numbering_phonenumber_assign"))

    assert page.status_code == 200
    assert reverse("admin:numbering_portingrequest_add") in page.content.decode()
    assert client.get(reverse("admin:numbering_portingrequest_add")).status_code == 200
