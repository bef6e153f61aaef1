"""Tenancy: organisation B never reads, probes or changes organisation A through the API.

Besides the hand-written attacks, two tests walk every registered route under /api/v1/, so a
new viewset that forgets the tenancy base, or a new detail route that is not scoped, fails here.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from accounts.api.views import ApiTokenViewSet, SignupConfirmView, SignupView, TokenView
from billing import usage
from billing.credit_notes import credit_note_issue
from billing.models import CreditNote
from licensing import services as licensing_services
from licensing.api.views import DeviceViewSet, LicenceTypeViewSet
from licensing.models import Device
from numbering.api.views import AvailableNumberViewSet
from numbering.porting import porting_request_create
from telecom.api import TenantViewSet
from tests.factories import LicenceFactory, LineFactory
from webapp import services as webapp_services
from webapp.audio import wav_tone

# Routes that are deliberately not organisation data: no tenancy base.
PUBLIC_VIEWS = {
    SignupView: "sign-up: the caller has no organisation yet",
    SignupConfirmView: "sign-up's e-mailed link: the caller has no organisation yet",
    TokenView: "token login",
    ApiTokenViewSet: "the caller's own tokens, scoped to the caller (tests/security)",
    SpectacularAPIView: "OpenAPI schema",
    SpectacularSwaggerSplitView: "API docs",
    SpectacularRedocView: "API docs (ReDoc)",
    LicenceTypeViewSet: "catalogue, the same for every organisation",
    DeviceViewSet: "catalogue, the same for every organisation",
    AvailableNumberViewSet: "the carrier's inventory, the same for every organisation",
}

# Actions on tenant routes that no member may call: the telephony platform's service token
# does, for whichever organisation holds the number in the body (API.md "Usage", "Messages and
# voicemail"). Every other action of a tenant route needs HasCapability.
SERVICE_ROUTES = {
    ("post", "api/v1/usage/"): "the telephony platform reports usage for the number's holder",
    ("post", "api/v1/messages/inbound/"): "the telephony platform delivers an inbound SMS",
    ("post", "api/v1/voicemails/"): "the telephony platform uploads a voicemail",
}

# List routes that answer 200 only with query parameters.
LIST_QUERIES = {"api/v1/invoices/export/": "issued_from=2000-01-01&issued_to=2100-12-31"}


@pytest.fixture
def org_a(org_a, settings, tmp_path):
    """A also has rows of its own to attack: a device order, a usage record, a message, a
    voicemail and a porting request."""
    organisation = org_a["organisation"]
    settings.MEDIA_ROOT = tmp_path / "media"
    org_a["message"] = webapp_services.message_receive(
        to_number=org_a["number"].e164,
        sender="+33698765432",
        body="A-secret text",
        received_at=timezone.now(),
    )
    org_a["voicemail"] = webapp_services.voicemail_store(
        number=org_a["number"].e164,
        caller="+33698765432",
        received_at=timezone.now(),
        audio=SimpleUploadedFile("vm.wav", wav_tone(seconds=1), "audio/wav"),
    )
    org_a["device_order"] = licensing_services.device_order(
        organisation=organisation,
        device=Device.objects.get(code="ip_desk_phone"),
        quantity=1,
        actor=org_a["owner"],
    )
    org_a["porting_request"] = porting_request_create(
        organisation=organisation,
        actor=org_a["owner"],
        e164="+33123456789",
        number_type="landline",
        member=org_a["admin"],
        porting_date=timezone.localdate() + dt.timedelta(days=30),
        document=SimpleUploadedFile("bill.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
    )
    org_a["usage"] = usage.usage_record(
        number=org_a["number"],
        kind="call",
        direction="outbound",
        started_at=timezone.now(),
        cost=Decimal("1.00"),
        destination="+33123456789",
    )
    return org_a


def api_routes() -> list[tuple[str, URLPattern]]:
    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    return [
        (route, pattern)
        for route, pattern in walk(get_resolver().url_patterns, "")
        if route.startswith("api/v1/")
    ]


def view_class(pattern: URLPattern):
    callback = pattern.callback
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def a_texts(org_a) -> list[str]:
    """Strings of A that B must never see: names, e-mails, invoice numbers."""
    members = [org_a[role] for role in ("owner", "admin", "finance", "user")]
    return [
        org_a["organisation"].name,
        org_a["line"].name,
        org_a["invoice"].number,
        org_a["number"].e164,
        *(member.email for member in members),
    ]


def a_ids(org_a) -> list[str]:
    return [str(obj.pk) for key, obj in org_a.items() if hasattr(obj, "pk")]


def assert_nothing_of_a(response, org_a, *, ids=True):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    content = body.decode()
    for text in a_texts(org_a) + (a_ids(org_a) if ids else []):
        assert text not in content, f"{text!r} of organisation A leaked: {content[:300]}"


def test_every_api_route_uses_the_tenancy_base_or_is_declared_public():
    routes = api_routes()
    assert len(routes) >= 15  # the walker sees the routers' routes

    offenders = []
    for route, pattern in routes:
        cls = view_class(pattern)
        if cls is None or not (issubclass(cls, TenantViewSet) or cls in PUBLIC_VIEWS):
            offenders.append((route, cls))

    assert offenders == []


def test_every_tenant_route_requires_a_capability_check():
    """Per action, so a viewset that swaps its permissions for one action is seen too."""
    service_routes_seen = set()
    for route, pattern in api_routes():
        cls = view_class(pattern)
        if cls is None or not issubclass(cls, TenantViewSet):
            continue
        for method, action in pattern.callback.actions.items():
            view = cls(action=action, action_map=pattern.callback.actions)
            permissions = {type(permission).__name__ for permission in view.get_permissions()}
            key = (method, _readable(route))
            if key in SERVICE_ROUTES:
                service_routes_seen.add(key)
                assert permissions == {"IsServiceToken"}, key
            else:
                assert "HasCapability" in permissions, key

    assert service_routes_seen == set(SERVICE_ROUTES)


@pytest.mark.parametrize(("method", "route"), sorted(SERVICE_ROUTES))
def test_service_routes_refuse_members(api_client_for, org_a, other_owner, state, method, route):
    before = state()

    for member in (org_a["owner"], other_owner):
        response = getattr(api_client_for(member), method)("/" + route, {}, format="json")
        assert response.status_code == 403, (route, response.content)

    assert state() == before


def test_public_routes_are_the_declared_ones_only():
    seen = {view_class(pattern) for _route, pattern in api_routes()}
    assert set(PUBLIC_VIEWS) <= seen


def _readable(route: str) -> str:
    return re.sub(r"\(\?P<(\w+)>[^)]+\)", r"{\1}", route).replace("^", "").rstrip("$")


def _detail_routes():
    for route, pattern in api_routes():
        cls = view_class(pattern)
        if cls is not None and issubclass(cls, TenantViewSet) and "(?P<pk>" in route:
            for method in list(pattern.callback.actions):
                yield pytest.param(route, cls, method, id=f"{method} {_readable(route)}")


@pytest.mark.parametrize(("route", "cls", "method"), list(_detail_routes()))
def test_every_detail_route_is_a_404_for_another_organisation(
    api_client_for, org_a, other_owner, state, route, cls, method
):
    model = cls.serializer_class.Meta.model
    if model is CreditNote:  # A's invoice, credited in part
        credit_note_issue(invoice=org_a["invoice"], actor=None, reason="x", amount=Decimal("1"))
    target = model.objects.filter(**{cls.tenant_field: org_a["organisation"]}).first()
    assert target is not None, f"no {model.__name__} of A to attack {route}"
    path = "/" + re.sub(r"\(\?P<pk>[^)]+\)", str(target.pk), route).replace("^", "").rstrip("$")
    client = api_client_for(other_owner)
    before = state()

    response = getattr(client, method)(path, {}, format="json")

    assert response.status_code == 404, (path, method, response.content)
    assert_nothing_of_a(response, org_a)
    assert state() == before


def _list_routes():
    for route, pattern in api_routes():
        cls = view_class(pattern)
        if (
            cls is not None
            and issubclass(cls, TenantViewSet)
            and "(?P<" not in route
            and "get" in getattr(pattern.callback, "actions", {})
        ):
            yield pytest.param(route, id=_readable(route))


@pytest.mark.parametrize("route", list(_list_routes()))
def test_every_list_route_shows_nothing_of_another_organisation(
    api_client_for, org_a, other_owner, route
):
    LicenceFactory(organisation=other_owner.organisation)
    path = "/" + route.replace("^", "").rstrip("$")
    if path[1:] in LIST_QUERIES:
        path += "?" + LIST_QUERIES[path[1:]]

    response = api_client_for(other_owner).get(path)

    assert response.status_code == 200, (path, response.content)
    assert_nothing_of_a(response, org_a)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "members/{user}/", None),
        ("patch", "members/{user}/", {"name": "Pwned", "role": "owner"}),
        ("delete", "members/{user}/", None),
        ("get", "lines/{line}/", None),
        ("get", "licences/{free}/", None),
        ("patch", "licences/{phone}/", {"extension": "999"}),
        ("post", "licences/{free}/terminate/", None),
        ("post", "licences/{scheduled}/restore/", None),
        ("post", "licences/{free}/assign/", {"member": "{b_member}"}),
        ("post", "licences/{assigned}/unassign/", None),
        ("put", "licences/{assigned}/addons/", {"codes": []}),
        ("get", "invoices/{invoice}/", None),
    ],
)
def test_b_using_a_ids_on_routes_gets_404_and_changes_nothing(
    api_client_for, org_a, other_owner, state, method, path, body
):
    refs = {key: str(obj.pk) for key, obj in org_a.items() if hasattr(obj, "pk")}
    refs["b_member"] = str(other_owner.pk)
    if body:
        body = {k: v.format(**refs) if isinstance(v, str) else v for k, v in body.items()}
    before = state()

    response = getattr(api_client_for(other_owner), method)(
        "/api/v1/" + path.format(**refs), body, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert_nothing_of_a(response, org_a)
    assert state() == before


@pytest.mark.parametrize(("field", "key"), [("member", "user"), ("line", "line")])
def test_b_assigning_to_a_member_or_line_of_a_is_a_400(
    api_client_for, org_a, other_owner, state, field, key
):
    own_licence = LicenceFactory(organisation=other_owner.organisation)
    before = state()

    response = api_client_for(other_owner).post(
        f"/api/v1/licences/{own_licence.pk}/assign/", {field: str(org_a[key].pk)}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == "does_not_exist"
    assert_nothing_of_a(response, org_a, ids=False)
    assert state() == before


@pytest.mark.parametrize(("field", "key"), [("member", "user"), ("line", "line")])
def test_b_filtering_by_a_related_id_gets_no_data(api_client_for, org_a, other_owner, field, key):
    LicenceFactory(organisation=other_owner.organisation)

    response = api_client_for(other_owner).get(f"/api/v1/licences/?{field}={org_a[key].pk}")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert_nothing_of_a(response, org_a, ids=False)


@pytest.mark.parametrize(
    "query", ["search=owner@org-a.example", "extension=101", "type=user_standard", "assigned=true"]
)
def test_b_searching_and_filtering_sees_only_b(api_client_for, org_a, other_owner, query):
    mine = LicenceFactory(organisation=other_owner.organisation, member=other_owner)

    response = api_client_for(other_owner).get(f"/api/v1/licences/?{query}")

    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} <= {str(mine.pk)}
    assert_nothing_of_a(response, org_a)


def test_b_summary_and_purchase_touch_only_b(api_client_for, org_a, other_owner):
    client = api_client_for(other_owner)
    a_licences = {str(pk) for pk in org_a["organisation"].licences.values_list("pk", flat=True)}

    summary = client.get("/api/v1/licences/summary/").json()
    bought = client.post(
        "/api/v1/licences/purchase/", {"type": "user_standard", "quantity": 1}, format="json"
    ).json()
    removal = client.post(
        "/api/v1/licences/remove/preview/", {"type": "user_standard", "quantity": 1}, format="json"
    ).json()

    assert summary == []
    assert not set(bought["licences"]) & a_licences
    assert not set(removal["licences"]) & a_licences


def test_a_member_of_b_cannot_be_created_with_an_email_of_a_silently(
    api_client_for, org_a, other_owner, state
):
    before = state()

    response = api_client_for(other_owner).post(
        "/api/v1/members/",
        {"email": org_a["user"].email, "name": "Copy", "role": "user"},
        format="json",
    )

    # The address is taken (e-mail is the login); nothing of A is shown beyond that.
    assert response.status_code == 400
    assert response.json()["fields"]["email"][0]["code"] == "unique"
    assert org_a["organisation"].name not in response.content.decode()
    assert state() == before


def test_line_of_b_is_not_visible_to_a(api_client_for, org_a, other_owner):
    line_b = LineFactory(organisation=other_owner.organisation, name="B private line")

    response = api_client_for(org_a["owner"]).get(f"/api/v1/lines/{line_b.pk}/")

    assert response.status_code == 404
    assert "B private line" not in response.content.decode()
