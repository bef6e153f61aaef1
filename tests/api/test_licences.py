"""API.md "Licences": list, filters, summary, buy, remove, terminate, restore, assign, add-ons."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from billing.models import Invoice
from licensing.models import Licence
from tests.factories import (
    LicenceFactory,
    LineFactory,
    OrganisationFactory,
    UserFactory,
    licence_type,
)

LICENCE_FIELDS = {
    "id",
    "type",
    "kind",
    "status",
    "member",
    "line",
    "numbers",
    "extension",
    "number_changes_used",
    "addons",
    "base_licence",
    "purchased_at",
    "removal_effective_on",
}
QUOTE_FIELDS = {
    "restored",
    "purchased",
    "lines",
    "subtotal",
    "tax",
    "total",
    "currency",
    "vat_treatment",
    "vat_note",
}
QUOTE_LINE_FIELDS = {
    "description",
    "quantity",
    "unit_price",
    "period_start",
    "period_end",
    "amount",
}


def ids(response) -> set[str]:
    return {row["id"] for row in response.json()["results"]}


def test_licence_fields(api_client_for, org_a):
    response = api_client_for(org_a["owner"]).get(f"/api/v1/licences/{org_a['assigned'].pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == LICENCE_FIELDS
    assert body["type"] == "user_standard"
    assert body["kind"] == "base"
    assert body["status"] == "active"
    assert body["member"] == str(org_a["user"].pk)
    assert body["line"] is None
    assert body["numbers"] == [str(org_a["number"].pk)]
    assert body["extension"] is None
    assert body["number_changes_used"] == 0
    assert body["addons"] == [{"id": str(org_a["addon"].pk), "type": "call_recording"}]
    assert body["base_licence"] is None
    assert dt.datetime.fromisoformat(body["purchased_at"]).tzinfo is not None
    assert body["removal_effective_on"] is None
    addon = api_client_for(org_a["owner"]).get(f"/api/v1/licences/{org_a['addon'].pk}/").json()
    assert addon["numbers"] == []
    assert addon["kind"] == "addon"
    assert addon["base_licence"] == str(org_a["assigned"].pk)


def test_licence_list_is_paginated(api_client_for, org_a):
    response = api_client_for(org_a["owner"]).get("/api/v1/licences/?page_size=2")

    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 6
    assert len(body["results"]) == 2
    assert "page=2" in body["next"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=phone_system", {"phone"}),
        ("type=call_recording", {"addon"}),
        ("kind=addon", {"addon"}),
        ("status=removal_scheduled", {"scheduled"}),
        ("assigned=true", {"assigned", "phone", "addon"}),
        ("assigned=false", {"free", "scheduled", "bought"}),
        ("extension=101", {"phone"}),
        ("type=user_standard&assigned=false&status=active", {"free"}),
    ],
)
def test_licence_filters(api_client_for, org_a, query, expected):
    response = api_client_for(org_a["owner"]).get(f"/api/v1/licences/?{query}")

    assert response.status_code == 200
    assert ids(response) == {str(org_a[key].pk) for key in expected}


def test_licence_filter_by_member_and_line(api_client_for, org_a):
    on_line = LicenceFactory(
        organisation=org_a["organisation"],
        licence_type=licence_type("room_phone"),
        line=org_a["line"],
    )
    client = api_client_for(org_a["owner"])

    by_member = client.get(f"/api/v1/licences/?member={org_a['user'].pk}")
    by_line = client.get(f"/api/v1/licences/?line={org_a['line'].pk}")

    assert ids(by_member) == {str(org_a["assigned"].pk)}
    assert ids(by_line) == {str(on_line.pk)}


@pytest.mark.parametrize(
    "query", ["type=gold", "status=lost", "member=not-a-uuid", "assigned=perhaps"]
)
def test_licence_filters_reject_bad_values(api_client_for, org_a, query):
    response = api_client_for(org_a["owner"]).get(f"/api/v1/licences/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"]


def test_licence_search_by_uuid_extension_and_member(api_client_for, org_a):
    client = api_client_for(org_a["owner"])
    uuid = str(org_a["free"].pk)

    assert ids(client.get(f"/api/v1/licences/?search={uuid}")) == {uuid}
    assert ids(client.get(f"/api/v1/licences/?search={uuid[:8]}")) == {uuid}
    quintus = UserFactory(organisation=org_a["organisation"], name="Quintus Unique")
    # Eight digits: long enough that no random UUID in the list contains them.
    desk = LicenceFactory(
        organisation=org_a["organisation"],
        licence_type=licence_type("phone_system"),
        extension="97531864",
        member=quintus,
    )

    assert ids(client.get("/api/v1/licences/?search=97531864")) == {str(desk.pk)}
    assert ids(client.get("/api/v1/licences/?search=quintus")) == {str(desk.pk)}
    assert ids(client.get(f"/api/v1/licences/?search={org_a['user'].email}")) == {
        str(org_a["assigned"].pk)
    }


def test_a_user_reads_only_their_own_licences(api_client_for, org_a):
    client = api_client_for(org_a["user"])

    listed = client.get("/api/v1/licences/")
    own = client.get(f"/api/v1/licences/{org_a['assigned'].pk}/")
    other = client.get(f"/api/v1/licences/{org_a['phone'].pk}/")

    # Their seat and the add-on attached to it.
    assert ids(listed) == {str(org_a["assigned"].pk), str(org_a["addon"].pk)}
    assert own.status_code == 200
    assert other.status_code == 404
    assert client.get("/api/v1/licences/summary/").status_code == 403


def test_finance_reads_every_licence(api_client_for, org_a):
    assert api_client_for(org_a["finance"]).get("/api/v1/licences/").json()["count"] == 6


def test_summary(api_client_for, org_a):
    response = api_client_for(org_a["finance"]).get("/api/v1/licences/summary/")

    assert response.status_code == 200
    rows = {row["type"]: row for row in response.json()}
    assert rows["user_standard"] == {
        "type": "user_standard",
        "kind": "base",
        "total": 3,
        "assigned": 1,
        "available": 1,
        "removal_scheduled": 1,
    }
    assert rows["call_recording"] == {
        "type": "call_recording",
        "kind": "addon",
        "total": 1,
        "assigned": 1,
        "available": 0,
        "removal_scheduled": 0,
    }
    assert rows["room_phone"]["available"] == 1


# --- buying ------------------------------------------------------------------------------------


@pytest.fixture
def march_org(db):
    """Monthly, anchored on 1 March 2026 (a 31-day period), EUR, 20 % tax."""
    organisation = OrganisationFactory(billing_anchor=dt.date(2026, 3, 1), tax_rate="0.2000")
    return organisation, UserFactory(organisation=organisation, role="admin")


# 10 March 2026 at 11:00 in Paris (UTC+1).
ON_10_MARCH = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)


@time_machine.travel(ON_10_MARCH, tick=False)
def test_purchase_preview_shows_the_exact_pro_rata(api_client_for, march_org, state):
    _organisation, admin = march_org
    before = state()

    response = api_client_for(admin).post(
        "/api/v1/licences/purchase/preview/",
        {"type": "user_standard", "quantity": 3},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == QUOTE_FIELDS
    # 3 × 19.00 × 22/31 = 40.4516… → 40.45; tax 20 % = 8.09.
    assert body == {
        "restored": 0,
        "purchased": 3,
        "lines": [body["lines"][0]],
        "subtotal": "40.45",
        "tax": "8.09",
        "total": "48.54",
        "currency": "EUR",
        "vat_treatment": "",
        "vat_note": "",
    }
    line = body["lines"][0]
    assert set(line) == QUOTE_LINE_FIELDS
    assert line["quantity"] == 3
    assert line["unit_price"] == "19.00"
    assert line["period_start"] == "2026-03-10"
    assert line["period_end"] == "2026-03-31"
    assert line["amount"] == "40.45"
    assert state() == before


@time_machine.travel(ON_10_MARCH, tick=False)
def test_purchase_charges_the_previewed_amount_to_the_cent(api_client_for, march_org):
    organisation, admin = march_org
    client = api_client_for(admin)

    response = client.post(
        "/api/v1/licences/purchase/", {"type": "user_standard", "quantity": 3}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"restored", "purchased", "licences", "invoice", "total"}
    assert body["restored"] == 0
    assert body["purchased"] == 3
    assert body["total"] == "48.54"
    assert len(body["licences"]) == 3
    invoice = Invoice.objects.get(pk=body["invoice"])
    assert invoice.organisation == organisation
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("40.45"),
        Decimal("8.09"),
        Decimal("48.54"),
    )
    assert (
        Licence.objects.filter(
            pk__in=body["licences"], organisation=organisation, status="active"
        ).count()
        == 3
    )
    shown = client.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert shown["total"] == "48.54"
    assert shown["lines"][0]["amount"] == "40.45"
    assert shown["lines"][0]["type"] == "user_standard"
    assert shown["lines"][0]["kind"] == "proration"


@time_machine.travel(dt.datetime(2026, 1, 12, 9, 0, tzinfo=dt.UTC), tick=False)
def test_yearly_purchase_eleven_days_in(api_client_for, db):
    organisation = OrganisationFactory(
        billing_anchor=dt.date(2026, 1, 1), billing_frequency="yearly", tax_rate="0.2000"
    )
    owner = UserFactory(organisation=organisation, role="owner")

    body = (
        api_client_for(owner)
        .post(
            "/api/v1/licences/purchase/preview/",
            {"type": "phone_system", "quantity": 1},
            format="json",
        )
        .json()
    )

    # 249.50 × 354/365 = 241.9808… → 241.98.
    assert body["lines"][0]["amount"] == "241.98"
    assert body["lines"][0]["period_end"] == "2026-12-31"
    assert body["tax"] == "48.40"
    assert body["total"] == "290.38"


@time_machine.travel(ON_10_MARCH, tick=False)
def test_purchase_restores_scheduled_licences_first(api_client_for, march_org):
    organisation, admin = march_org
    scheduled = LicenceFactory(
        organisation=organisation,
        status="removal_scheduled",
        removal_effective_on=dt.date(2026, 4, 1),
    )
    client = api_client_for(admin)

    preview = client.post(
        "/api/v1/licences/purchase/preview/",
        {"type": "user_standard", "quantity": 2},
        format="json",
    ).json()
    bought = client.post(
        "/api/v1/licences/purchase/", {"type": "user_standard", "quantity": 2}, format="json"
    ).json()

    assert (preview["restored"], preview["purchased"], preview["subtotal"]) == (1, 1, "13.48")
    assert (bought["restored"], bought["purchased"]) == (1, 1)
    assert str(scheduled.pk) in bought["licences"]
    scheduled.refresh_from_db()
    assert scheduled.status == "active"


def test_purchase_of_only_restored_licences_issues_no_invoice(api_client_for, org_a):
    response = api_client_for(org_a["owner"]).post(
        "/api/v1/licences/purchase/", {"type": "user_standard", "quantity": 1}, format="json"
    )

    assert response.status_code == 201
    assert response.json() == {
        "restored": 1,
        "purchased": 0,
        "licences": [str(org_a["scheduled"].pk)],
        "invoice": None,
        "total": "0.00",
    }


@pytest.mark.parametrize("quantity", [0, -1, 10**12, "abc", 1.5, None, True])
@pytest.mark.parametrize("path", ["purchase/preview", "purchase", "remove/preview", "remove"])
def test_quantity_must_be_a_whole_number_of_at_least_one(
    api_client_for, org_a, state, path, quantity
):
    before = state()

    response = api_client_for(org_a["owner"]).post(
        f"/api/v1/licences/{path}/",
        {"type": "user_standard", "quantity": quantity},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"quantity"}
    assert state() == before


@pytest.mark.parametrize("path", ["purchase/preview", "purchase", "remove/preview", "remove"])
def test_an_unknown_type_is_a_field_error(api_client_for, org_a, state, path):
    before = state()

    response = api_client_for(org_a["owner"]).post(
        f"/api/v1/licences/{path}/", {"type": "gold_seat", "quantity": 1}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["type"][0]["code"] == "unknown_licence_type"
    assert state() == before


def test_a_restricted_organisation_cannot_buy(api_client_for, db, state):
    organisation = OrganisationFactory(payment_method_kind="", payment_method_reference="")
    owner = UserFactory(organisation=organisation, role="owner")
    before = state()

    response = api_client_for(owner).post(
        "/api/v1/licences/purchase/", {"type": "user_standard", "quantity": 1}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {"code": "account_restricted", "detail": response.json()["detail"]}
    assert response.json()["detail"]
    assert state() == before


# --- removing, terminating, restoring ---------------------------------------------------------


@time_machine.travel(ON_10_MARCH, tick=False)
def test_remove_preview_and_remove(api_client_for, march_org, state):
    organisation, admin = march_org
    free = LicenceFactory.create_batch(2, organisation=organisation)
    client = api_client_for(admin)
    before = state()

    preview = client.post(
        "/api/v1/licences/remove/preview/", {"type": "user_standard", "quantity": 2}, format="json"
    )
    assert state() == before
    removed = client.post(
        "/api/v1/licences/remove/", {"type": "user_standard", "quantity": 2}, format="json"
    )

    assert preview.status_code == 200
    assert removed.status_code == 200
    for response in (preview, removed):
        body = response.json()
        assert set(body) == {
            "licences",
            "effective_on",
            "termination_fee",
            "vat_treatment",
            "vat_note",
        }
        assert set(body["licences"]) == {str(licence.pk) for licence in free}
        assert body["effective_on"] == "2026-04-01"
        assert body["termination_fee"] == "0.00"
    shown = client.get(f"/api/v1/licences/{free[0].pk}/").json()
    assert shown["status"] == "removal_scheduled"
    assert shown["removal_effective_on"] == "2026-04-01"


@pytest.mark.parametrize("path", ["remove/preview", "remove"])
def test_removing_more_than_the_unassigned_is_refused(api_client_for, org_a, state, path):
    before = state()

    response = api_client_for(org_a["owner"]).post(
        f"/api/v1/licences/{path}/", {"type": "user_standard", "quantity": 2}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_enough_unassigned_licences"
    assert state() == before


def test_terminate_and_restore(api_client_for, org_a):
    client = api_client_for(org_a["admin"])
    licence = org_a["free"]

    terminated = client.post(f"/api/v1/licences/{licence.pk}/terminate/")
    restored = client.post(f"/api/v1/licences/{licence.pk}/restore/")

    assert terminated.status_code == 200
    assert set(terminated.json()) == LICENCE_FIELDS
    assert terminated.json()["status"] == "removal_scheduled"
    assert terminated.json()["removal_effective_on"] is not None
    assert restored.status_code == 200
    assert restored.json()["status"] == "active"
    assert restored.json()["removal_effective_on"] is None


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("assigned", "licence_in_use"),
        ("phone", "licence_in_use"),
        ("addon", "licence_in_use"),
        ("scheduled", "licence_not_removable"),
    ],
)
def test_terminate_refusals(api_client_for, org_a, state, key, code):
    before = state()

    response = api_client_for(org_a["owner"]).post(f"/api/v1/licences/{org_a[key].pk}/terminate/")

    assert response.status_code == 409
    assert response.json()["code"] == code
    assert state() == before


def test_restore_of_an_active_licence_is_refused(api_client_for, org_a, state):
    before = state()

    response = api_client_for(org_a["owner"]).post(f"/api/v1/licences/{org_a['free'].pk}/restore/")

    assert response.status_code == 409
    assert response.json()["code"] == "licence_not_removable"
    assert state() == before


# --- assignment, add-ons, extensions -----------------------------------------------------------


def test_assign_to_a_member_then_a_line_then_unassign(api_client_for, org_a):
    client = api_client_for(org_a["admin"])
    licence = org_a["free"]

    to_member = client.post(
        f"/api/v1/licences/{licence.pk}/assign/",
        {"member": str(org_a["finance"].pk)},
        format="json",
    )
    to_line = client.post(
        f"/api/v1/licences/{licence.pk}/assign/", {"line": str(org_a["line"].pk)}, format="json"
    )
    unassigned = client.post(f"/api/v1/licences/{licence.pk}/unassign/")

    assert to_member.status_code == 200
    assert to_member.json()["member"] == str(org_a["finance"].pk)
    assert (to_line.json()["member"], to_line.json()["line"]) == (None, str(org_a["line"].pk))
    assert (unassigned.json()["member"], unassigned.json()["line"]) == (None, None)


@pytest.mark.parametrize(
    "body",
    [{}, {"member": None, "line": None}, {"member": "MEMBER", "line": "LINE"}],
)
def test_assign_needs_exactly_one_assignee(api_client_for, org_a, state, body):
    body = {
        k: str(org_a["user"].pk) if v == "MEMBER" else str(org_a["line"].pk) if v == "LINE" else v
        for k, v in body.items()
    }
    before = state()

    response = api_client_for(org_a["owner"]).post(
        f"/api/v1/licences/{org_a['free'].pk}/assign/", body, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["non_field_errors"][0]["code"] == "one_assignee"
    assert state() == before


def test_assign_refuses_unknown_and_deactivated_members(api_client_for, org_a, state):
    gone = UserFactory(organisation=org_a["organisation"], status="deactivated")
    client = api_client_for(org_a["owner"])
    before = state()

    unknown = client.post(
        f"/api/v1/licences/{org_a['free'].pk}/assign/",
        {"member": "00000000-0000-0000-0000-000000000000"},
        format="json",
    )
    deactivated = client.post(
        f"/api/v1/licences/{org_a['free'].pk}/assign/", {"member": str(gone.pk)}, format="json"
    )

    assert unknown.status_code == 400
    assert unknown.json()["fields"]["member"][0]["code"] == "does_not_exist"
    assert deactivated.status_code == 400
    assert deactivated.json()["fields"]["member"][0]["code"] == "deactivated"
    assert state() == before


def test_assign_a_scheduled_licence_is_refused(api_client_for, org_a, state):
    before = state()

    response = api_client_for(org_a["owner"]).post(
        f"/api/v1/licences/{org_a['scheduled'].pk}/assign/",
        {"member": str(org_a["user"].pk)},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "licence_not_active"
    assert state() == before


def test_set_addons_attaches_free_addons_and_buys_the_rest(api_client_for, org_a):
    free_recording = LicenceFactory(
        organisation=org_a["organisation"], licence_type=licence_type("device_ip_phone")
    )
    client = api_client_for(org_a["admin"])
    invoices = Invoice.objects.count()

    response = client.put(
        f"/api/v1/licences/{org_a['free'].pk}/addons/",
        {"codes": ["device_ip_phone", "team_chat"]},
        format="json",
    )

    assert response.status_code == 200, response.content
    addons = {row["type"]: row["id"] for row in response.json()["addons"]}
    assert set(addons) == {"device_ip_phone", "team_chat"}
    assert addons["device_ip_phone"] == str(free_recording.pk)
    assert Invoice.objects.count() == invoices + 1  # team_chat was bought (auto_purchase)

    cleared = client.put(
        f"/api/v1/licences/{org_a['free'].pk}/addons/", {"codes": []}, format="json"
    )
    assert cleared.json()["addons"] == []
    free_recording.refresh_from_db()
    assert free_recording.base_licence is None


def test_set_addons_refusals(api_client_for, org_a, state):
    fax = LicenceFactory(organisation=org_a["organisation"], licence_type=licence_type("fax"))
    client = api_client_for(org_a["owner"])
    before = state()

    unknown = client.put(
        f"/api/v1/licences/{org_a['free'].pk}/addons/", {"codes": ["jetpack"]}, format="json"
    )
    not_allowed = client.put(
        f"/api/v1/licences/{fax.pk}/addons/", {"codes": ["call_recording"]}, format="json"
    )
    not_a_list = client.put(
        f"/api/v1/licences/{org_a['free'].pk}/addons/", {"codes": "team_chat"}, format="json"
    )

    assert unknown.status_code == 400
    assert unknown.json()["fields"]["codes"][0]["code"] == "unknown_addon"
    assert not_allowed.status_code == 409
    assert not_allowed.json()["code"] == "addon_not_allowed"
    assert not_a_list.status_code == 400
    assert state() == before


def test_set_addons_under_block_policy_without_a_free_addon(api_client_for, org_a, state):
    organisation = org_a["organisation"]
    organisation.licence_policy = "block"
    organisation.save()
    before = state()

    response = api_client_for(org_a["owner"]).put(
        f"/api/v1/licences/{org_a['free'].pk}/addons/", {"codes": ["team_chat"]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "no_licence_available"
    assert state() == before


def test_patch_extension(api_client_for, org_a):
    other_phone = LicenceFactory(
        organisation=org_a["organisation"], licence_type=licence_type("phone_system")
    )
    client = api_client_for(org_a["admin"])

    response = client.patch(
        f"/api/v1/licences/{other_phone.pk}/", {"extension": "102"}, format="json"
    )
    cleared = client.patch(
        f"/api/v1/licences/{org_a['phone'].pk}/", {"extension": None}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["extension"] == "102"
    assert cleared.json()["extension"] is None


@pytest.mark.parametrize(
    ("key", "extension", "status", "code"),
    [
        ("free", "103", 409, "extension_not_supported"),
        ("phone", "1a", 400, "invalid_extension"),
        ("phone", "123456789", 400, "max_length"),
        # Unicode digits pass `str.isdigit`; the database refused them with a 409.
        ("phone", "\u0661\u0660\u0662", 400, "invalid_extension"),  # Arabic-Indic 102
        ("phone", "\uff11\uff10\uff12", 400, "invalid_extension"),  # fullwidth 102
        ("phone", "1\u00b2", 400, "invalid_extension"),  # superscript two
    ],
)
def test_patch_extension_refusals(api_client_for, org_a, state, key, extension, status, code):
    before = state()

    response = api_client_for(org_a["owner"]).patch(
        f"/api/v1/licences/{org_a[key].pk}/", {"extension": extension}, format="json"
    )

    assert response.status_code == status
    body = response.json()
    assert (body["code"] if status == 409 else body["fields"]["extension"][0]["code"]) == code
    assert state() == before


def test_extension_taken(api_client_for, org_a, state):
    other_phone = LicenceFactory(
        organisation=org_a["organisation"], licence_type=licence_type("phone_system")
    )
    before = state()

    response = api_client_for(org_a["owner"]).patch(
        f"/api/v1/licences/{other_phone.pk}/", {"extension": "101"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "extension_taken"
    assert state() == before


def test_same_extension_in_another_organisation_is_fine(api_client_for, org_a, other_owner):
    phone = LicenceFactory(
        organisation=other_owner.organisation, licence_type=licence_type("phone_system")
    )

    response = api_client_for(other_owner).patch(
        f"/api/v1/licences/{phone.pk}/", {"extension": "101"}, format="json"
    )

    assert response.status_code == 200


def test_unknown_licence_id_is_a_404_in_the_error_format(api_client_for, org_a):
    client = api_client_for(org_a["owner"])

    missing = client.get("/api/v1/licences/00000000-0000-0000-0000-000000000000/")
    malformed = client.get("/api/v1/licences/not-a-uuid/")

    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "detail": "Not found."}
    assert malformed.status_code == 404


def test_a_line_assignee_can_be_created_then_used(api_client_for, org_a):
    line = LineFactory(organisation=org_a["organisation"], kind="fax", name="Fax 1")
    fax = LicenceFactory(organisation=org_a["organisation"], licence_type=licence_type("fax"))

    response = api_client_for(org_a["owner"]).post(
        f"/api/v1/licences/{fax.pk}/assign/", {"line": str(line.pk)}, format="json"
    )

    assert response.json()["line"] == str(line.pk)


# --- a removal is done from its effective date; terminating shows its fee first ---------------

PARIS_TZ = dt.timezone(dt.timedelta(hours=1))  # February: Paris is UTC+1


@pytest.fixture
def paris_org(db):
    organisation = OrganisationFactory(billing_anchor=dt.date(2026, 1, 1), timezone="Europe/Paris")
    return organisation, UserFactory(organisation=organisation, role="admin")


def test_restore_at_0030_on_the_effective_date_is_a_409(api_client_for, paris_org, state):
    organisation, admin = paris_org
    licence = LicenceFactory(organisation=organisation)
    with time_machine.travel(dt.datetime(2027, 1, 15, 10, 0, tzinfo=PARIS_TZ), tick=False):
        client = api_client_for(admin)  # a token used within its idle days
        assert client.post(f"/api/v1/licences/{licence.pk}/terminate/").status_code == 200
    before = state()

    with time_machine.travel(dt.datetime(2027, 2, 1, 0, 30, tzinfo=PARIS_TZ), tick=False):
        response = client.post(f"/api/v1/licences/{licence.pk}/restore/")

    assert response.status_code == 409
    assert response.json() == {
        "code": "removal_already_effective",
        "detail": "This licence was removed on 1 Feb 2027: it can no longer be restored. "
        "Buy a new licence instead.",
    }
    assert state() == before


def test_terminate_preview_shows_the_fee_terminate_then_causes(api_client_for, paris_org, state):
    from billing.models import Commitment

    organisation, admin = paris_org
    licences = LicenceFactory.create_batch(2, organisation=organisation)
    Commitment.objects.create(
        organisation=organisation,
        licence_type=licence_type("user_standard"),
        quantity=2,
        ends_on=dt.date(2027, 5, 1),
    )
    url = f"/api/v1/licences/{licences[0].pk}"
    before = state()

    with time_machine.travel(dt.datetime(2027, 1, 15, 10, 0, tzinfo=PARIS_TZ), tick=False):
        client = api_client_for(admin)  # a token used within its idle days
        preview = client.post(f"{url}/terminate/preview/")
        assert state() == before
        terminated = client.post(f"{url}/terminate/")

    # One licence below the commitment, three whole months (1 Feb to 1 May) at 19.00.
    assert preview.status_code == 200
    assert preview.json() == {
        "licences": [str(licences[0].pk)],
        "effective_on": "2027-02-01",
        "termination_fee": "57.00",
        "vat_treatment": "",
        "vat_note": "",
    }
    assert terminated.status_code == 200
    assert terminated.json()["removal_effective_on"] == "2027-02-01"


def test_terminate_preview_refuses_a_licence_in_use(api_client_for, org_a, state):
    before = state()

    response = api_client_for(org_a["owner"]).post(
        f"/api/v1/licences/{org_a['assigned'].pk}/terminate/preview/"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "licence_in_use"
    assert state() == before
