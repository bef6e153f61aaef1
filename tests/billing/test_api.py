"""API.md "Billing" and "Usage": the upcoming invoice, device orders and usage (rules 21, 22)."""

import datetime as dt
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.service_tokens import service_token_create
from billing.models import Charge, UsageCounter, UsageRecord
from billing.renewal import renewals_run
from billing.usage import usage_used
from licensing import services as licensing_services
from licensing.models import DevicePrice
from numbering import services as numbering_services
from tests.concurrency import run_concurrently
from tests.factories import (
    LicenceFactory,
    OrganisationFactory,
    UserFactory,
    give_number,
    licence_type,
    renewing_organisation,
    token_for,
)

PARIS = ZoneInfo("Europe/Paris")
ROLES = ("owner", "admin", "finance", "user")
USAGE_FIELDS = {
    "id",
    "number",
    "member",
    "kind",
    "direction",
    "started_at",
    "duration_seconds",
    "destination",
    "cost",
    "period_start",
    "invoice",
}
QUOTE_LINE_FIELDS = (
    "description",
    "quantity",
    "unit_price",
    "period_start",
    "period_end",
    "amount",
)


def service_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {service_token_create(name='telephony')[1]}")
    return client


def usage_body(number, *, cost="1.25", kind="call", started_at=None, **extra):
    started_at = started_at or timezone.now() - dt.timedelta(minutes=5)
    return {
        "number": number.e164,
        "kind": kind,
        "direction": "outbound",
        "started_at": started_at.isoformat(),
        "duration_seconds": 65,
        "destination": "+33123456789",
        "cost": cost,
        **extra,
    }


def billing_rows() -> dict:
    return {
        "charges": list(Charge.objects.order_by("pk").values()),
        "usage": list(UsageRecord.objects.order_by("pk").values()),
        "counters": list(UsageCounter.objects.order_by("pk").values("pk", "used")),
    }


@pytest.fixture
def org(db):
    """Organisation A: one member of each role; the user and the owner each hold a number."""
    organisation = OrganisationFactory(name="Org A")
    members = {role: UserFactory(organisation=organisation, role=role) for role in ROLES}
    members["user_number"] = give_number(members["user"], start=0)
    members["owner_number"] = give_number(members["owner"], start=1)
    members["organisation"] = organisation
    return members


@pytest.fixture
def org_b(db):
    organisation = OrganisationFactory(name="Org B")
    owner = UserFactory(organisation=organisation, role="owner", email="owner@org-b.example")
    return {
        "organisation": organisation,
        "owner": owner,
        "number": give_number(owner, start=10),
    }


# --- usage: posting (service token only) --------------------------------------------------------


def test_service_posts_usage(org):
    number = org["user_number"]
    started = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=3)

    response = service_client().post("/api/v1/usage/", usage_body(number, started_at=started))

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == USAGE_FIELDS
    record = UsageRecord.objects.get()
    assert body["id"] == str(record.pk)
    assert (body["number"], body["member"], body["kind"], body["direction"]) == (
        number.e164,
        str(org["user"].pk),
        "call",
        "outbound",
    )
    assert (body["duration_seconds"], body["destination"], body["cost"]) == (
        65,
        "+33123456789",
        "1.25",
    )
    assert dt.datetime.fromisoformat(body["started_at"]) == started
    assert body["invoice"] is None
    assert record.organisation == org["organisation"]
    assert usage_used(org["organisation"]) == Decimal("1.25")


def test_usage_number_may_be_written_with_spaces(org):
    body = usage_body(org["user_number"], kind="sms", cost="0.07")
    body["number"] = "+33 6 " + body["number"][4:]

    response = service_client().post("/api/v1/usage/", body)

    assert response.status_code == 201, response.content
    assert response.json()["number"] == org["user_number"].e164


def test_member_tokens_cannot_post_usage(api_client_for, org):
    before = billing_rows()

    for role in ROLES:
        response = api_client_for(org[role]).post("/api/v1/usage/", usage_body(org["user_number"]))
        assert response.status_code == 403, role
        assert response.json()["code"] == "permission_denied"

    assert billing_rows() == before


