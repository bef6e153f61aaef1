"""The licences page's actions, end to end through the console, with exact amounts."""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts import lifecycle
from accounts.models import AuditEvent
from billing.models import Invoice
from licensing import services as licensing
from licensing.models import Licence, LicenceStatus
from tests.admin.conftest import SHARE_WORLDS, db_state, messages_of, page_text
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory, licence_type

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]

PARIS = ZoneInfo("Europe/Paris")
# June 2025 is a 30-day period for an organisation anchored on the 1st; the 10th leaves 21 days.
JUNE_10 = dt.datetime(2025, 6, 10, 10, 0, tzinfo=PARIS)


@pytest.fixture
def june_org(db):
    return OrganisationFactory(
        name="Zorblax June",
        billing_anchor=dt.date(2025, 1, 1),
        timezone="Europe/Paris",
        currency="EUR",
        tax_rate=Decimal("0.2000"),
    )


@pytest.fixture
def june_owner(june_org):
    return UserFactory(organisation=june_org, role="owner", email="owner@june.example")


def buy_url():
    return reverse("admin:licensing_licence_buy")


def phone_type():
    return licence_type("phone_system")


# --- buy (rule 13) -------------------------------------------------------------------------------


def test_buy_page_lists_prices_and_free_licences_and_warns_before_buying_more(
    client, june_org, june_owner
):
    with time_machine.travel(JUNE_10, tick=False):
        LicenceFactory(organisation=june_org, licence_type=phone_type())
        LicenceFactory(organisation=june_org, licence_type=phone_type())
        client.force_login(june_owner)

        form = page_text(client.get(buy_url()))
        review = page_text(
            client.post(buy_url(), {"licence_type": phone_type().pk, "quantity": "1"})
        )

    assert 'id="price-list"' in form and "Prices (EUR, monthly)" in form
    assert re.search(
        r"<td>Phone system</td><td class=\"num\">24.95 EUR</td><td class=\"num\">2</td>", form
    )
    assert "You already have 2 free Phone system licences." in review
    assert "assignment=unassigned" in review and "0 scheduled" not in review


def test_buy_review_shows_the_exact_pro_rata_then_confirm_issues_the_invoice(
    client, june_org, june_owner
):
    with time_machine.travel(JUNE_10, tick=False):
        client.force_login(june_owner)
        form = client.get(buy_url())
        assert form.status_code == 200
        data = {"licence_type": phone_type().pk, "quantity": "3"}

        review = client.post(buy_url(), {**data, "_review": "1"})

        assert review.status_code == 200
        text = page_text(review)
        # 3 × 24.95 × 21/30 = 52.395 → 52.40; tax 20 % = 10.48; total 62.88.
        assert "Phone system × 3, 10 Jun 2025 to 30 Jun 2025 (21/30 days)" in text
        assert "10 Jun 2025 – 30 Jun 2025" in text
        assert '<td class="num">24.95 EUR</td><td class="num">52.40 EUR</td>' in text
        assert '<td class="num" id="quote-subtotal">52.40 EUR</td>' in text
        assert '<td class="num" id="quote-tax">10.48 EUR</td>' in text
        assert '<td class="num" id="quote-total">62.88 EUR</td>' in text
        assert "0 scheduled" not in text and 'id="restored-count"' not in text
        assert 'id="free-warning"' not in text  # none free
        assert '<strong id="purchased-count">3</strong>' in text
        assert 'name="_confirm"' in text
        assert Licence.objects.filter(organisation=june_org).count() == 0  # a review writes nothing

        confirm = client.post(buy_url(), {**data, "_confirm": "1"})

    assert confirm.status_code == 302
    invoice = Invoice.objects.get(organisation=june_org)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("52.40"),
        Decimal("10.48"),
        Decimal("62.88"),
    )
    line = invoice.lines.get()
    assert (line.quantity, line.unit_price, line.amount) == (3, Decimal("24.95"), Decimal("52.40"))
    assert (line.period_start, line.period_end) == (dt.date(2025, 6, 10), dt.date(2025, 6, 30))
    assert (
        Licence.objects.filter(
            organisation=june_org, licence_type=phone_type(), status=LicenceStatus.ACTIVE
        ).count()
        == 3
    )
    message = " ".join(messages_of(confirm))
    assert invoice.number in message and "62.88 EUR" in message


