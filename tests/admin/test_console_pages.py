"""Dashboard, search, members, lines, organisation, invoices and the audit trail."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, MemberStatus
from billing.models import Invoice, PaymentMethod
from billing.selectors import organisation_period
from licensing.models import Licence, LicenceStatus, Line
from tests.admin.conftest import SHARE_WORLDS, db_state, messages_of, page_text
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]

NO_INLINE_ROWS = {"licences-TOTAL_FORMS": "0", "licences-INITIAL_FORMS": "0"}


# --- dashboard ----------------------------------------------------------------------------------


def test_dashboard_shows_the_licence_summary_money_members_and_period(client, world_a):
    client.force_login(world_a.owner)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    context = response.context
    summary = {row["type"]: row for row in context["licence_summary"]}
    # user_standard: 3 bought (1 assigned, 1 free, 1 scheduled).
    assert summary["user_standard"] | {} == {
        "type": "user_standard",
        "kind": "base",
        "name": "User licence",
        "total": 3,
        "assigned": 1,
        "available": 1,
        "removal_scheduled": 1,
    }
    assert (summary["phone_system"]["assigned"], summary["call_recording"]["assigned"]) == (1, 1)
    # One unassigned user licence at 19.00 EUR a month.
    assert context["unassigned_money"] == Decimal("19.00")
    assert dict(context["member_counts"]) == {"Invited": 0, "Active": 4, "Deactivated": 0}
    assert context["period"] == organisation_period(world_a.organisation)
    assert context["restriction_reasons"] == []
    text = page_text(response)
    assert '<span class="big" id="unassigned-money">19.00 EUR</span>' in text
    assert "Account in good standing" in text
    assert "licence.extension_set" in text  # recent changes, from the audit trail


def test_dashboard_says_why_the_organisation_is_restricted(client, world_a):
    Invoice.objects.filter(pk=world_a.invoice.pk).update(due_on=dt.date(2020, 1, 1))
    org = world_a.organisation
    org.payment_method_kind = org.payment_method_reference = ""
    org.save(update_fields=["payment_method_kind", "payment_method_reference"])
    client.force_login(world_a.owner)
    response = client.get(reverse("admin:index"))
    assert response.context["restriction_reasons"] == [
        "No usable payment method is on file.",
        f"An invoice is overdue: {world_a.invoice.number}.",
        "An invoice is more than 30 days overdue: outgoing calls and messages are stopped "
        "until it is paid.",
    ]
    # six years overdue: past restriction, suspended (docs/rules.md, dunning)
    assert "Suspended account." in page_text(response)


def test_platform_staff_dashboard_has_totals_and_picks_an_organisation(
    client, staff, world_a, world_b
):
    client.force_login(staff)
    response = client.get(reverse("admin:index"))
    assert response.context["platform_organisation_count"] == 2
    assert "licence_summary" not in response.context
    picked = client.get(reverse("admin:index"), {"organisation": str(world_b.organisation.pk)})
    assert picked.context["dashboard_organisation"] == world_b.organisation
    assert client.get(reverse("admin:index"), {"organisation": "nonsense"}).status_code == 200


def test_search_finds_members_by_name_or_email_and_licences_by_uuid_or_extension(client, world_a):
    client.force_login(world_a.owner)

    def found(term):
        response = client.get(reverse("admin:search"), {"q": term})
        assert response.status_code == 200
        return (
            {m.pk for m in response.context["members"]},
            {licence.pk for licence in response.context["licences"]},
        )

    assert found("zorblax-user")[0] == {world_a.user.pk}
    assert found("FINANCE@zorblax")[0] == {world_a.finance.pk}
    assert found(str(world_a.free.pk))[1] == {world_a.free.pk}
    assert found(str(world_a.free.pk)[:8].upper())[1] == {world_a.free.pk}
    assert found("101")[1] == {world_a.phone.pk}
    assert found("nothing-like-this") == (set(), set())


def test_the_licence_list_searches_by_uuid_extension_and_member(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:licensing_licence_changelist")

    def rows(**params):
        return {obj.pk for obj in client.get(url, params).context["cl"].result_list}

    assert rows(q=str(world_a.free.pk)) == {world_a.free.pk}
    assert rows(q=str(world_a.free.pk)[:6]) == {world_a.free.pk}
    assert rows(q="101") == {world_a.phone.pk}
    assert rows(q="user@zorblax") == {world_a.assigned.pk, world_a.phone.pk}
    assert rows(q="zorblax-reception") == {world_a.room.pk}
    assert rows(member__id__exact=str(world_a.user.pk)) == {world_a.assigned.pk, world_a.phone.pk}
    assert rows(has_extension="yes") == {world_a.phone.pk}
    assert rows(assignment="addon") == {world_a.addon.pk}
    assert rows(assignment="unassigned") == {world_a.free.pk, world_a.scheduled.pk}
    assert rows(licence_type__kind__exact="addon") == {world_a.addon.pk}
    assert rows(status__exact="removal_scheduled") == {world_a.scheduled.pk}
    summary = client.get(url).context["licence_summary"]
    assert {row["type"] for row in summary} == {
        "user_standard",
        "phone_system",
        "room_phone",
        "call_recording",
    }


# --- members --------------------------------------------------------------------------------------


def test_member_page_lists_their_licences(client, world_a):
    client.force_login(world_a.owner)
    text = page_text(client.get(reverse("admin:accounts_user_change", args=[world_a.user.pk])))
    assert "Licences held" in text
    assert "Phone system licence · " in text and "Call recording" in text
    assert "call_recording" not in text and "phone_system" not in text


def test_owner_renames_and_promotes_a_member(client, world_a):
    client.force_login(world_a.owner)
    response = client.post(
        reverse("admin:accounts_user_change", args=[world_a.user.pk]),
        {"name": "Renamed", "role": "admin", **NO_INLINE_ROWS},
    )
    assert response.status_code == 302
    world_a.user.refresh_from_db()
    assert (world_a.user.name, world_a.user.role) == ("Renamed", "admin")
    assert AuditEvent.objects.filter(
        action="member.updated", target_id=str(world_a.user.pk)
    ).exists()


def test_inviting_an_existing_email_is_a_form_error(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "admin@zorblax.example",
            "name": "Dup",
            "role": "user",
        },
    )
    assert response.status_code == 200
    assert "admin@zorblax.example is already a member" in page_text(response)
    assert db_state() == before


def test_removing_a_member_deactivates_them_and_frees_their_licences(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:accounts_user_delete", args=[world_a.user.pk])
    confirm = page_text(client.get(url))
    assert "Removing a member deletes nothing:" in confirm and "Yes, remove this member" in confirm

    response = client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert "deactivated" in " ".join(messages_of(response))
    world_a.user.refresh_from_db()
    assert world_a.user.status == MemberStatus.DEACTIVATED
    for licence in (world_a.assigned, world_a.phone):
        licence.refresh_from_db()
        assert licence.member is None and licence.status == LicenceStatus.ACTIVE
    assert world_a.phone.addons.count() == 1  # what the licence holds stays with it


def test_the_last_owner_cannot_be_removed(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        reverse("admin:accounts_user_delete", args=[world_a.owner.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert messages_of(response) == ["An organisation keeps at least one active owner."]
    assert db_state() == before


def test_member_list_filters_by_role_and_status(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:accounts_user_changelist")
    rows = client.get(url, {"role__exact": "finance"}).context["cl"].result_list
    assert [m.pk for m in rows] == [world_a.finance.pk]
    assert client.get(url, {"status__exact": "invited"}).context["cl"].result_count == 0


# --- lines ---------------------------------------------------------------------------------


def test_lines_are_created_renamed_and_deleted_through_services(client, world_a):
    client.force_login(world_a.owner)
    client.post(reverse("admin:licensing_line_add"), {"kind": "fax", "name": "Fax 1"})
    line = Line.objects.get(name="Fax 1")
    assert line.organisation == world_a.organisation
    client.post(
        reverse("admin:licensing_line_change", args=[line.pk]),
        {"kind": "fax", "name": "Fax 2", **NO_INLINE_ROWS},
    )
    line.refresh_from_db()
    assert line.name == "Fax 2"
    duplicate = client.post(
        reverse("admin:licensing_line_change", args=[line.pk]),
        {"kind": world_a.line.kind, "name": world_a.line.name, **NO_INLINE_ROWS},
    )
    assert messages_of(duplicate)[-1] == "A line of this kind with this name already exists."

    client.post(reverse("admin:licensing_line_delete", args=[world_a.line.pk]), {"post": "yes"})
    assert not Line.objects.filter(pk=world_a.line.pk).exists()
    world_a.room.refresh_from_db()
    assert world_a.room.line is None and world_a.room.status == LicenceStatus.ACTIVE
    assert {e.action for e in AuditEvent.objects.filter(target_type="line")} >= {
        "line.created",
        "line.updated",
        "line.deleted",
    }


# --- organisation ---------------------------------------------------------------------------------


def test_owner_changes_settings_and_adds_a_payment_method(client, world_a):
    org = world_a.organisation
    client.force_login(world_a.owner)
    url = reverse("admin:accounts_organisation_change", args=[org.pk])
    response = client.post(
        url,
        {
            "name": "Zorblax Group",
            "plan": "max",
            "licence_policy": "block",
            "default_licence_type": Licence.objects.filter(organisation=org)
            .first()
            .licence_type_id,
        },
    )
    assert response.status_code == 302
    response = client.post(
        reverse("admin:billing_paymentmethod_add_sepa"),
        {"iban": "DE89 3704 0044 0532 0130 00", "holder": "Zorblax", "accept": "on"},
    )
    assert response.status_code == 302
    org.refresh_from_db()
    method = PaymentMethod.objects.get(organisation=org, kind="sepa_debit")
    assert (org.name, org.plan, org.licence_policy, org.payment_method_kind) == (
        "Zorblax Group",
        "max",
        "block",
        "sepa_debit",
    )
    # the factory's card predates payment methods (no record): the mandate becomes the default
    assert (method.is_default, method.last4) == (True, "3000")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"organisation.updated", "payment_method.added"} <= actions


def test_owner_sets_the_invoice_language(client, world_a):
    org = world_a.organisation
    client.force_login(world_a.owner)
    url = reverse("admin:accounts_organisation_change", args=[org.pk])
    page = client.get(url).content.decode()
    assert "Invoice and e-mail language" in page and "Français" in page
    response = client.post(
        url,
        {
            "name": org.name,
            "plan": org.plan,
            "licence_policy": org.licence_policy,
            "default_licence_type": org.default_licence_type_id,
            "language": "fr",
        },
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.language == "fr"
    response = client.post(url, {"name": org.name, "plan": org.plan, "language": "de"})
    assert response.status_code == 200
    org.refresh_from_db()
    assert org.language == "fr"


def test_finance_sets_the_invoice_language_and_nothing_else(client, world_a):
    org = world_a.organisation
    finance = UserFactory(organisation=org, role="finance")
    client.force_login(finance)
    url = reverse("admin:accounts_organisation_change", args=[org.pk])
    assert client.get(url).status_code == 200

    response = client.post(url, {"name": "Taken over", "plan": "max", "language": "fr"})

    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.language, org.name != "Taken over", org.plan != "max") == ("fr", True, True)


def test_owner_cannot_change_cap_or_tax_even_by_posting_them(client, world_a):
    org = world_a.organisation
    client.force_login(world_a.owner)
    client.post(
        reverse("admin:accounts_organisation_change", args=[org.pk]),
        {
            "name": org.name,
            "plan": org.plan,
            "licence_policy": org.licence_policy,
            "default_licence_type": org.default_licence_type_id,
            "calling_credit_cap": "99999.00",
            "tax_rate": "0",
        },
    )
    org.refresh_from_db()
    assert (org.calling_credit_cap, org.tax_rate) == (Decimal("250.00"), Decimal("0.2000"))


def test_an_invalid_iban_is_a_form_error(client, world_a):
    client.force_login(world_a.owner)
    before = db_state(), PaymentMethod.objects.count()
    response = client.post(
        reverse("admin:billing_paymentmethod_add_sepa"),
        {"iban": "DE89 3704 0044 0532 0130 01", "holder": "Zorblax", "accept": "on"},
    )
    assert response.status_code == 200
    assert "This IBAN is not valid." in response.content.decode()
    assert (db_state(), PaymentMethod.objects.count()) == before


def test_staff_raise_the_calling_credit_cap(client, staff, world_a):
    org = world_a.organisation
    client.force_login(staff)
    response = client.post(
        reverse("admin:accounts_organisation_change", args=[org.pk]),
        {
            "name": org.name,
            "plan": org.plan,
            "licence_policy": org.licence_policy,
            "default_licence_type": org.default_licence_type_id,
            "calling_credit_cap": "500.00",
            "tax_rate": "0.2000",
        },
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.calling_credit_cap == Decimal("500.00")
    assert AuditEvent.objects.filter(action="organisation.limits_updated").exists()


# --- invoices and audit --------------------------------------------------------------------


def test_invoice_list_and_page_are_read_only_with_lines(client, world_a):
    client.force_login(world_a.owner)
    listing = client.get(reverse("admin:billing_invoice_changelist"))
    assert world_a.invoice.number in page_text(listing)
    # The one list action reads: the CSV export of the selected invoices' lines.
    assert [value for value, _ in listing.context["action_form"].fields["action"].choices] == [
        "",
        "export_selected_lines",
    ]
    page = client.get(reverse("admin:billing_invoice_change", args=[world_a.invoice.pk]))
    text = page_text(page)
    assert world_a.invoice.lines.first().description in text
    assert 'name="_save"' not in text


def test_invoice_overdue_filter_and_column(client, world_a):
    Invoice.objects.filter(pk=world_a.invoice.pk).update(due_on=dt.date(2020, 1, 1))
    client.force_login(world_a.finance)
    url = reverse("admin:billing_invoice_changelist")
    overdue = client.get(url, {"overdue": "yes"}).context["cl"].result_list
    assert [i.pk for i in overdue] == [world_a.invoice.pk]
    assert world_a.invoice.pk not in {
        i.pk for i in client.get(url, {"overdue": "no"}).context["cl"].result_list
    }


def test_audit_trail_list_filters_by_action_and_target_type(client, world_a):
    client.force_login(world_a.owner)
    url = reverse("admin:accounts_auditevent_changelist")
    rows = client.get(url, {"action": "licence.extension_set"}).context["cl"].result_list
    assert [e.target_id for e in rows] == [str(world_a.phone.pk)]
    types = {
        e.target_type for e in client.get(url, {"target_type": "invoice"}).context["cl"].result_list
    }
    assert types == {"invoice"}
    assert client.get(url, {"q": "zorblax-owner"}).context["cl"].result_count > 0
    year = dt.date.today().year
    assert client.get(url, {"created_at__year": year}).status_code == 200


def test_member_history_shows_their_audit_events(client, world_a):
    from accounts import services as accounts

    accounts.member_update(member=world_a.user, actor=world_a.owner, name="New name")
    client.force_login(world_a.owner)
    text = page_text(client.get(reverse("admin:accounts_user_history", args=[world_a.user.pk])))
    assert "member.updated" in text and "zorblax-owner" in text