def test_usage_post_needs_a_token(anon_client, org):
    before = billing_rows()

    response = anon_client.post("/api/v1/usage/", usage_body(org["user_number"]), format="json")
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token svc_not-a-real-key")

    assert response.status_code == 401
    assert bad_token.post("/api/v1/usage/", usage_body(org["user_number"])).status_code == 401
    assert billing_rows() == before


def test_a_revoked_service_token_is_refused(org):
    client = service_client()
    from accounts.models import ServiceToken

    ServiceToken.objects.update(revoked_at=timezone.now())

    assert client.post("/api/v1/usage/", usage_body(org["user_number"])).status_code == 401


def test_service_token_cannot_read_anything(org):
    client = service_client()

    for path in (
        "/api/v1/usage/",
        "/api/v1/invoices/",
        "/api/v1/device-orders/",
        "/api/v1/billing/upcoming/",
        "/api/v1/organisation/",
    ):
        assert client.get(path).status_code == 403, path


def test_usage_over_the_cap_is_a_409_and_stores_nothing(org):
    client = service_client()
    number = org["user_number"]
    assert client.post("/api/v1/usage/", usage_body(number, cost="249.99")).status_code == 201
    before = billing_rows()

    response = client.post("/api/v1/usage/", usage_body(number, cost="0.02"))
    at_cap = client.post("/api/v1/usage/", usage_body(number, cost="0.01"))

    assert response.status_code == 409
    assert response.json()["code"] == "calling_credit_cap_reached"
    assert "250.00" in response.json()["detail"]
    assert at_cap.status_code == 201  # exactly reaching the cap is allowed
    assert UsageRecord.objects.count() == len(before["usage"]) + 1
    assert usage_used(org["organisation"]) == Decimal("250.00")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"number": "+33612349999"}, "number", "does_not_exist"),  # valid, held by nobody
        ({"number": "not a number"}, "number", "invalid_number"),
        ({"number": "+999"}, "number", "invalid_number"),
        ({"number": ""}, "number", "blank"),
        ({"cost": "-0.01"}, "cost", "min_value"),
        ({"cost": "0.001"}, "cost", "max_decimal_places"),
        ({"cost": "lots"}, "cost", "invalid"),
        ({"kind": "fax"}, "kind", "invalid_choice"),
        ({"direction": "sideways"}, "direction", "invalid_choice"),
        ({"started_at": "yesterday"}, "started_at", "invalid"),
        ({"duration_seconds": -1}, "duration_seconds", "min_value"),
        ({"duration_seconds": 10**9}, "duration_seconds", "max_value"),
        ({"destination": "9" * 40}, "destination", "max_length"),
    ],
)
def test_bad_usage_is_a_400_on_its_field(org, change, field, code):
    before = billing_rows()

    response = service_client().post(
        "/api/v1/usage/", {**usage_body(org["user_number"]), **change}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"][field][0]["code"] == code
    assert billing_rows() == before


@pytest.mark.parametrize("missing", ["number", "kind", "direction", "started_at", "cost"])
def test_usage_requires_its_fields(org, missing):
    body = usage_body(org["user_number"])
    del body[missing]

    response = service_client().post("/api/v1/usage/", body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"][missing][0]["code"] == "required"


def test_usage_on_a_deleted_number_is_refused(org):
    number = org["user_number"]
    numbering_services.number_delete(number=number, actor=org["owner"])
    before = billing_rows()

    response = service_client().post("/api/v1/usage/", usage_body(number))

    assert response.status_code == 400
    assert response.json()["fields"]["number"][0]["code"] == "does_not_exist"
    assert billing_rows() == before


@pytest.mark.django_db(transaction=True)
def test_concurrent_usage_never_crosses_the_cap():
    """30 usages of 9.00 at once against a 250.00 cap: 27 fit (243.00), 3 are refused."""
    organisation = OrganisationFactory()
    member = UserFactory(organisation=organisation, role="user")
    number = give_number(member)
    key = service_token_create(name="telephony-race")[1]
    started = timezone.now() - dt.timedelta(minutes=1)

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client.post("/api/v1/usage/", usage_body(number, cost="9.00", started_at=started))

    results = run_concurrently([post] * 30)

    statuses = sorted(getattr(result, "status_code", repr(result)) for result in results)
    assert statuses == [201] * 27 + [409] * 3
    refused = [r.json() for r in results if r.status_code == 409]
    assert {body["code"] for body in refused} == {"calling_credit_cap_reached"}
    stored = UsageRecord.objects.filter(organisation=organisation)
    assert stored.count() == 27
    assert sum(record.cost for record in stored) == Decimal("243.00")
    assert usage_used(organisation) == Decimal("243.00") <= organisation.calling_credit_cap
    assert {str(r.pk) for r in stored} == {r.json()["id"] for r in results if r.status_code == 201}


# --- usage: reading ------------------------------------------------------------------------------


@pytest.fixture
def usage(org):
    """Calls and messages of the user and of the owner, on known dates (Paris time)."""
    client = service_client()

    def post(number, kind, when, cost):
        response = client.post(
            "/api/v1/usage/", usage_body(number, kind=kind, cost=cost, started_at=when)
        )
        assert response.status_code == 201, response.content
        return response.json()["id"]

    now = timezone.now().astimezone(PARIS).replace(microsecond=0)
    today = now.replace(hour=0, minute=0, second=0)
    early = min(now, today + dt.timedelta(minutes=30))  # today, even just after midnight
    yesterday = today - dt.timedelta(hours=12)  # 12:00 yesterday, Paris time
    return {
        "today": today.date(),
        "user_call": post(org["user_number"], "call", early, "1.00"),
        "user_sms": post(org["user_number"], "sms", yesterday, "0.07"),
        "owner_call": post(org["owner_number"], "call", yesterday, "2.00"),
    }


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("role", ["owner", "admin", "finance"])
def test_managers_and_finance_read_all_usage(api_client_for, org, usage, role):
    response = api_client_for(org[role]).get("/api/v1/usage/")

    assert ids(response) == {usage["user_call"], usage["user_sms"], usage["owner_call"]}
    assert all(set(row) == USAGE_FIELDS for row in response.json()["results"])


def test_a_user_reads_only_their_own_usage(api_client_for, org, usage):
    client = api_client_for(org["user"])

    assert ids(client.get("/api/v1/usage/")) == {usage["user_call"], usage["user_sms"]}
    assert client.get(f"/api/v1/usage/{usage['user_call']}/").status_code == 200
    assert client.get(f"/api/v1/usage/{usage['owner_call']}/").status_code == 404
    assert ids(client.get(f"/api/v1/usage/?member={org['owner'].pk}")) == set()


def test_usage_filters(api_client_for, org, usage):
    client = api_client_for(org["finance"])
    today = usage["today"]
    yesterday = today - dt.timedelta(days=1)
    e164 = org["owner_number"].e164
    user_calls = {usage["user_call"], usage["user_sms"]}

    assert ids(client.get(f"/api/v1/usage/?member={org['user'].pk}")) == user_calls
    assert ids(client.get(f"/api/v1/usage/?number={quote(e164)}")) == {usage["owner_call"]}
    # An unencoded "+" arrives as a space; the number's id works too.
    assert ids(client.get(f"/api/v1/usage/?number={e164}")) == {usage["owner_call"]}
    assert ids(client.get(f"/api/v1/usage/?number={org['owner_number'].pk}")) == {
        usage["owner_call"]
    }
    assert ids(client.get("/api/v1/usage/?kind=sms")) == {usage["user_sms"]}
    assert ids(client.get(f"/api/v1/usage/?started_from={today}")) == {usage["user_call"]}
    assert ids(client.get(f"/api/v1/usage/?started_to={yesterday}")) == {
        usage["user_sms"],
        usage["owner_call"],
    }
    assert ids(
        client.get(f"/api/v1/usage/?started_from={yesterday}&started_to={yesterday}&kind=call")
    ) == {usage["owner_call"]}
    noon = quote(dt.datetime.combine(yesterday, dt.time(12), tzinfo=PARIS).isoformat())
    assert ids(client.get(f"/api/v1/usage/?started_from={noon}&started_to={noon}")) == {
        usage["user_sms"],
        usage["owner_call"],
    }


@pytest.mark.parametrize(
    "query", ["kind=fax", "started_from=yesterday", "started_to=2026-02-30", "member=nobody"]
)
def test_usage_filters_reject_bad_values(api_client_for, org, query):
    response = api_client_for(org["owner"]).get(f"/api/v1/usage/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_usage_of_another_organisation_is_invisible(api_client_for, org, usage, org_b):
    client = api_client_for(org_b["owner"])

    listed = client.get("/api/v1/usage/")
    detail = client.get(f"/api/v1/usage/{usage['user_call']}/")
    by_member = client.get(f"/api/v1/usage/?member={org['user'].pk}")
    by_number = client.get(f"/api/v1/usage/?number={quote(org['user_number'].e164)}")

    assert ids(listed) == set()
    assert detail.status_code == 404
    assert detail.json() == {"code": "not_found", "detail": "Not found."}
    assert by_member.status_code == 400  # A's member is not a choice for B
    assert ids(by_number) == set()
    for response in (listed, detail, by_member, by_number):
        assert org["user_number"].e164 not in response.content.decode()


def test_usage_list_query_count_does_not_grow(api_client_for, org):
    client = api_client_for(org["owner"])
    service = service_client()
    service.post("/api/v1/usage/", usage_body(org["user_number"]))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/usage/").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(20):
        service.post("/api/v1/usage/", usage_body(org["owner_number"], cost="0.10"))

    assert queries() == few
    assert client.get("/api/v1/usage/").json()["count"] == 21


# --- device orders ------------------------------------------------------------------------------


def test_device_order(api_client_for, org):
    client = api_client_for(org["admin"])

    response = client.post("/api/v1/device-orders/", {"device": "ip_desk_phone", "quantity": 3})

    assert response.status_code == 201, response.content
    body = response.json()
    charge = Charge.objects.get()
    assert body == {
        "id": str(charge.pk),
        "device": "ip_desk_phone",
        "quantity": 3,
        "unit_price": "129.00",
        "amount": "387.00",
        "currency": "EUR",
        "created_at": body["created_at"],
        "invoice": None,
    }
    assert {"id", "device", "quantity", "amount"} <= set(body)
    assert (charge.organisation, charge.kind, charge.amount) == (
        org["organisation"],
        "device",
        Decimal("387.00"),
    )
    listed = client.get("/api/v1/device-orders/").json()
    assert [row["id"] for row in listed["results"]] == [str(charge.pk)]
    assert client.get(f"/api/v1/device-orders/{charge.pk}/").json() == body


def test_device_order_in_the_organisation_currency(api_client_for, db):
    owner = UserFactory(organisation=OrganisationFactory(currency="GBP"), role="owner")

    body = (
        api_client_for(owner)
        .post("/api/v1/device-orders/", {"device": "obihai_ata", "quantity": 2})
        .json()
    )

    assert (body["unit_price"], body["amount"], body["currency"]) == ("52.00", "104.00", "GBP")


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"device": "fax_machine_3000", "quantity": 1}, "device", "does_not_exist"),
        ({"device": 42, "quantity": 1}, "device", "invalid"),
        ({"quantity": 1}, "device", "required"),
        ({"device": "ip_desk_phone", "quantity": 0}, "quantity", "min_value"),
        ({"device": "ip_desk_phone", "quantity": -2}, "quantity", "min_value"),
        ({"device": "ip_desk_phone", "quantity": 1001}, "quantity", "max_value"),
        ({"device": "ip_desk_phone", "quantity": 10**30}, "quantity", "max_value"),
        ({"device": "ip_desk_phone", "quantity": "many"}, "quantity", "invalid"),
        ({"device": "ip_desk_phone", "quantity": 1.5}, "quantity", "invalid"),
        ({"device": "ip_desk_phone"}, "quantity", "required"),
    ],
)
def test_bad_device_orders_are_400(api_client_for, org, payload, field, code):
    before = billing_rows()

    response = api_client_for(org["owner"]).post("/api/v1/device-orders/", payload, format="json")

    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code
    assert billing_rows() == before