def test_buy_restores_scheduled_removals_first_and_charges_only_the_rest(
    client, june_org, june_owner
):
    licensing.licences_purchase(
        organisation=june_org,
        licence_type=phone_type(),
        quantity=2,
        actor=june_owner,
        at=dt.datetime(2025, 6, 1, 9, tzinfo=PARIS),
    )
    licensing.licences_schedule_removal(
        organisation=june_org,
        licence_type=phone_type(),
        quantity=1,
        actor=june_owner,
        at=dt.datetime(2025, 6, 2, 9, tzinfo=PARIS),
    )
    with time_machine.travel(JUNE_10, tick=False):
        client.force_login(june_owner)
        data = {"licence_type": phone_type().pk, "quantity": "3"}
        text = page_text(client.post(buy_url(), {**data, "_review": "1"}))
        # 2 × 24.95 × 21/30 = 34.93; tax 6.986 → 6.99; total 41.92.
        assert '<strong id="restored-count">1</strong>' in text
        assert '<strong id="purchased-count">2</strong>' in text
        assert '<td class="num" id="quote-subtotal">34.93 EUR</td>' in text
        assert '<td class="num" id="quote-tax">6.99 EUR</td>' in text
        assert '<td class="num" id="quote-total">41.92 EUR</td>' in text
        confirm = client.post(buy_url(), {**data, "_confirm": "1"})
    assert confirm.status_code == 302
    assert "restored 1 (no charge) and bought 2" in " ".join(messages_of(confirm))
    # 2 bought on the 1st, 1 of them scheduled then restored, 2 more bought: 4 active.
    assert Licence.objects.filter(organisation=june_org, status=LicenceStatus.ACTIVE).count() == 4
    assert Invoice.objects.filter(organisation=june_org).order_by("-sequence").first().total == (
        Decimal("41.92")
    )


def test_a_restricted_organisation_sees_rule_18_and_cannot_confirm(client, june_org, june_owner):
    june_org.payment_method_kind = ""
    june_org.payment_method_reference = ""
    june_org.save()
    client.force_login(june_owner)
    page = page_text(client.get(buy_url()))
    assert "This account is restricted:" in page and "No usable payment method is on file." in page
    data = {"licence_type": phone_type().pk, "quantity": "1"}
    review = page_text(client.post(buy_url(), {**data, "_review": "1"}))
    assert 'name="_confirm"' not in review
    before = db_state()

    confirm = client.post(buy_url(), {**data, "_confirm": "1"})

    assert confirm.status_code == 200
    assert any(m.startswith("The account is restricted") for m in messages_of(confirm))
    assert db_state() == before


def test_buy_rejects_a_bad_quantity_without_writing(client, june_org, june_owner):
    client.force_login(june_owner)
    before = db_state()
    for quantity in ("0", "-2", "abc", "1001"):
        response = client.post(
            buy_url(), {"licence_type": phone_type().pk, "quantity": quantity, "_confirm": "1"}
        )
        assert response.status_code == 200
        assert "errorlist" in page_text(response)
    assert db_state() == before


def test_platform_staff_buy_for_a_chosen_organisation(client, staff, june_org):
    with time_machine.travel(JUNE_10, tick=False):
        client.force_login(staff)
        response = client.post(
            buy_url(),
            {
                "organisation": june_org.pk,
                "licence_type": phone_type().pk,
                "quantity": "1",
                "_confirm": "1",
            },
        )
    assert response.status_code == 302
    # 24.95 × 21/30 = 17.465 → 17.47
    assert Invoice.objects.get(organisation=june_org).subtotal == Decimal("17.47")


# --- remove (rule 14) and restore (rule 15) ------------------------------------------------------


