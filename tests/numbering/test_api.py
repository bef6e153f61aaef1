"""API.md "Numbers": shapes, statuses and codes, roles, tenancy, and a flat query count."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent, User
from accounts.service_tokens import service_token_create
from billing.models import Invoice
from licensing.models import Licence
from numbering import services
from numbering.models import InventoryNumber, NumberAssignment, NumberStatus, PhoneNumber
from numbering.selectors import number_holder
from tests.factories import (
    LicenceFactory,
    LineFactory,
    OrganisationFactory,
    UserFactory,
    licence_type,
    stock,
)

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# A 30-day period (November, anchored on the 1st) with 21 days left, as in docs/rules.md's example.
NOV_10 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=PARIS)
NUMBER_KEYS = {
    "id",
    "e164",
    "country",
    "type",
    "capabilities",
    "status",
    "member",
    "line",
    "licence",
    "assigned_at",
    "quarantine_ends_on",
}


@pytest.fixture(autouse=True)
def inventory(db):
    return {
        "mobile": stock("FR", "mobile", 40),
        "landline": stock("FR", "landline", 5),
        "gb_mobile": stock("GB", "mobile", 3),
    }


@pytest.fixture
def world(organisation, owner, admin_member, finance_member, user_member):
    """Organisation A: a member of every role; the user holds a mobile, a line a landline; one
    free licence."""
    line = LineFactory(organisation=organisation, name="Reception A-secret", kind="room_phone")
    mobile = services.number_assign(
        organisation=organisation,
        actor=owner,
        country="FR",
        number_type="mobile",
        member=user_member,
        licence=LicenceFactory(organisation=organisation),
    ).number
    landline = services.number_assign(
        organisation=organisation,
        actor=owner,
        country="FR",
        number_type="landline",
        line=line,
        licence=LicenceFactory(organisation=organisation, licence_type=licence_type("room_phone")),
    ).number
    free = LicenceFactory(organisation=organisation)
    return {
        "organisation": organisation,
        "owner": owner,
        "admin": admin_member,
        "finance": finance_member,
        "user": user_member,
        "line": line,
        "mobile": mobile,
        "landline": landline,
        "free": free,
    }


def state() -> dict:
    """Everything a number route could change: a refused request must leave it equal."""
    return {
        "numbers": list(PhoneNumber.objects.order_by("pk").values()),
        "licences": list(Licence.objects.order_by("pk").values()),
        "history": list(NumberAssignment.objects.order_by("pk").values()),
        "inventory": InventoryNumber.objects.count(),
        "invoices": Invoice.objects.count(),
        "audit": AuditEvent.objects.count(),
        "users": list(User.objects.order_by("pk").values("pk", "status", "organisation")),
    }


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def field_code(response, field: str) -> str:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    return body["fields"][field][0]["code"]


# --- available numbers -----------------------------------------------------------------------


def test_available_numbers_shape_and_contains(api_client_for, owner, inventory):
    client = api_client_for(owner)
    wanted = inventory["mobile"][12]

    everything = client.get("/api/v1/available-numbers/?country=FR&type=mobile")
    spaced = client.get(
        "/api/v1/available-numbers/",
        {"country": "fr", "type": "mobile", "contains": f"+{wanted[1:4]} {wanted[4:]}"},
    )

    assert everything.status_code == 200
    assert [row["e164"] for row in everything.json()] == sorted(inventory["mobile"])
    assert everything.json()[0] == {
        "e164": sorted(inventory["mobile"])[0],
        "country": "FR",
        "type": "mobile",
        "capabilities": ["voice", "sms", "mms"],
    }
    assert [row["e164"] for row in spaced.json()] == [wanted]
    landlines = client.get("/api/v1/available-numbers/?country=FR&type=landline").json()
    assert {row["capabilities"] == ["voice"] for row in landlines} == {True}


def test_available_numbers_are_at_most_100_and_not_paginated(api_client_for, owner):
    stock("FR", "mobile", 130, start=5000)

    body = api_client_for(owner).get("/api/v1/available-numbers/?country=FR&type=mobile").json()

    assert isinstance(body, list) and len(body) == 100


def test_available_numbers_need_country_and_type(api_client_for, owner):
    client = api_client_for(owner)

    missing = client.get("/api/v1/available-numbers/")
    bad = client.get("/api/v1/available-numbers/?country=ZZ&type=satellite")

    assert missing.status_code == 400
    assert missing.json()["fields"] == {
        "country": [{"code": "required", "message": "This field is required."}],
        "type": [{"code": "required", "message": "This field is required."}],
    }
    assert field_code(bad, "country") == "invalid_choice"
    assert field_code(bad, "type") == "invalid_choice"


def test_available_numbers_need_a_member_not_a_service_token(anon_client, db):
    assert anon_client.get("/api/v1/available-numbers/?country=FR&type=mobile").status_code == 401
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {service_token_create(name='pbx')[1]}")
    assert anon_client.get("/api/v1/available-numbers/?country=FR&type=mobile").status_code == 403


# --- list and detail ---------------------------------------------------------------------------


def test_number_shape(api_client_for, world):
    mobile, landline = world["mobile"], world["landline"]

    rows = {
        row["e164"]: row for row in results(api_client_for(world["owner"]).get("/api/v1/numbers/"))
    }

    assert set(rows) == {mobile.e164, landline.e164}
    row = rows[mobile.e164]
    assert set(row) == NUMBER_KEYS
    assert row == {
        "id": str(mobile.pk),
        "e164": mobile.e164,
        "country": "FR",
        "type": "mobile",
        "capabilities": ["voice", "sms", "mms"],
        "status": "assigned",
        "member": str(world["user"].pk),
        "line": None,
        "licence": str(mobile.licence_id),
        "assigned_at": row["assigned_at"],
        "quarantine_ends_on": None,
    }
    assert dt.datetime.fromisoformat(row["assigned_at"]) == mobile.assigned_at
    line_row = rows[landline.e164]
    assert (line_row["member"], line_row["line"]) == (None, str(world["line"].pk))
    assert line_row["capabilities"] == ["voice"]  # rule 10: never SMS on a landline


def test_list_is_paginated(api_client_for, world):
    body = api_client_for(world["owner"]).get("/api/v1/numbers/?page_size=1").json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2 and len(body["results"]) == 1


def test_detail(api_client_for, world):
    response = api_client_for(world["finance"]).get(f"/api/v1/numbers/{world['mobile'].pk}/")

    assert response.status_code == 200
    assert response.json()["e164"] == world["mobile"].e164


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("country=FR", {"mobile", "landline"}),
        ("country=fr", {"mobile", "landline"}),
        ("country=GB", set()),
        ("type=mobile", {"mobile"}),
        ("type=landline", {"landline"}),
        ("status=assigned", {"mobile", "landline"}),
        ("status=quarantined", set()),
        ("member={user}", {"mobile"}),
        ("member={owner}", set()),
        ("line={line}", {"landline"}),
        ("licence={mobile_licence}", {"mobile"}),
        ("search=Reception", {"landline"}),
    ],
)
def test_filters(api_client_for, world, query, expected):
    refs = {
        "user": world["user"].pk,
        "owner": world["owner"].pk,
        "line": world["line"].pk,
        "mobile_licence": world["mobile"].licence_id,
    }
    names = {world["mobile"].e164: "mobile", world["landline"].e164: "landline"}

    rows = results(api_client_for(world["owner"]).get(f"/api/v1/numbers/?{query.format(**refs)}"))

    assert {names[row["e164"]] for row in rows} == expected


def test_search_by_digits_and_by_member(api_client_for, world):
    client = api_client_for(world["owner"])
    e164 = world["mobile"].e164  # +336…
    spaced = f"+{e164[1:3]} {e164[3]} {e164[4:6]} {e164[6:8]}"
    user = world["user"]

    for term in (e164, spaced, e164[3:9], user.name, user.email.upper(), user.email[:6]):
        rows = results(client.get("/api/v1/numbers/", {"search": term}))
        assert [row["e164"] for row in rows] == [e164], term
    assert results(client.get("/api/v1/numbers/", {"search": "nobody-like-this"})) == []


def test_deleted_numbers_are_listed_as_quarantined(api_client_for, world):
    with time_machine.travel(NOV_10, tick=False):
        response = api_client_for(world["owner"]).delete(f"/api/v1/numbers/{world['mobile'].pk}/")
        rows = results(api_client_for(world["owner"]).get("/api/v1/numbers/?status=quarantined"))

    assert response.status_code == 204 and response.content == b""
    assert len(rows) == 1
    assert rows[0] | {"assigned_at": None} == {
        "id": str(world["mobile"].pk),
        "e164": world["mobile"].e164,
        "country": "FR",
        "type": "mobile",
        "capabilities": ["voice", "sms", "mms"],
        "status": "quarantined",
        "member": None,
        "line": None,
        "licence": None,
        "assigned_at": None,
        "quarantine_ends_on": "2026-12-10",
    }
    # Rule 6: the licence stays with its member, active and billed.
    licence = Licence.objects.get(pk=world["mobile"].licence_id)
    assert (licence.member, licence.status) == (world["user"], "active")


def test_a_user_sees_only_their_own_numbers(api_client_for, world):
    client = api_client_for(world["user"])

    rows = results(client.get("/api/v1/numbers/"))

    assert [row["e164"] for row in rows] == [world["mobile"].e164]
    assert client.get(f"/api/v1/numbers/{world['landline'].pk}/").status_code == 404
    assert client.get(f"/api/v1/numbers/{world['mobile'].pk}/").status_code == 200


def test_a_users_add_on_number_is_theirs(api_client_for, world):
    """A number on an add-on licence belongs to the base licence's holder."""
    organisation, user = world["organisation"], world["user"]
    base = Licence.objects.get(pk=world["mobile"].licence_id)
    addon = LicenceFactory(
        organisation=organisation,
        licence_type=licence_type("user_multi_mobile"),
        base_licence=base,
    )
    number = PhoneNumber.objects.create(
        organisation=organisation,
        e164="+33699887766",
        country="FR",
        number_type="mobile",
        status="assigned",
        licence=addon,
    )

    rows = results(api_client_for(user).get("/api/v1/numbers/"))
    by_member = results(api_client_for(world["owner"]).get(f"/api/v1/numbers/?member={user.pk}"))

    assert {row["e164"] for row in rows} == {world["mobile"].e164, number.e164}
    assert {row["e164"] for row in by_member} == {world["mobile"].e164, number.e164}
    assert next(r for r in rows if r["e164"] == number.e164)["member"] == str(user.pk)