def test_a_device_not_sold_in_the_currency_is_a_400(api_client_for, org):
    DevicePrice.objects.filter(device__code="obihai_ata", currency="EUR").delete()

    response = api_client_for(org["owner"]).post(
        "/api/v1/device-orders/", {"device": "obihai_ata", "quantity": 1}
    )

    assert response.status_code == 400
    assert response.json()["fields"]["device"][0]["code"] == "not_sold"
    assert not Charge.objects.exists()


def test_device_orders_of_another_organisation_are_a_404(api_client_for, org, org_b):
    mine = (
        api_client_for(org["owner"])
        .post("/api/v1/device-orders/", {"device": "ip_desk_phone", "quantity": 1})
        .json()
    )
    client = api_client_for(org_b["owner"])

    assert client.get(f"/api/v1/device-orders/{mine['id']}/").status_code == 404
    assert client.get("/api/v1/device-orders/").json()["count"] == 0


# --- the role matrix for these routes ----------------------------------------------------------


@pytest.fixture
def refs(org, usage):
    from billing.quotes import Quote, QuoteLine
    from billing.services import invoice_issue

    invoice = invoice_issue(
        organisation=org["organisation"],
        kind="purchase",
        actor=None,
        quote=Quote(
            currency="EUR",
            tax_rate=Decimal("0.2000"),
            lines=[
                QuoteLine(
                    description="User standard × 1",
                    kind="proration",
                    quantity=1,
                    unit_price=Decimal("19.00"),
                    amount=Decimal("19.00"),
                )
            ],
        ),
    )
    order = Charge.objects.create(
        organisation=org["organisation"],
        kind="device",
        description="IP desk phone × 1",
        quantity=1,
        unit_price=Decimal("129.00"),
        amount=Decimal("129.00"),
    )
    return {"invoice": invoice.pk, "order": order.pk, "usage": usage["user_call"]}


