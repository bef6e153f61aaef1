"""API.md "Roles": every role against every write endpoint of this issue.

An allowed role gets the endpoint's success status; a denied one gets 403 and nothing changes.
"""

import copy
import datetime as dt
from dataclasses import dataclass, field

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.service_tokens import service_token_create
from tests.api.conftest import build_org_a
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.worlds import built_once

ROLES = ("owner", "admin", "finance", "user")
# Every kind of caller: the four roles, nobody, the telephony platform, platform staff.
CALLERS = (*ROLES, "anonymous", "service", "staff")
MANAGERS = {"owner", "admin"}
# A Monday in Paris; porting's earliest date is three working days later.
MONDAY = dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


# Every test runs on organisation A built once for the module, in a savepoint rolled back after
# it (tests/worlds.py), whatever the order.
pytestmark = pytest.mark.usefixtures("shared_org_a", "db")


@pytest.fixture(autouse=True)
def _pinned_clock():
    with time_machine.travel(MONDAY, tick=False):
        yield


@pytest.fixture(scope="module")
def shared_org_a(django_db_setup, django_db_blocker):
    """tests/api/conftest.py's `org_a`, built once, at the clock its tests run at."""
    with time_machine.travel(MONDAY, tick=False), built_once(django_db_blocker):
        organisation = OrganisationFactory()
        owner = UserFactory(organisation=organisation, role="owner", email="owner@org-a.example")
        yield build_org_a(
            organisation,
            owner,
            *(UserFactory(organisation=organisation, role=role) for role in ROLES[1:]),
        )


@pytest.fixture
def org_a(shared_org_a):
    """A copy: a test may change its objects, never the next test's."""
    return copy.deepcopy(shared_org_a)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: dict | None
    allowed: set[str]  # callers that succeed
    success: int
    writes: bool = True
    # Platform staff hold every capability, but collection actions act for the caller's own
    # organisation and staff have none: those answer 404 and change nothing.
    staff: int | None = None
    multipart: bool = False
    denied: dict[str, int] = field(default_factory=dict)


def endpoint(method, path, body, allowed, success, writes=True, **kwargs) -> Endpoint:
    return Endpoint(method, path, body, set(allowed), success, writes, **kwargs)


WRITE_ENDPOINTS = {
    "organisation.update": endpoint(
        "patch", "/api/v1/organisation/", {"name": "Changed"}, {"owner"}, 200, staff=404
    ),
    "payment_methods.create": endpoint(
        "post",
        "/api/v1/organisation/payment-methods/",
        {"type": "card", "number": "4242424242424242", "exp_month": 12, "exp_year": 2030},
        {"owner"},
        201,
        staff=404,
    ),
    "payment_methods.default": endpoint(
        "post",
        "/api/v1/organisation/payment-methods/{spare_method}/default/",
        {},
        {"owner", "staff"},
        200,
    ),
    "payment_methods.delete": endpoint(
        "delete",
        "/api/v1/organisation/payment-methods/{spare_method}/",
        None,
        {"owner", "staff"},
        204,
    ),
    "invoices.pay": endpoint(
        "post", "/api/v1/invoices/{invoice}/pay/", {}, {"owner", "finance", "staff"}, 200
    ),
    "organisation.billing_profile": endpoint(
        "patch",
        "/api/v1/organisation/billing-profile/",
        {
            "legal_name": "Acme SAS",
            "street": "1 rue de la Paix",
            "postcode": "75002",
            "city": "Paris",
            "country": "FR",
        },
        {"owner", "finance"},
        200,
        staff=404,
    ),
    "members.create": endpoint(
        "post",
        "/api/v1/members/",
        {"email": "fresh@a.example", "name": "Fresh", "role": "user"},
        MANAGERS,
        201,
        staff=404,
    ),
    "members.update": endpoint(
        "patch", "/api/v1/members/{target}/", {"name": "Changed"}, {*MANAGERS, "staff"}, 200
    ),
    "members.delete": endpoint(
        "delete", "/api/v1/members/{target}/", None, {*MANAGERS, "staff"}, 204
    ),
    "lines.create": endpoint(
        "post", "/api/v1/lines/", {"kind": "fax", "name": "New fax"}, MANAGERS, 201, staff=404
    ),
    "licences.purchase_preview": endpoint(
        "post",
        "/api/v1/licences/purchase/preview/",
        {"type": "user_standard", "quantity": 2},
        MANAGERS,
        200,
        writes=False,
        staff=404,
    ),
    "licences.purchase": endpoint(
        "post",
        "/api/v1/licences/purchase/",
        {"type": "room_phone", "quantity": 2},
        MANAGERS,
        201,
        staff=404,
    ),
    "licences.remove_preview": endpoint(
        "post",
        "/api/v1/licences/remove/preview/",
        {"type": "user_standard", "quantity": 1},
        MANAGERS,
        200,
        writes=False,
        staff=404,
    ),
    "licences.remove": endpoint(
        "post",
        "/api/v1/licences/remove/",
        {"type": "user_standard", "quantity": 1},
        MANAGERS,
        200,
        staff=404,
    ),
    "licences.terminate": endpoint(
        "post", "/api/v1/licences/{free}/terminate/", None, {*MANAGERS, "staff"}, 200
    ),
    "licences.restore": endpoint(
        "post", "/api/v1/licences/{scheduled}/restore/", None, {*MANAGERS, "staff"}, 200
    ),
    "licences.assign": endpoint(
        "post",
        "/api/v1/licences/{free}/assign/",
        {"member": "{target}"},
        {*MANAGERS, "staff"},
        200,
    ),
    "licences.unassign": endpoint(
        "post", "/api/v1/licences/{assigned}/unassign/", None, {*MANAGERS, "staff"}, 200
    ),
    "licences.addons": endpoint(
        "put",
        "/api/v1/licences/{assigned}/addons/",
        {"codes": []},
        {*MANAGERS, "staff"},
        200,
    ),
    "licences.addons_bought": endpoint(
        "put",
        "/api/v1/licences/{assigned}/addons/",
        {"codes": ["call_recording", "team_chat"]},
        {*MANAGERS, "staff"},
        200,
    ),
    "licences.extension": endpoint(
        "patch", "/api/v1/licences/{phone}/", {"extension": "555"}, {*MANAGERS, "staff"}, 200
    ),
    # The gate only: a file with a header and no rows is refused (400) and changes nothing.
    "licences.mass_configuration": endpoint(
        "post",
        "/api/v1/licences/mass-configuration/",
        {"dry_run": "false", "file": "header-only"},
        MANAGERS,
        400,
        writes=False,
        staff=404,
        multipart=True,
    ),
    # A number of a type no held licence takes: the licence is bought (auto-purchase, rule 2).
    "numbers.assign_with_auto_purchase": endpoint(
        "post",
        "/api/v1/numbers/",
        {
            "member": "{target}",
            "country": "FR",
            "type": "mobile",
            "licence_type": "user_multi_mobile",
        },
        {*MANAGERS, "staff"},
        201,
    ),
    "numbers.reassign": endpoint(
        "post",
        "/api/v1/numbers/{number}/reassign/",
        {"member": "{target}"},
        {*MANAGERS, "staff"},
        200,
    ),
    "numbers.delete": endpoint(
        "delete", "/api/v1/numbers/{number}/", None, {*MANAGERS, "staff"}, 204
    ),
    "porting.create": endpoint(
        "post",
        "/api/v1/porting-requests/",
        {
            "e164": "+33612345678",
            "type": "mobile",
            "member": "{target}",
            "porting_date": "2026-11-12",
            "rio": "02P000001K9X",
        },
        {*MANAGERS, "staff"},
        201,
    ),
    "device_orders.create": endpoint(
        "post",
        "/api/v1/device-orders/",
        {"device": "ip_desk_phone", "quantity": 2},
        MANAGERS,
        201,
        staff=404,
    ),
    # Issue 11 section 4: only platform staff mark an invoice paid by hand.
    "invoices.record_payment": endpoint(
        "post",
        "/api/v1/invoices/{invoice}/payments/",
        {"method": "bank_transfer", "reference": "BANK-42"},
        {"staff"},
        200,
    ),
    # Issue 16: only platform staff issue a credit note (here for the whole invoice).
    "invoices.credit_note": endpoint(
        "post",
        "/api/v1/invoices/{invoice}/credit-notes/",
        {"whole": True, "reason": "duplicate"},
        {"staff"},
        201,
    ),
    # The telephony platform alone posts usage, which counts against the calling-credit cap.
    "usage.create": endpoint(
        "post",
        "/api/v1/usage/",
        {
            "number": "{e164}",
            "kind": "call",
            "direction": "outbound",
            "started_at": MONDAY.isoformat(),
            "duration_seconds": 60,
            "cost": "0.50",
        },
        {"service"},
        201,
        staff=403,
    ),
}