# --- assign ------------------------------------------------------------------------------------


def test_assign_uses_a_free_licence(api_client_for, world, inventory):
    member = UserFactory(organisation=world["organisation"])
    wanted = inventory["mobile"][20]

    response = api_client_for(world["admin"]).post(
        "/api/v1/numbers/",
        {"member": str(member.pk), "country": "FR", "type": "mobile", "e164": wanted},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == NUMBER_KEYS | {"licence_purchased", "invoice"}
    assert body["e164"] == wanted and body["status"] == "assigned"
    assert body["member"] == str(member.pk) and body["licence"] == str(world["free"].pk)
    assert (body["licence_purchased"], body["invoice"]) == (False, None)
    assert not InventoryNumber.objects.filter(e164=wanted).exists()


def test_assign_buys_a_licence_pro_rata(api_client_for, db):
    organisation = OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))
    owner = UserFactory(organisation=organisation, role="owner")
    member = UserFactory(organisation=organisation)

    with time_machine.travel(NOV_10, tick=False):
        response = api_client_for(owner).post(
            "/api/v1/numbers/",
            {"member": str(member.pk), "country": "FR", "type": "mobile"},
            format="json",
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["licence_purchased"] is True
    invoice = Invoice.objects.get(pk=body["invoice"])
    # User licence 19.00 × 21/30 = 13.30; tax 20 % = 2.66.
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("13.30"),
        Decimal("2.66"),
        Decimal("15.96"),
    )
    licence = Licence.objects.get(pk=body["licence"])
    assert (licence.member, licence.licence_type.code) == (member, "user_standard")