READS = {
    "invoice.pdf": ("/api/v1/invoices/{invoice}/pdf/", {"owner", "admin", "finance"}),
    "invoices.export": (
        "/api/v1/invoices/export/?issued_from=2000-01-01&issued_to=2100-01-01",
        {"owner", "admin", "finance"},
    ),
    "billing.upcoming": ("/api/v1/billing/upcoming/", {"owner", "admin", "finance"}),
    "device-orders": ("/api/v1/device-orders/", {"owner", "admin"}),
    "device-order": ("/api/v1/device-orders/{order}/", {"owner", "admin"}),
    "usage": ("/api/v1/usage/", set(ROLES)),
    "usage.detail": ("/api/v1/usage/{usage}/", set(ROLES)),  # the user's own record
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(READS))
def test_read_by_role(api_client_for, org, refs, endpoint, role):
    path, allowed = READS[endpoint]

    response = api_client_for(org[role]).get(path.format(**refs))

    assert response.status_code == (200 if role in allowed else 403), response.content


@pytest.mark.parametrize("role", ROLES)
def test_device_order_by_role(api_client_for, org, role):
    before = billing_rows()

    response = api_client_for(org[role]).post(
        "/api/v1/device-orders/", {"device": "ip_desk_phone", "quantity": 1}
    )

    if role in {"owner", "admin"}:
        assert response.status_code == 201
        assert billing_rows() != before
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert billing_rows() == before