def test_remove_reviews_the_licences_and_date_then_schedules_them(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:licensing_licence_remove")
    extra = licensing.licences_purchase(
        organisation=world_a.organisation,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=world_a.owner,
    ).licences[0]  # the restored one
    data = {"licence_type": licence_type("user_standard").pk, "quantity": "2"}
    review = client.post(url, {**data, "_review": "1"})
    text = page_text(review)
    period_end = review.context["review"].effective_on
    assert f'<strong id="effective-on">{period_end:%-d %b %Y}</strong>' in text
    assert str(extra.pk) in text and str(world_a.free.pk) in text
    assert '<td class="num" id="termination-fee">0.00 EUR</td>' in text
    assert Licence.objects.get(pk=extra.pk).status == LicenceStatus.ACTIVE

    confirm = client.post(url, {**data, "_confirm": "1"})

    assert confirm.status_code == 302
    for licence in (extra, world_a.free):
        licence.refresh_from_db()
        assert licence.status == LicenceStatus.REMOVAL_SCHEDULED
        assert licence.removal_effective_on == period_end
    world_a.assigned.refresh_from_db()
    assert world_a.assigned.status == LicenceStatus.ACTIVE  # assigned ones are never removed


def test_remove_more_than_unassigned_is_refused_and_schedules_nothing(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        reverse("admin:licensing_licence_remove"),
        {
            "licence_type": licence_type("user_standard").pk,
            "quantity": "2",
            "_confirm": "1",
        },
    )
    assert response.status_code == 200
    assert any(
        m.startswith("Only ")
        and m.endswith("unassigned; you asked to remove 2. Nothing was scheduled.")
        for m in messages_of(response)
    )
    assert db_state() == before


def test_restore_from_the_licence_page_and_from_the_list(client, world_a):
    client.force_login(world_a.owner)
    page = page_text(
        client.get(reverse("admin:licensing_licence_change", args=[world_a.scheduled.pk]))
    )
    restore_url = reverse("admin:licensing_licence_restore", args=[world_a.scheduled.pk])
    assert restore_url in page
    assert client.get(restore_url).status_code == 200  # confirmation page
    response = client.post(restore_url)
    assert response.status_code == 302
    world_a.scheduled.refresh_from_db()
    assert world_a.scheduled.status == LicenceStatus.ACTIVE

    licensing.licence_terminate(licence=world_a.scheduled, actor=world_a.owner)
    response = client.post(
        reverse("admin:licensing_licence_changelist"),
        {
            "action": "restore_selected",
            "_selected_action": [str(world_a.scheduled.pk), str(world_a.free.pk)],
        },
    )
    assert response.status_code == 302
    world_a.scheduled.refresh_from_db()
    assert world_a.scheduled.status == LicenceStatus.ACTIVE
    notes = messages_of(response)
    assert "Restored 1 licence." in notes
    assert any(
        "Only a licence scheduled for removal can be restored." in m for m in notes
    )  # the active one, refused alone


# --- terminate (rule 14) ------------------------------------------------------------------------


def test_terminate_by_uuid_confirms_then_schedules_the_licence(client, world_a):
    client.force_login(world_a.owner)
    response = client.post(
        reverse("admin:licensing_licence_terminate_by_uuid"), {"uuid": str(world_a.free.pk)}
    )
    terminate_url = reverse("admin:licensing_licence_terminate", args=[world_a.free.pk])
    assert response.status_code == 302 and response.url == terminate_url
    confirm_page = client.get(terminate_url)
    assert 'id="effective-on"' in page_text(confirm_page)
    world_a.free.refresh_from_db()
    assert world_a.free.status == LicenceStatus.ACTIVE

    response = client.post(terminate_url)

    assert response.status_code == 302
    world_a.free.refresh_from_db()
    assert world_a.free.status == LicenceStatus.REMOVAL_SCHEDULED
    assert AuditEvent.objects.filter(
        action="licence.terminated", target_id=str(world_a.free.pk)
    ).exists()


def test_terminating_an_assigned_licence_shows_licence_in_use_and_changes_nothing(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    for licence in (world_a.assigned, world_a.phone, world_a.room):
        response = client.post(reverse("admin:licensing_licence_terminate", args=[licence.pk]))
        assert response.status_code == 302
        assert response.url == reverse("admin:licensing_licence_change", args=[licence.pk])
        assert messages_of(response)[-1] == (
            "This licence is assigned or holds numbers; unassign it first."
        )
    response = client.post(
        reverse("admin:licensing_licence_changelist"),
        {
            "action": "terminate_selected",
            "_selected_action": [str(world_a.assigned.pk)],
        },
    )
    assert any("This licence is assigned or holds numbers" in m for m in messages_of(response))
    assert db_state() == before


# --- assign / unassign ----------------------------------------------------------------------------


def test_assign_reassign_and_unassign_a_licence(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:licensing_licence_assign", args=[world_a.free.pk])
    assert client.get(url).status_code == 200

    response = client.post(url, {"_assign": "1", "member": world_a.admin.pk})
    assert response.status_code == 302
    world_a.free.refresh_from_db()
    assert world_a.free.member == world_a.admin

    client.post(url, {"_assign": "1", "line": world_a.line.pk})
    world_a.free.refresh_from_db()
    assert (world_a.free.member, world_a.free.line) == (None, world_a.line)

    client.post(url, {"_unassign": "1"})
    world_a.free.refresh_from_db()
    assert (world_a.free.member, world_a.free.line) == (None, None)


def test_assign_needs_exactly_one_assignee(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    url = reverse("admin:licensing_licence_assign", args=[world_a.free.pk])
    for data in ({}, {"member": world_a.admin.pk, "line": world_a.line.pk}):
        response = client.post(url, {"_assign": "1", **data})
        assert response.status_code == 200
        assert "Choose a member or a line (exactly one)." in page_text(response)
    assert db_state() == before


def test_assigning_a_scheduled_licence_is_refused_with_its_code(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        reverse("admin:licensing_licence_assign", args=[world_a.scheduled.pk]),
        {"_assign": "1", "member": world_a.admin.pk},
    )
    assert response.status_code == 200
    assert any(
        "scheduled for removal or terminated; restore it first" in m for m in messages_of(response)
    )
    assert db_state() == before


def test_the_assign_action_opens_the_page_of_the_one_selected_licence(client, world_a):
    client.force_login(world_a.owner)
    response = client.post(
        reverse("admin:licensing_licence_changelist"),
        {
            "action": "assign_one",
            "_selected_action": [str(world_a.free.pk)],
        },
    )
    assert response.url == reverse("admin:licensing_licence_assign", args=[world_a.free.pk])


def test_member_autocomplete_for_assignment_lists_active_members_of_the_organisation(
    client, world_a
):

    lifecycle.member_remove(member=world_a.finance, actor=world_a.owner)
    client.force_login(world_a.owner)
    results = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "licensing",
            "model_name": "licence",
            "field_name": "member",
            "term": "",
        },
    ).json()["results"]
    ids = {row["id"] for row in results}
    assert str(world_a.admin.pk) in ids and str(world_a.finance.pk) not in ids


# --- add-ons (rule 11) ----------------------------------------------------------------------------


def test_addons_page_says_what_will_be_bought_then_buys_it(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:licensing_licence_addons", args=[world_a.phone.pk])
    page = page_text(client.get(url))
    assert re.search(r'value="call_recording"[^>]*checked', page)  # attached already
    assert not re.search(r'value="team_chat"[^>]*checked', page)
    assert "none free: one will be bought, charged pro rata" in page
    invoices = set(Invoice.objects.filter(organisation=world_a.organisation))
    before = db_state()

    review = client.post(url, {"codes": ["call_recording", "team_chat"]})

    quote = review.context["review"].quote
    text = page_text(review)
    assert review.status_code == 200 and db_state() == before  # nothing changed yet
    assert "Team chat" in text and "a licence will be bought, charged pro rata" in text
    assert quote.purchased == 1 and f"{quote.total} {quote.currency}" in text

    response = client.post(url, {"codes": ["call_recording", "team_chat"], "_confirm": "1"})

    assert response.status_code == 302
    codes = set(world_a.phone.addons.values_list("licence_type__code", flat=True))
    assert codes == {"call_recording", "team_chat"}
    [invoice] = set(Invoice.objects.filter(organisation=world_a.organisation)) - invoices
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        quote.subtotal,
        quote.tax,
        quote.total,
    )
    assert f"invoice {invoice.number}, total {invoice.total} {invoice.currency}" in " ".join(
        messages_of(response)
    )

    # Uncheck everything: the review says the add-on licences stay billed until removed.
    detach = page_text(client.post(url, {}))
    assert "the add-on licence stays billed until it is removed" in detach
    assert reverse("admin:licensing_licence_remove") + "?licence_type=" in detach
    client.post(url, {"_confirm": "1"})  # detached, kept as available licences
    assert not world_a.phone.addons.exists()
    assert (
        Licence.objects.filter(
            organisation=world_a.organisation,
            licence_type__code="team_chat",
            status=LicenceStatus.ACTIVE,
        ).count()
        == 1
    )


def test_addons_under_block_policy_are_refused_with_no_licence_available(client, world_a):
    world_a.organisation.licence_policy = "block"
    world_a.organisation.save()
    client.force_login(world_a.owner)
    url = reverse("admin:licensing_licence_addons", args=[world_a.phone.pk])
    assert "cannot be added, the licence policy is to block purchases" in page_text(client.get(url))
    before = db_state()
    response = client.post(url, {"codes": ["call_recording", "team_chat"]})
    assert response.status_code == 200
    assert any(
        "licence is available and the licence policy is to refuse" in m
        for m in messages_of(response)
    )
    assert db_state() == before


def test_an_addon_the_type_does_not_accept_is_not_offered(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        reverse("admin:licensing_licence_addons", args=[world_a.room.pk]), {"codes": ["team_chat"]}
    )  # room phones do not take team chat
    assert response.status_code == 200
    assert "Select a valid choice" in page_text(response)
    assert db_state() == before


# --- extensions (rule 11) -------------------------------------------------------------------------


def test_set_change_and_clear_an_extension(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:licensing_licence_extension", args=[world_a.phone.pk])
    assert 'value="101"' in page_text(client.get(url))
    assert client.post(url, {"extension": "205"}).status_code == 302
    world_a.phone.refresh_from_db()
    assert world_a.phone.extension == "205"
    client.post(url, {"extension": ""})
    world_a.phone.refresh_from_db()
    assert world_a.phone.extension is None


def test_a_taken_or_unsupported_extension_is_refused_in_a_sentence(client, world_a):
    other = licensing.licence_allocate(
        organisation=world_a.organisation,
        licence_type=licence_type("phone_system"),
        member=world_a.admin,
        actor=world_a.owner,
    ).licence
    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        reverse("admin:licensing_licence_extension", args=[other.pk]), {"extension": "101"}
    )
    assert any(m == "Extension 101 is already in use." for m in messages_of(response))
    response = client.post(
        reverse("admin:licensing_licence_extension", args=[world_a.assigned.pk]),
        {"extension": "300"},
    )
    assert any("licence does not carry an extension" in m for m in messages_of(response))
    response = client.post(
        reverse("admin:licensing_licence_extension", args=[other.pk]), {"extension": "1a"}
    )
    assert any("An extension is 2 to 8 digits." in m for m in messages_of(response))
    for unicode_digits in ("\u0661\u0660\u0662", "\uff11\uff10\uff12"):  # 102, not ASCII
        response = client.post(
            reverse("admin:licensing_licence_extension", args=[other.pk]),
            {"extension": unicode_digits},
        )
        assert response.status_code in (200, 302)
        assert any("An extension is 2 to 8 digits." in m for m in messages_of(response))
    assert db_state() == before


def test_the_licence_page_offers_the_tools_that_fit_the_licence(client, world_a):
    client.force_login(world_a.owner)

    def tools(licence):
        return page_text(client.get(reverse("admin:licensing_licence_change", args=[licence.pk])))

    phone = tools(world_a.phone)
    assert "Set extension" in phone and "Manage add-ons" in phone and "Assign / unassign" in phone
    assert "Set extension" not in tools(world_a.assigned)
    scheduled = tools(world_a.scheduled)
    assert "Restore" in scheduled and "Assign / unassign" not in scheduled
    assert "Assign / unassign" not in tools(world_a.addon)  # add-ons attach, not assign
    listing = page_text(client.get(reverse("admin:licensing_licence_changelist")))
    for label in ("Buy licences", "Remove licences", "Terminate by UUID"):
        assert label in listing


def test_the_licence_page_has_no_edit_form(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:licensing_licence_change", args=[world_a.free.pk])
    assert 'name="_save"' not in page_text(client.get(url))
    before = db_state()
    assert client.post(url, {"extension": "999"}).status_code == 403
    assert client.get(reverse("admin:licensing_licence_add")).status_code == 403
    assert db_state() == before


# --- a removal is done from its effective date; the terminate review shows the fee -------------

JAN_15 = dt.datetime(2027, 1, 15, 10, 0, tzinfo=PARIS)
FEB_1_0030 = dt.datetime(2027, 2, 1, 0, 30, tzinfo=PARIS)


def test_restore_after_the_effective_date_says_a_sentence_and_changes_nothing(
    client, june_org, june_owner
):
    licence = licensing.licences_purchase(
        organisation=june_org,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=june_owner,
        at=JAN_15,
    ).purchased[0]
    licensing.licence_terminate(licence=licence, actor=june_owner, at=JAN_15)
    restore_url = reverse("admin:licensing_licence_restore", args=[licence.pk])

    with time_machine.travel(FEB_1_0030, tick=False):
        client.force_login(june_owner)
        before = db_state()
        page = page_text(client.get(reverse("admin:licensing_licence_change", args=[licence.pk])))
        response = client.post(restore_url)

    assert restore_url not in page  # no Restore tool once the removal took effect
    assert response.status_code == 302
    assert messages_of(response) == [
        "This licence was removed on 1 Feb 2027: it can no longer be restored. "
        "Buy a new licence instead."
    ]
    assert db_state() == before


def test_terminate_review_shows_the_termination_fee_then_the_message_repeats_it(
    client, june_org, june_owner
):
    from billing.models import Commitment

    licences = licensing.licences_purchase(
        organisation=june_org,
        licence_type=licence_type("user_standard"),
        quantity=2,
        actor=june_owner,
        at=JAN_15,
    ).purchased
    Commitment.objects.create(
        organisation=june_org,
        licence_type=licence_type("user_standard"),
        quantity=2,
        ends_on=dt.date(2027, 5, 1),
    )
    terminate_url = reverse("admin:licensing_licence_terminate", args=[licences[0].pk])

    with time_machine.travel(JAN_15, tick=False):
        client.force_login(june_owner)
        review = page_text(client.get(terminate_url))
        response = client.post(terminate_url)

    # One below the commitment, three whole months (1 Feb to 1 May) at 19.00.
    assert '<td class="num" id="termination-fee">57.00 EUR</td>' in review
    assert '<strong id="effective-on">1 Feb 2027</strong>' in review
    assert messages_of(response)[-1].endswith("Termination fee: 57.00 EUR.")


# --- the licence page -----------------------------------------------------------------------------


def test_licence_page_lists_its_numbers_capacity_and_changes(client, world_a):
    from numbering.models import PhoneNumber

    client.force_login(world_a.owner)
    held = list(PhoneNumber.objects.held().filter(licence=world_a.assigned))
    assert held  # the user's mobile (and the landline being ported in, when on this licence)

    page = page_text(
        client.get(reverse("admin:licensing_licence_change", args=[world_a.assigned.pk]))
    )
    assign = page_text(
        client.get(reverse("admin:licensing_licence_assign", args=[world_a.assigned.pk]))
    )
    free = page_text(client.get(reverse("admin:licensing_licence_change", args=[world_a.free.pk])))

    for number in held:
        link = reverse("admin:numbering_phonenumber_change", args=[number.pk])
        assert f'<a href="{link}">{number}</a>' in page
        assert link in assign
    limit = world_a.assigned.licence_type.max_number_changes
    assert f"{world_a.assigned.number_changes_used} of {limit} used" in page
    assert "1 number" in page and "{&quot;any" not in page and '{"any' not in page
    assert "go with it when it is reassigned or unassigned" in assign
    # Assigned and holding numbers: Terminate is shown disabled with its reason.
    terminate = reverse("admin:licensing_licence_terminate", args=[world_a.assigned.pk])
    assert terminate not in page
    assert "Terminate is not available: it is assigned; unassign it first." in page
    # A free licence holding nothing can be terminated.
    assert reverse("admin:licensing_licence_terminate", args=[world_a.free.pk]) in free


def test_capacity_in_words():
    from licensing.admin.licence_pages import capacity_in_words

    assert capacity_in_words({"mobile": 3, "landline": 1}) == "1 landline and 3 mobiles"
    assert capacity_in_words({"mobile": 1}) == "1 mobile"
    assert capacity_in_words({}) == "No numbers"
    assert capacity_in_words({"any": 1}) == "1 number"