def test_assign_to_a_line_with_a_licence_type(api_client_for, world):
    line = LineFactory(organisation=world["organisation"], kind="shared_line", name="Sales")

    response = api_client_for(world["owner"]).post(
        "/api/v1/numbers/",
        {"line": str(line.pk), "country": "fr", "type": "landline", "licence_type": "shared_line"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["member"], body["line"], body["licence_purchased"]) == (None, str(line.pk), True)
    assert Licence.objects.get(pk=body["licence"]).licence_type.code == "shared_line"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"e164": "+33 6 12"}, "e164", "invalid_number"),
        ({"e164": "+33123456789"}, "e164", "invalid_number"),  # a landline, asked as a mobile
        ({"e164": "+447400123456"}, "e164", "invalid_number"),  # a GB number, asked in FR
        ({"country": "ZZ"}, "country", "invalid_choice"),
        ({"type": "satellite"}, "type", "invalid_choice"),
        ({"licence_type": "no_such_type"}, "licence_type", "unknown_licence_type"),
        ({"member": None}, "non_field_errors", "one_assignee"),
        ({"line": "{line}"}, "non_field_errors", "one_assignee"),
        ({"member": "00000000-0000-0000-0000-000000000000"}, "member", "does_not_exist"),
    ],
)
def test_assign_bad_input_is_a_400(api_client_for, world, body, field, code):
    refs = {"line": str(world["line"].pk)}
    data = {"member": str(world["admin"].pk), "country": "FR", "type": "mobile", **body}
    data = {k: v.format(**refs) if isinstance(v, str) else v for k, v in data.items()}
    data = {k: v for k, v in data.items() if v is not None}
    before = state()

    response = api_client_for(world["owner"]).post("/api/v1/numbers/", data, format="json")

    assert field_code(response, field) == code
    assert state() == before