def test_platform_staff_read_any_organisations_billing(api_client_for, org, refs, staff):
    client = api_client_for(staff)

    assert client.get(f"/api/v1/invoices/{refs['invoice']}/pdf/").status_code == 200
    assert client.get(f"/api/v1/device-orders/{refs['order']}/").status_code == 200
    assert client.get(f"/api/v1/usage/{refs['usage']}/").status_code == 200
    # Collection actions act for the caller's organisation; staff have none.
    assert client.get("/api/v1/billing/upcoming/").status_code == 404


# --- the upcoming invoice ----------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=PARIS), tick=False)
def test_upcoming_is_what_the_renewal_then_invoices(api_client_for, db):
    organisation = renewing_organisation()
    owner = UserFactory(organisation=organisation, role="owner")
    finance = UserFactory(organisation=organisation, role="finance")
    for _ in range(3):
        LicenceFactory(organisation=organisation)
    LicenceFactory(organisation=organisation, licence_type=licence_type("room_phone"))
    number = give_number(owner)  # a fourth user_standard licence
    licensing_services.licences_schedule_removal(
        organisation=organisation,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=owner,
    )
    client = api_client_for(owner)
    service = service_client()
    nov_15 = dt.datetime(2026, 11, 15, 9, tzinfo=PARIS)
    for cost in ("1.25", "0.40"):
        assert (
            service.post(
                "/api/v1/usage/", usage_body(number, cost=cost, started_at=nov_15)
            ).status_code
            == 201
        )
    assert (
        client.post(
            "/api/v1/device-orders/", {"device": "ip_desk_phone", "quantity": 2}
        ).status_code
        == 201
    )

    upcoming = api_client_for(finance).get("/api/v1/billing/upcoming/")

    assert upcoming.status_code == 200
    quote = upcoming.json()
    december = {"period_start": "2026-12-01", "period_end": "2026-12-31"}
    assert quote == {
        "restored": 0,
        "purchased": 0,
        "lines": [
            {
                "description": "User licence × 3, 01 Dec 2026 to 31 Dec 2026",
                "quantity": 3,
                "unit_price": "19.00",
                "amount": "57.00",
                **december,
            },
            {
                "description": "Room phone × 1, 01 Dec 2026 to 31 Dec 2026",
                "quantity": 1,
                "unit_price": "15.00",
                "amount": "15.00",
                **december,
            },
            {
                "description": "IP desk phone × 2",
                "quantity": 2,
                "unit_price": "129.00",
                "amount": "258.00",
                "period_start": None,
                "period_end": None,
            },
            {
                "description": "Calling credits used before 01 Dec 2026 (2 records)",
                "quantity": 1,
                "unit_price": "1.65",
                "amount": "1.65",
                "period_start": None,
                "period_end": None,
            },
        ],
        "subtotal": "331.65",  # 57.00 + 15.00 + 258.00 + 1.65
        "tax": "66.33",
        "total": "397.98",
        "currency": "EUR",
        "vat_treatment": "",
        "vat_note": "",
    }

    renewals_run(at=organisation.next_renewal_at)

    invoices = client.get("/api/v1/invoices/?issued_from=2026-12-01").json()["results"]
    [invoice] = invoices
    assert [{key: line[key] for key in QUOTE_LINE_FIELDS} for line in invoice["lines"]] == (
        quote["lines"]
    )
    assert (invoice["subtotal"], invoice["tax"], invoice["total"], invoice["currency"]) == (
        quote["subtotal"],
        quote["tax"],
        quote["total"],
        quote["currency"],
    )
    assert (invoice["period_start"], invoice["period_end"]) == ("2026-12-01", "2026-12-31")
    # Billed once: the next upcoming no longer carries the device order or the usage.
    following = client.get("/api/v1/billing/upcoming/").json()
    assert {line["description"] for line in following["lines"]}.isdisjoint(
        {"IP desk phone × 2", "Calling credits used before 01 Dec 2026 (2 records)"}
    )
    assert client.get("/api/v1/device-orders/").json()["results"][0]["invoice"] == invoice["id"]


def test_upcoming_changes_nothing(api_client_for, org):
    from licensing.models import Licence

    LicenceFactory(
        organisation=org["organisation"],
        status="removal_scheduled",
        removal_effective_on=timezone.localdate(),
    )
    before = (list(Licence.objects.order_by("pk").values()), billing_rows())

    response = api_client_for(org["owner"]).get("/api/v1/billing/upcoming/")

    assert response.status_code == 200
    assert (list(Licence.objects.order_by("pk").values()), billing_rows()) == before


def test_upcoming_of_organisation_b_is_its_own(api_client_for, org, org_b):
    api_client_for(org["owner"]).post(
        "/api/v1/device-orders/", {"device": "ip_desk_phone", "quantity": 5}
    )

    quote = api_client_for(org_b["owner"]).get("/api/v1/billing/upcoming/").json()

    assert all("IP desk phone" not in line["description"] for line in quote["lines"])


def test_member_token_and_service_tokens_are_distinct(api_client_for, org):
    """A member's DRF token never authenticates as the service, nor the reverse."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(org['owner'])}")

    assert client.post("/api/v1/usage/", usage_body(org["user_number"])).status_code == 403