def _fill(value, refs):
    if isinstance(value, str):
        return value.format(**refs)
    if isinstance(value, dict):
        return {key: _fill(item, refs) for key, item in value.items()}
    return value


def _client_for(caller: str, org_a, api_client_for) -> APIClient:
    if caller == "anonymous":
        return APIClient()
    if caller == "service":
        client = APIClient()
        key = service_token_create(name="telephony")[1]
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client
    if caller == "staff":
        return api_client_for(StaffFactory())
    return api_client_for(org_a[caller])


def _expected(spec: Endpoint, caller: str) -> int:
    if caller in spec.allowed:
        return spec.success
    if caller == "anonymous":
        return 401
    if caller == "staff" and spec.staff is not None:
        return spec.staff
    return 403


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", sorted(WRITE_ENDPOINTS))
def test_write_endpoint_by_caller(api_client_for, org_a, state, name, caller):
    """Every caller against every write route: an allowed one gets the route's status, a denied
    one its 401, 403 or 404, and then not one row (invoice, payment, licence, charge, usage,
    number, porting request, audit event) has changed."""
    spec = WRITE_ENDPOINTS[name]
    target = UserFactory(organisation=org_a["organisation"], role="user", name="Target")
    refs = {key: str(getattr(obj, "pk", "")) for key, obj in org_a.items()}
    refs.update(target=str(target.pk), e164=org_a["number"].e164)
    client = _client_for(caller, org_a, api_client_for)
    body = _fill(spec.body, refs)
    if spec.multipart:
        body["file"] = SimpleUploadedFile(
            "config.csv",
            b"Ext Key,Number,User,Addon license 1,Addon license 2,Addon license 3,"
            b"Addon license 4\r\n",
            "text/csv",
        )
    before = state()

    if spec.multipart:
        response = getattr(client, spec.method)(_fill(spec.path, refs), body, format="multipart")
    else:
        response = getattr(client, spec.method)(_fill(spec.path, refs), body, format="json")

    expected = _expected(spec, caller)
    assert response.status_code == expected, response.content
    if caller in spec.allowed:
        assert (state() != before) is spec.writes
    else:
        if expected == 403:
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
    "credit-notes": ("/api/v1/credit-notes/", {"owner", "admin", "finance"}),
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