def test_assign_refusals_are_409_and_change_nothing(api_client_for, world, inventory):
    organisation, client = world["organisation"], api_client_for(world["owner"])
    blocked = world["admin"]
    for _ in range(4):  # connect plan: 5 numbers per member
        services.number_assign(
            organisation=organisation,
            actor=world["owner"],
            country="FR",
            number_type="mobile",
            member=world["user"],
        )
    before = state()

    cap = client.post(
        "/api/v1/numbers/",
        {"member": str(world["user"].pk), "country": "FR", "type": "mobile"},
        format="json",
    )
    taken = client.post(
        "/api/v1/numbers/",
        {
            "member": str(blocked.pk),
            "country": "FR",
            "type": "mobile",
            "e164": world["mobile"].e164,
        },
        format="json",
    )
    full = client.post(
        "/api/v1/numbers/",
        {
            "member": str(world["user"].pk),
            "country": "FR",
            "type": "mobile",
            "licence": str(world["mobile"].licence_id),
        },
        format="json",
    )
    no_stock = client.post(
        "/api/v1/numbers/",
        {"member": str(blocked.pk), "country": "FR", "type": "toll_free"},
        format="json",
    )

    assert cap.status_code == 409 and cap.json()["code"] == "plan_number_limit_reached"
    assert set(cap.json()) == {"code", "detail"}
    assert taken.status_code == 409 and taken.json()["code"] == "number_unavailable"
    assert full.status_code == 409 and full.json()["code"] in {
        "licence_full",
        "plan_number_limit_reached",
    }
    assert no_stock.status_code == 409 and no_stock.json()["code"] == "number_unavailable"
    assert state() == before


