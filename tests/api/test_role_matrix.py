"""API.md "Roles": every role against every write endpoint of this issue.

An allowed role gets the endpoint's success status; a denied one gets 403 and nothing changes.
"""

import pytest

from tests.factories import UserFactory

ROLES = ("owner", "admin", "finance", "user")
MANAGERS = {"owner", "admin"}

# name: (method, path, body, allowed roles, success status, writes)
WRITE_ENDPOINTS = {
    "organisation.update": (
        "patch",
        "/api/v1/organisation/",
        {"name": "Changed"},
        {"owner"},
        200,
        True,
    ),
    "organisation.payment_method": (
        "put",
        "/api/v1/organisation/payment-method/",
        {"kind": "card", "reference": "pm_new"},
        {"owner"},
        200,
        True,
    ),
    "members.create": (
        "post",
        "/api/v1/members/",
        {"email": "fresh@a.example", "name": "Fresh", "role": "user"},
        MANAGERS,
        201,
        True,
    ),
    "members.update": (
        "patch",
        "/api/v1/members/{target}/",
        {"name": "Changed"},
        MANAGERS,
        200,
        True,
    ),
    "members.delete": ("delete", "/api/v1/members/{target}/", None, MANAGERS, 204, True),
    "lines.create": (
        "post",
        "/api/v1/lines/",
        {"kind": "fax", "name": "New fax"},
        MANAGERS,
        201,
        True,
    ),
    "licences.purchase_preview": (
        "post",
        "/api/v1/licences/purchase/preview/",
        {"type": "user_standard", "quantity": 2},
        MANAGERS,
        200,
        False,
    ),
    "licences.purchase": (
        "post",
        "/api/v1/licences/purchase/",
        {"type": "room_phone", "quantity": 2},
        MANAGERS,
        201,
        True,
    ),
    "licences.remove_preview": (
        "post",
        "/api/v1/licences/remove/preview/",
        {"type": "user_standard", "quantity": 1},
        MANAGERS,
        200,
        False,
    ),
    "licences.remove": (
        "post",
        "/api/v1/licences/remove/",
        {"type": "user_standard", "quantity": 1},
        MANAGERS,
        200,
        True,
    ),
    "licences.terminate": ("post", "/api/v1/licences/{free}/terminate/", None, MANAGERS, 200, True),
    "licences.restore": (
        "post",
        "/api/v1/licences/{scheduled}/restore/",
        None,
        MANAGERS,
        200,
        True,
    ),
    "licences.assign": (
        "post",
        "/api/v1/licences/{free}/assign/",
        {"member": "{target}"},
        MANAGERS,
        200,
        True,
    ),
    "licences.unassign": (
        "post",
        "/api/v1/licences/{assigned}/unassign/",
        None,
        MANAGERS,
        200,
        True,
    ),
    "licences.addons": (
        "put",
        "/api/v1/licences/{assigned}/addons/",
        {"codes": []},
        MANAGERS,
        200,
        True,
    ),
    "licences.extension": (
        "patch",
        "/api/v1/licences/{phone}/",
        {"extension": "555"},
        MANAGERS,
        200,
        True,
    ),
}


def _fill(value, refs):
    if isinstance(value, str):
        return value.format(**refs)
    if isinstance(value, dict):
        return {key: _fill(item, refs) for key, item in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(WRITE_ENDPOINTS))
def test_write_endpoint_by_role(api_client_for, org_a, state, endpoint, role):
    method, path, body, allowed, success, writes = WRITE_ENDPOINTS[endpoint]
    target = UserFactory(organisation=org_a["organisation"], role="user", name="Target")
    refs = {key: str(getattr(obj, "pk", "")) for key, obj in org_a.items()}
    refs["target"] = str(target.pk)
    client = api_client_for(org_a[role])
    before = state()

    response = getattr(client, method)(_fill(path, refs), _fill(body, refs), format="json")

    if role in allowed:
        assert response.status_code == success, response.content
        assert (state() != before) is writes
    else:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"
        assert state() == before


# name: (path, roles that read it)
READ_ENDPOINTS = {
    "organisation": ("/api/v1/organisation/", set(ROLES)),
    "licence-types": ("/api/v1/licence-types/", set(ROLES)),
    "devices": ("/api/v1/devices/", set(ROLES)),
    "members": ("/api/v1/members/", set(ROLES)),
    "licences": ("/api/v1/licences/", set(ROLES)),
    "licences.summary": ("/api/v1/licences/summary/", {"owner", "admin", "finance"}),
    "lines": ("/api/v1/lines/", {"owner", "admin", "finance"}),
    "invoices": ("/api/v1/invoices/", {"owner", "admin", "finance"}),
    "invoice": ("/api/v1/invoices/{invoice}/", {"owner", "admin", "finance"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(READ_ENDPOINTS))
def test_read_endpoint_by_role(api_client_for, org_a, endpoint, role):
    path, allowed = READ_ENDPOINTS[endpoint]
    refs = {key: str(getattr(obj, "pk", "")) for key, obj in org_a.items()}

    response = api_client_for(org_a[role]).get(path.format(**refs))

    assert response.status_code == (200 if role in allowed else 403)


def test_platform_staff_act_in_any_organisation(api_client_for, org_a, other_owner, staff):
    client = api_client_for(staff)

    members = client.get("/api/v1/members/?page_size=500").json()
    terminated = client.post(f"/api/v1/licences/{org_a['free'].pk}/terminate/")

    emails = {row["email"] for row in members["results"]}
    assert {org_a["owner"].email, other_owner.email} <= emails
    assert terminated.status_code == 200
    assert terminated.json()["status"] == "removal_scheduled"


def test_deactivated_member_token_no_longer_works(api_client_for, org_a):
    client = api_client_for(org_a["user"])
    api_client_for(org_a["owner"]).delete(f"/api/v1/members/{org_a['user'].pk}/")

    assert client.get("/api/v1/organisation/").status_code == 401
