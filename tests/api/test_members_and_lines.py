"""API.md "Members and lines"."""

import pytest

from accounts.models import User
from licensing.models import Licence, Line
from tests.factories import LicenceFactory, UserFactory

MEMBER_FIELDS = {"id", "email", "name", "role", "status", "number_count", "licences"}


def test_member_list_fields_and_licence_ids(api_client_for, org_a):
    response = api_client_for(org_a["owner"]).get("/api/v1/members/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4
    assert all(set(row) == MEMBER_FIELDS for row in body["results"])
    by_id = {row["id"]: row for row in body["results"]}
    user_row = by_id[str(org_a["user"].pk)]
    assert user_row["licences"] == [str(org_a["assigned"].pk)]
    assert user_row["number_count"] == 1
    assert by_id[str(org_a["owner"].pk)]["number_count"] == 0
    assert user_row["role"] == "user"
    assert user_row["status"] == "active"
    assert by_id[str(org_a["admin"].pk)]["licences"] == [str(org_a["phone"].pk)]


@pytest.mark.parametrize(
    ("query", "roles"),
    [
        ("role=finance", {"finance"}),
        ("role=owner", {"owner"}),
        ("status=active", {"owner", "admin", "finance", "user"}),
        ("status=invited", set()),
    ],
)
def test_member_filters(api_client_for, org_a, query, roles):
    response = api_client_for(org_a["owner"]).get(f"/api/v1/members/?{query}")

    assert response.status_code == 200
    assert {row["role"] for row in response.json()["results"]} == roles


def test_member_filter_rejects_an_unknown_role(api_client_for, org_a):
    response = api_client_for(org_a["owner"]).get("/api/v1/members/?role=emperor")

    assert response.status_code == 400
    assert response.json()["fields"]["role"][0]["code"] == "invalid_choice"


def test_member_search_by_name_and_email(api_client_for, org_a):
    client = api_client_for(org_a["owner"])
    UserFactory(organisation=org_a["organisation"], name="Zoë Quigley", email="zq@a.example")

    by_name = client.get("/api/v1/members/?search=quigley").json()["results"]
    by_email = client.get("/api/v1/members/?search=zq@a").json()["results"]

    assert [row["name"] for row in by_name] == ["Zoë Quigley"]
    assert [row["email"] for row in by_email] == ["zq@a.example"]


def test_a_user_sees_only_themself(api_client_for, org_a):
    client = api_client_for(org_a["user"])

    listed = client.get("/api/v1/members/").json()["results"]
    own = client.get(f"/api/v1/members/{org_a['user'].pk}/")
    other = client.get(f"/api/v1/members/{org_a['owner'].pk}/")

    assert [row["id"] for row in listed] == [str(org_a["user"].pk)]
    assert own.status_code == 200
    assert other.status_code == 404


def test_finance_reads_every_member(api_client_for, org_a):
    client = api_client_for(org_a["finance"])

    assert client.get("/api/v1/members/").json()["count"] == 4
    assert client.get(f"/api/v1/members/{org_a['owner'].pk}/").status_code == 200


def test_create_member_is_invited(api_client_for, org_a):
    response = api_client_for(org_a["admin"]).post(
        "/api/v1/members/",
        {"email": "New@A.example", "name": "New One", "role": "finance"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == MEMBER_FIELDS
    assert body["email"] == "new@a.example"
    assert body["status"] == "invited"
    assert body["role"] == "finance"
    assert body["licences"] == []
    member = User.objects.get(pk=body["id"])
    assert member.organisation == org_a["organisation"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"email": "owner@org-a.example", "name": "X", "role": "user"}, "email", "unique"),
        ({"email": "nope", "name": "X", "role": "user"}, "email", "invalid"),
        ({"email": "n@a.example", "name": "X", "role": "king"}, "role", "invalid_choice"),
        ({"name": "X", "role": "user"}, "email", "required"),
    ],
)
def test_create_member_rejects_bad_input(api_client_for, org_a, state, body, field, code):
    before = state()

    response = api_client_for(org_a["owner"]).post("/api/v1/members/", body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code
    assert state() == before


def test_patch_member_name_and_role(api_client_for, org_a):
    response = api_client_for(org_a["owner"]).patch(
        f"/api/v1/members/{org_a['user'].pk}/",
        {"name": "Renamed", "role": "admin"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert response.json()["role"] == "admin"


def test_put_on_a_member_is_not_offered(api_client_for, org_a):
    response = api_client_for(org_a["owner"]).put(
        f"/api/v1/members/{org_a['user'].pk}/", {"name": "X", "role": "user"}, format="json"
    )

    assert response.status_code == 405


def test_delete_member_deactivates_and_keeps_licences_unassigned(api_client_for, org_a):
    member, licence = org_a["user"], org_a["assigned"]

    response = api_client_for(org_a["admin"]).delete(f"/api/v1/members/{member.pk}/")

    assert response.status_code == 204
    member.refresh_from_db()
    licence.refresh_from_db()
    assert member.status == "deactivated"
    assert licence.member is None
    assert licence.status == "active"
    assert Licence.objects.filter(pk=licence.pk).exists()
    listed = api_client_for(org_a["owner"]).get("/api/v1/members/?status=deactivated").json()
    assert [row["id"] for row in listed["results"]] == [str(member.pk)]


def test_deleting_the_last_owner_is_refused(api_client_for, org_a, state):
    before = state()

    response = api_client_for(org_a["owner"]).delete(f"/api/v1/members/{org_a['owner'].pk}/")

    assert response.status_code == 400
    assert response.json()["fields"]["role"][0]["code"] == "last_owner"
    assert state() == before


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("post", None, {"email": "boss@a.example", "name": "Boss", "role": "owner"}),
        ("post", None, {"email": "adm@a.example", "name": "Adm", "role": "admin"}),
        ("patch", "owner", {"name": "Hacked"}),
        ("patch", "user", {"role": "admin"}),
        ("delete", "owner", None),
    ],
)
def test_admin_manages_only_user_and_finance_roles(
    api_client_for, org_a, state, method, target, body
):
    client = api_client_for(org_a["admin"])
    path = "/api/v1/members/" + (f"{org_a[target].pk}/" if target else "")
    before = state()

    response = getattr(client, method)(path, body, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert state() == before


def test_admin_may_change_finance_and_user_members(api_client_for, org_a):
    client = api_client_for(org_a["admin"])

    response = client.patch(
        f"/api/v1/members/{org_a['finance'].pk}/", {"role": "user"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["role"] == "user"


def test_member_licences_list_assigned_licences_only(api_client_for, org_a):
    LicenceFactory(organisation=org_a["organisation"], member=org_a["finance"])

    body = api_client_for(org_a["owner"]).get(f"/api/v1/members/{org_a['finance'].pk}/").json()

    assert len(body["licences"]) == 1


# --- lines -----------------------------------------------------------------------------------

LINE_FIELDS = {"id", "kind", "name"}


def test_create_and_list_lines(api_client_for, org_a):
    client = api_client_for(org_a["admin"])

    created = client.post("/api/v1/lines/", {"kind": "fax", "name": "Accounts fax"}, format="json")
    listed = client.get("/api/v1/lines/?kind=fax")
    detail = client.get(f"/api/v1/lines/{created.json()['id']}/")

    assert created.status_code == 201
    assert set(created.json()) == LINE_FIELDS
    assert created.json()["kind"] == "fax"
    assert listed.status_code == 200
    assert [row["name"] for row in listed.json()["results"]] == ["Accounts fax"]
    assert detail.json() == created.json()
    assert Line.objects.get(pk=created.json()["id"]).organisation == org_a["organisation"]


def test_line_search_by_name(api_client_for, org_a):
    body = api_client_for(org_a["owner"]).get("/api/v1/lines/?search=reception").json()

    assert [row["id"] for row in body["results"]] == [str(org_a["line"].pk)]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"kind": "room_phone", "name": "Reception A-secret"}, "name", "unique"),
        ({"kind": "spaceship", "name": "X"}, "kind", "invalid_choice"),
        ({"kind": "fax"}, "name", "required"),
    ],
)
def test_create_line_rejects_bad_input(api_client_for, org_a, state, body, field, code):
    before = state()

    response = api_client_for(org_a["owner"]).post("/api/v1/lines/", body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code
    assert state() == before


def test_users_do_not_read_lines(api_client_for, org_a):
    assert api_client_for(org_a["user"]).get("/api/v1/lines/").status_code == 403
    assert api_client_for(org_a["finance"]).get("/api/v1/lines/").status_code == 200