def test_assign_under_the_block_policy_is_refused(api_client_for, db):
    organisation = OrganisationFactory(licence_policy="block")
    owner = UserFactory(organisation=organisation, role="owner")
    before = state()

    response = api_client_for(owner).post(
        "/api/v1/numbers/",
        {"member": str(owner.pk), "country": "FR", "type": "mobile"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "no_licence_available"
    assert state() == before


def test_a_restricted_account_cannot_assign(api_client_for, db):
    organisation = OrganisationFactory(payment_method_kind="", payment_method_reference="")
    owner = UserFactory(organisation=organisation, role="owner")
    LicenceFactory(organisation=organisation)
    before = state()

    response = api_client_for(owner).post(
        "/api/v1/numbers/",
        {"member": str(owner.pk), "country": "FR", "type": "mobile"},
        format="json",
    )

    assert response.status_code == 409 and response.json()["code"] == "account_restricted"
    assert state() == before


def test_a_full_given_licence_is_licence_full(api_client_for, world):
    response = api_client_for(world["owner"]).post(
        "/api/v1/numbers/",
        {
            "member": str(world["user"].pk),
            "country": "FR",
            "type": "landline",
            "licence": str(world["mobile"].licence_id),
        },
        format="json",
    )

    assert response.status_code == 409 and response.json()["code"] == "licence_full"


# --- reassign, change, delete, recover ---------------------------------------------------------


def test_reassign_moves_the_number_with_its_licence(api_client_for, world):
    number, target = world["mobile"], world["admin"]

    response = api_client_for(world["owner"]).post(
        f"/api/v1/numbers/{number.pk}/reassign/", {"member": str(target.pk)}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["member"], body["licence"]) == (
        str(number.pk),
        str(target.pk),
        str(number.licence_id),
    )
    assert Licence.objects.get(pk=number.licence_id).member == target  # rule 7


def test_reassign_to_a_line(api_client_for, world):
    line = LineFactory(organisation=world["organisation"], kind="room_phone")

    body = (
        api_client_for(world["owner"])
        .post(
            f"/api/v1/numbers/{world['mobile'].pk}/reassign/", {"line": str(line.pk)}, format="json"
        )
        .json()
    )

    assert (body["member"], body["line"]) == (None, str(line.pk))


def test_reassign_past_the_target_cap_is_409(api_client_for, world):
    organisation, target = world["organisation"], world["admin"]
    for _ in range(5):
        services.number_assign(
            organisation=organisation,
            actor=world["owner"],
            country="FR",
            number_type="mobile",
            member=target,
        )
    before = state()

    response = api_client_for(world["owner"]).post(
        f"/api/v1/numbers/{world['mobile'].pk}/reassign/",
        {"member": str(target.pk)},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "plan_number_limit_reached"
    assert state() == before


def test_change_gives_a_new_number_on_the_same_licence(api_client_for, world, inventory):
    old, client = world["mobile"], api_client_for(world["owner"])
    wanted = inventory["mobile"][30]

    response = client.post(f"/api/v1/numbers/{old.pk}/change/", {"e164": wanted}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == NUMBER_KEYS
    assert body["id"] != str(old.pk) and body["e164"] == wanted
    assert (body["licence"], body["member"]) == (str(old.licence_id), str(world["user"].pk))
    assert PhoneNumber.objects.get(pk=old.pk).status == NumberStatus.QUARANTINED
    assert Licence.objects.get(pk=old.licence_id).number_changes_used == 1


def test_the_sixth_change_is_refused(api_client_for, world):
    client = api_client_for(world["admin"])
    number_id = str(world["mobile"].pk)
    for _ in range(5):
        response = client.post(f"/api/v1/numbers/{number_id}/change/", {}, format="json")
        assert response.status_code == 201
        number_id = response.json()["id"]
    before = state()

    sixth = client.post(f"/api/v1/numbers/{number_id}/change/", {}, format="json")

    assert sixth.status_code == 409
    assert sixth.json()["code"] == "number_change_limit_reached"
    assert state() == before


def test_change_to_an_invalid_number_is_a_400(api_client_for, world):
    before = state()

    response = api_client_for(world["owner"]).post(
        f"/api/v1/numbers/{world['mobile'].pk}/change/", {"e164": "12"}, format="json"
    )

    assert field_code(response, "e164") == "invalid_number"
    assert state() == before


def test_delete_twice_is_a_409(api_client_for, world):
    client = api_client_for(world["owner"])
    assert client.delete(f"/api/v1/numbers/{world['mobile'].pk}/").status_code == 204
    before = state()

    again = client.delete(f"/api/v1/numbers/{world['mobile'].pk}/")

    assert again.status_code == 409 and again.json()["code"] == "number_unavailable"
    assert state() == before


def test_recover_is_for_platform_staff(api_client_for, world, staff):
    number = world["mobile"]
    api_client_for(world["owner"]).delete(f"/api/v1/numbers/{number.pk}/")
    before = state()

    for role in ("owner", "admin", "finance", "user"):
        denied = api_client_for(world[role]).post(f"/api/v1/numbers/{number.pk}/recover/")
        assert denied.status_code == 404 if role == "user" else 403, (role, denied.content)
    assert state() == before

    recovered = api_client_for(staff).post(f"/api/v1/numbers/{number.pk}/recover/")

    assert recovered.status_code == 200, recovered.content
    body = recovered.json()
    assert (body["status"], body["member"]) == ("assigned", str(world["user"].pk))
    assert number_holder(PhoneNumber.objects.get(pk=number.pk)) == (world["user"], None)


def test_staff_recover_to_a_member_of_another_organisation_is_a_400(
    api_client_for, world, staff, other_owner
):
    api_client_for(world["owner"]).delete(f"/api/v1/numbers/{world['mobile'].pk}/")
    before = state()

    response = api_client_for(staff).post(
        f"/api/v1/numbers/{world['mobile'].pk}/recover/",
        {"member": str(other_owner.pk)},
        format="json",
    )

    assert field_code(response, "member") == "does_not_exist"
    assert state() == before


# --- roles -------------------------------------------------------------------------------------

ROLES = ("owner", "admin", "finance", "user")
MANAGERS = {"owner", "admin"}
# name: (method, path, body, success status)
WRITES = {
    "assign": (
        "post",
        "/api/v1/numbers/",
        {"member": "{target}", "country": "FR", "type": "mobile"},
        201,
    ),
    "reassign": ("post", "/api/v1/numbers/{mobile}/reassign/", {"member": "{target}"}, 200),
    "change": ("post", "/api/v1/numbers/{mobile}/change/", {}, 201),
    "delete": ("delete", "/api/v1/numbers/{mobile}/", None, 204),
}


def _fill(value, refs):
    if isinstance(value, str):
        return value.format(**refs)
    if isinstance(value, dict):
        return {key: _fill(item, refs) for key, item in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(WRITES))
def test_write_routes_by_role(api_client_for, world, endpoint, role):
    method, path, body, success = WRITES[endpoint]
    target = UserFactory(organisation=world["organisation"], name="Target")
    refs = {"mobile": world["mobile"].pk, "target": target.pk}
    before = state()

    response = getattr(api_client_for(world[role]), method)(
        _fill(path, refs), _fill(body, refs), format="json"
    )

    if role in MANAGERS:
        assert response.status_code == success, response.content
        assert state() != before
    else:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"
        assert state() == before


@pytest.mark.parametrize("role", ROLES)
def test_read_routes_by_role(api_client_for, world, role):
    client = api_client_for(world[role])

    listed = results(client.get("/api/v1/numbers/"))
    available = client.get("/api/v1/available-numbers/?country=FR&type=mobile")

    everyone = {world["mobile"].e164, world["landline"].e164}
    assert {row["e164"] for row in listed} == (
        {world["mobile"].e164} if role == "user" else everyone
    )
    assert available.status_code == 200


def test_platform_staff_list_every_organisation_and_assign_in_any(
    api_client_for, world, staff, other_owner
):
    client = api_client_for(staff)
    LicenceFactory(organisation=other_owner.organisation)

    assigned = client.post(
        "/api/v1/numbers/",
        {"member": str(other_owner.pk), "country": "FR", "type": "mobile"},
        format="json",
    )
    listed = results(client.get("/api/v1/numbers/?page_size=500"))

    assert assigned.status_code == 201, assigned.content
    assert PhoneNumber.objects.get(pk=assigned.json()["id"]).organisation == (
        other_owner.organisation
    )
    assert {row["e164"] for row in listed} == {
        world["mobile"].e164,
        world["landline"].e164,
        assigned.json()["e164"],
    }


# --- tenancy: organisation B with organisation A's ids -----------------------------------------


def a_texts(world) -> list[str]:
    return [
        world["organisation"].name,
        world["line"].name,
        world["mobile"].e164,
        world["landline"].e164,
        *(world[role].email for role in ROLES),
        *(str(world[key].pk) for key in ("mobile", "landline", "free", "line", *ROLES)),
        str(world["mobile"].licence_id),
    ]


def assert_nothing_of_a(response, world, *, echoed: str = "") -> None:
    content = response.content.decode()
    for text in a_texts(world):
        if text not in echoed:
            assert text not in content, f"{text!r} of organisation A leaked: {content[:300]}"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "numbers/{mobile}/", None),
        ("delete", "numbers/{mobile}/", None),
        ("post", "numbers/{mobile}/reassign/", {"member": "{b_member}"}),
        ("post", "numbers/{mobile}/change/", {}),
        ("post", "numbers/{quarantined}/recover/", {}),
        ("post", "numbers/{quarantined}/recover/", {"member": "{b_member}"}),
    ],
)
def test_b_using_a_number_ids_gets_404_and_changes_nothing(
    api_client_for, world, other_owner, method, path, body
):
    quarantined = services.number_assign(
        organisation=world["organisation"],
        actor=world["owner"],
        country="FR",
        number_type="mobile",
        member=world["admin"],
    ).number
    services.number_delete(number=quarantined, actor=world["owner"])
    refs = {"mobile": world["mobile"].pk, "quarantined": quarantined.pk, "b_member": other_owner.pk}
    before = state()

    response = getattr(api_client_for(other_owner), method)(
        "/api/v1/" + path.format(**refs), _fill(body, refs), format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert_nothing_of_a(response, world)
    assert state() == before


@pytest.mark.parametrize(
    ("field", "key"), [("member", "user"), ("line", "line"), ("licence", "free")]
)
def test_b_assigning_with_a_member_line_or_licence_of_a_is_a_400(
    api_client_for, world, other_owner, field, key
):
    LicenceFactory(organisation=other_owner.organisation)
    body = {"member": str(other_owner.pk), "country": "FR", "type": "mobile"}
    if field == "line":
        body.pop("member")
    body[field] = str(world[key].pk)
    before = state()

    response = api_client_for(other_owner).post("/api/v1/numbers/", body, format="json")

    assert field_code(response, field) == "does_not_exist"
    assert_nothing_of_a(response, world, echoed=str(world[key].pk))
    assert state() == before


@pytest.mark.parametrize(("field", "key"), [("member", "user"), ("line", "line")])
def test_b_reassigning_its_number_to_a_member_or_line_of_a_is_a_400(
    api_client_for, world, other_owner, field, key
):
    organisation_b = other_owner.organisation
    own = services.number_assign(
        organisation=organisation_b,
        actor=other_owner,
        country="FR",
        number_type="mobile",
        member=other_owner,
    ).number
    before = state()

    response = api_client_for(other_owner).post(
        f"/api/v1/numbers/{own.pk}/reassign/", {field: str(world[key].pk)}, format="json"
    )

    assert field_code(response, field) == "does_not_exist"
    assert_nothing_of_a(response, world, echoed=str(world[key].pk))
    assert state() == before


@pytest.mark.parametrize(
    ("field", "key"), [("member", "user"), ("line", "line"), ("licence", "free")]
)
def test_b_filtering_by_a_related_id_of_a_is_a_400(api_client_for, world, other_owner, field, key):
    response = api_client_for(other_owner).get(f"/api/v1/numbers/?{field}={world[key].pk}")

    assert field_code(response, field) == "invalid_choice"
    assert_nothing_of_a(response, world, echoed=str(world[key].pk))


@pytest.mark.parametrize("term", ["mobile", "user", "Reception", "owner@org-a.example", "+336"])
def test_b_searching_sees_only_b(api_client_for, world, other_owner, term):
    own = services.number_assign(
        organisation=other_owner.organisation,
        actor=other_owner,
        country="FR",
        number_type="mobile",
        member=other_owner,
    ).number
    if term == "mobile":
        term = world["mobile"].e164
    elif term == "user":
        term = world["user"].email

    rows = results(api_client_for(other_owner).get("/api/v1/numbers/", {"search": term}))

    assert {row["id"] for row in rows} <= {str(own.pk)}
    for row in rows:
        assert row["e164"] not in (world["mobile"].e164, world["landline"].e164)


def test_b_lists_and_filters_nothing_of_a(api_client_for, world, other_owner):
    client = api_client_for(other_owner)
    for query in ("", "?status=quarantined", "?type=landline", "?country=FR", "?page_size=500"):
        response = client.get(f"/api/v1/numbers/{query}")
        assert response.status_code == 200
        assert response.json()["results"] == []
        assert_nothing_of_a(response, world)


def test_available_numbers_never_show_a_number_someone_holds(api_client_for, world, other_owner):
    body = (
        api_client_for(other_owner)
        .get("/api/v1/available-numbers/?country=FR&type=mobile&page_size=500")
        .json()
    )

    assert world["mobile"].e164 not in {row["e164"] for row in body}


# --- query count -------------------------------------------------------------------------------


def populate(organisation, owner, rows: int) -> None:
    """`rows` members holding a number each, on their own licence; half of them through a
    line, a quarter deleted into quarantine."""
    stock("FR", "mobile", rows, start=2000 + 1000 * organisation.numbers.count())
    for i in range(rows):
        if i % 2:
            member, line = None, LineFactory(organisation=organisation)
        else:
            member, line = UserFactory(organisation=organisation), None
        number = services.number_assign(
            organisation=organisation,
            actor=owner,
            country="FR",
            number_type="mobile",
            member=member,
            line=line,
        ).number
        if i % 4 == 0:
            services.number_delete(number=number, actor=owner)


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize(
    "query",
    [
        "page_size=500",
        "page_size=500&search=member",
        "page_size=500&search=336",
        "page_size=500&status=assigned&type=mobile&country=FR",
        "page_size=500&member={member}",
    ],
)
def test_list_query_count_is_the_same_for_5_and_50_rows(
    api_client_for, owner, django_assert_max_num_queries, query
):
    organisation = owner.organisation
    client = api_client_for(owner)
    populate(organisation, owner, 5)
    member = UserFactory(organisation=organisation)
    path = "/api/v1/numbers/?" + query.format(member=member.pk)
    with django_assert_max_num_queries(5):  # token, (filter id), count, page
        few = count_queries(client, path)

    populate(organisation, owner, 45)
    many = count_queries(client, path)

    assert few == many
    assert results(client.get("/api/v1/numbers/?page_size=500")) and (
        client.get("/api/v1/numbers/?page_size=500").json()["count"] == 50
    )


def test_a_users_list_is_flat_too(api_client_for, user_member, owner):
    organisation = user_member.organisation
    client = api_client_for(user_member)
    stock("FR", "mobile", 10, start=9000)
    for _ in range(2):
        services.number_assign(
            organisation=organisation,
            actor=owner,
            country="FR",
            number_type="mobile",
            member=user_member,
        )
    few = count_queries(client, "/api/v1/numbers/")
    for _ in range(3):
        services.number_assign(
            organisation=organisation,
            actor=owner,
            country="FR",
            number_type="mobile",
            member=user_member,
        )

    assert count_queries(client, "/api/v1/numbers/") == few
