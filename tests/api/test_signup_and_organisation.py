"""API.md "Sign-up and organisation": sign-up, token login, organisation read/update, payment."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import TestCase
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import Organisation, User
from accounts.service_tokens import digest
from tests.factories import OrganisationFactory, UserFactory

ORGANISATION_FIELDS = {
    "id",
    "name",
    "country",
    "currency",
    "timezone",
    "plan",
    "max_numbers_per_member",
    "billing_frequency",
    "licence_policy",
    "default_licence_type",
    "language",
    "status",
    "has_payment_method",
    "calling_credit_cap",
    "tax_rate",
    "current_period",
}
MEMBER_FIELDS = {"id", "email", "name", "role", "status", "number_count", "licences"}

SIGNUP = {
    "organisation_name": "Acme Télécom",
    "country": "FR",
    "currency": "EUR",
    "timezone": "Europe/Paris",
    "plan": "advanced",
    "billing_frequency": "monthly",
    "licence_policy": "block",
    "owner_email": "Founder@Acme.example",
    "owner_password": "a-long-and-unusual-passphrase",
    "owner_name": "Ada Founder",
}


def signup_link_token(message) -> str:
    return re.search(r"/sign-up/confirm/([^/\s]+)/", message.body).group(1)


def sign_up(client, data=SIGNUP, **headers):
    """Sign up and confirm through the e-mailed link, as the owner would; the confirmation's
    response (201: organisation, owner, token)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        requested = client.post("/api/v1/signup/", data, format="json", **headers)
    assert requested.status_code == 202, requested.content
    token = signup_link_token(mail.outbox[-1])
    return client.post("/api/v1/signup/confirm/", {"token": token}, format="json", **headers)


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC), tick=False)
def test_signup_creates_a_restricted_organisation_anchored_on_the_local_day(anon_client):
    response = sign_up(anon_client)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"organisation", "owner", "token"}
    organisation = body["organisation"]
    assert set(organisation) == ORGANISATION_FIELDS
    assert organisation["name"] == "Acme Télécom"
    assert organisation["plan"] == "advanced"
    assert organisation["max_numbers_per_member"] == 10
    assert organisation["licence_policy"] == "block"
    assert organisation["status"] == "restricted"
    assert organisation["has_payment_method"] is False
    assert organisation["default_licence_type"] == "user_standard"
    assert organisation["calling_credit_cap"] == "250.00"
    assert organisation["tax_rate"] == "0.2000"
    # 23:30 UTC on 31 March is 1 April in Paris: the period starts on the local day.
    assert organisation["current_period"] == {"start": "2026-04-01", "end": "2026-04-30"}
    assert set(body["owner"]) == MEMBER_FIELDS
    assert body["owner"]["email"] == "founder@acme.example"
    assert body["owner"]["role"] == "owner"
    assert body["owner"]["status"] == "active"
    assert body["owner"]["licences"] == []
    assert body["owner"]["number_count"] == 0
    assert Organisation.objects.get(pk=organisation["id"]).billing_anchor == dt.date(2026, 4, 1)


def test_signup_token_authenticates(anon_client, db):
    token = sign_up(anon_client).json()["token"]

    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = anon_client.get("/api/v1/organisation/")

    assert response.status_code == 200
    assert response.json()["name"] == "Acme Télécom"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("timezone", "Mars/Olympus", "invalid_timezone"),
        ("country", "France", "max_length"),
        ("country", "1X", "invalid_country"),
        ("currency", "JPY", "invalid_choice"),
        ("plan", "gold", "invalid_choice"),
        ("billing_frequency", "weekly", "invalid_choice"),
        ("licence_policy", "maybe", "invalid_choice"),
        ("owner_email", "not-an-email", "invalid"),
        ("owner_password", "123", "password_too_short"),
    ],
)
def test_signup_rejects_bad_input_field_by_field(anon_client, db, field, value, code):
    response = anon_client.post("/api/v1/signup/", {**SIGNUP, field: value}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"]
    assert code in [error["code"] for error in body["fields"][field]]
    assert not Organisation.objects.exists()


def test_signup_answers_the_same_for_a_taken_email_and_creates_nothing(anon_client, owner):
    before = Organisation.objects.count(), User.objects.count()
    with TestCase.captureOnCommitCallbacks(execute=True):
        taken = anon_client.post(
            "/api/v1/signup/", {**SIGNUP, "owner_email": "OWNER@org-a.example"}, format="json"
        )
        fresh = anon_client.post(
            "/api/v1/signup/", {**SIGNUP, "owner_email": "new@acme.example"}, format="json"
        )

    assert taken.status_code == fresh.status_code == 202
    assert taken.json()["detail"].replace("owner@org-a.example", "X") == fresh.json()[
        "detail"
    ].replace("new@acme.example", "X")
    assert (Organisation.objects.count(), User.objects.count()) == before
    # The address's owner learns someone tried, with no link that creates anything.
    known, confirm = mail.outbox
    assert known.to == ["owner@org-a.example"]
    assert "already has an account" in known.body and "/sign-up/confirm/" not in known.body
    assert confirm.to == ["new@acme.example"] and "/sign-up/confirm/" in confirm.body
    assert "a-long-and-unusual-passphrase" not in confirm.body


def test_a_confirmation_link_works_once(anon_client, db):
    assert sign_up(anon_client).status_code == 201
    token = signup_link_token(mail.outbox[-1])

    again = anon_client.post("/api/v1/signup/confirm/", {"token": token}, format="json")

    assert again.status_code == 400
    assert again.json()["fields"]["token"][0]["code"] == "signup_link_invalid"
    assert Organisation.objects.count() == 1


@pytest.mark.parametrize("tamper", ["", "x", "expired"])
def test_a_bad_or_expired_confirmation_link_creates_nothing(anon_client, db, tamper):
    with TestCase.captureOnCommitCallbacks(execute=True):
        anon_client.post("/api/v1/signup/", SIGNUP, format="json")
    token = signup_link_token(mail.outbox[-1])
    if tamper == "expired":
        with time_machine.travel(dt.timedelta(days=2, minutes=1)):
            response = anon_client.post("/api/v1/signup/confirm/", {"token": token}, format="json")
    else:
        response = anon_client.post(
            "/api/v1/signup/confirm/", {"token": token[:-2] + tamper * 2}, format="json"
        )

    assert response.status_code == 400
    assert not Organisation.objects.exists()


def test_two_signups_of_one_address_create_one_account(anon_client, db):
    with TestCase.captureOnCommitCallbacks(execute=True):
        for _ in range(2):
            anon_client.post("/api/v1/signup/", SIGNUP, format="json")
    first, second = (signup_link_token(message) for message in mail.outbox)

    created = anon_client.post("/api/v1/signup/confirm/", {"token": first}, format="json")
    refused = anon_client.post("/api/v1/signup/confirm/", {"token": second}, format="json")

    assert created.status_code == 201
    assert refused.status_code == 400  # the address has an account now: its mailbox's owner knows
    assert refused.json()["fields"]["email"][0]["code"] == "unique"
    assert Organisation.objects.count() == 1


def test_signup_is_throttled(anon_client, db, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"signup": "2/hour"})
    statuses = [
        anon_client.post(
            "/api/v1/signup/",
            {**SIGNUP, "owner_email": f"founder{i}@acme.example"},
            format="json",
        ).status_code
        for i in range(3)
    ]

    assert statuses == [202, 202, 429]
    assert Organisation.objects.count() == 0  # nothing until a link is confirmed


def test_token_login_with_email_and_password(anon_client, owner):
    response = anon_client.post(
        "/api/v1/auth/token/",
        {"email": "Owner@Org-A.example", "password": "correct-horse-battery"},
        format="json",
    )

    assert response.status_code == 200
    assert set(response.json()) == {"token", "expires_at"}
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert anon_client.get("/api/v1/organisation/").status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "owner@org-a.example", "password": "wrong"},
        {"email": "nobody@org-a.example", "password": "correct-horse-battery"},
    ],
)
def test_token_login_refuses_bad_credentials_in_the_error_format(anon_client, owner, credentials):
    response = anon_client.post("/api/v1/auth/token/", credentials, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["non_field_errors"][0]["code"] == "invalid_credentials"


def test_token_login_refuses_invited_and_deactivated_members(anon_client, organisation):
    for status in ("invited", "deactivated"):
        UserFactory(organisation=organisation, email=f"{status}@org-a.example", status=status)
        response = anon_client.post(
            "/api/v1/auth/token/",
            {"email": f"{status}@org-a.example", "password": "correct-horse-battery"},
            format="json",
        )
        assert response.status_code == 400


def test_token_login_is_throttled_so_passwords_cannot_be_guessed_at_speed(anon_client, owner):
    guesses = [{"email": "owner@org-a.example", "password": f"guess-{i}"} for i in range(10)]
    statuses = [
        anon_client.post("/api/v1/auth/token/", guess, format="json").status_code
        for guess in guesses
    ]
    right = {"email": "owner@org-a.example", "password": "correct-horse-battery"}
    refused = anon_client.post("/api/v1/auth/token/", right, format="json")

    assert statuses == [400] * 10
    assert refused.status_code == 429  # even the right password, until the minute is over
    assert refused.json()["code"] == "throttled"
    assert "token" not in refused.json()


def test_token_login_refuses_an_address_after_ten_wrong_passwords(anon_client, owner, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth_token": "100/minute"})
    for attempt in range(10):
        anon_client.post(
            "/api/v1/auth/token/",
            {"email": "owner@org-a.example", "password": f"guess-{attempt}"},
            format="json",
        )

    locked = anon_client.post(
        "/api/v1/auth/token/",
        {"email": "owner@org-a.example", "password": "correct-horse-battery"},
        format="json",
    )

    assert locked.status_code == 400
    assert locked.json()["fields"]["non_field_errors"][0]["code"] == "sign_in_locked"
    assert "token" not in locked.json()


def test_token_login_requires_both_fields(anon_client, db):
    response = anon_client.post("/api/v1/auth/token/", {"email": "x@example.com"}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["password"][0]["code"] == "required"


def test_unauthenticated_requests_get_401(anon_client, db):
    response = anon_client.get("/api/v1/organisation/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False)
def test_get_organisation_fields_and_values(api_client_for, db):
    organisation = OrganisationFactory(
        name="Org A",
        billing_anchor=dt.date(2026, 1, 31),
        plan="max",
        calling_credit_cap="1234.5",
    )
    user = UserFactory(organisation=organisation, role="user")

    response = api_client_for(user).get("/api/v1/organisation/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == ORGANISATION_FIELDS
    assert body == {
        "id": str(organisation.pk),
        "name": "Org A",
        "country": "FR",
        "currency": "EUR",
        "timezone": "Europe/Paris",
        "plan": "max",
        "max_numbers_per_member": 20,
        "billing_frequency": "monthly",
        "licence_policy": "auto_purchase",
        "default_licence_type": "user_standard",
        "language": "en",
        "status": "active",
        "has_payment_method": True,
        "calling_credit_cap": "1234.50",
        "tax_rate": "0.2000",
        # Anchor day 31: Feb 28 → Mar 31 holds 10 March; the end shown is the last day.
        "current_period": {"start": "2026-02-28", "end": "2026-03-30"},
    }


def test_owner_patches_name_plan_policy_and_default_type(api_client_for, owner):
    response = api_client_for(owner).patch(
        "/api/v1/organisation/",
        {
            "name": "Renamed",
            "plan": "advanced",
            "licence_policy": "block",
            "default_licence_type": "phone_system",
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["plan"] == "advanced"
    assert body["max_numbers_per_member"] == 10
    assert body["licence_policy"] == "block"
    assert body["default_licence_type"] == "phone_system"
    owner.organisation.refresh_from_db()
    assert owner.organisation.default_licence_type.code == "phone_system"


def test_owner_sets_the_invoice_language(api_client_for, owner):
    client = api_client_for(owner)
    assert client.get("/api/v1/organisation/").json()["language"] == "en"

    response = client.patch("/api/v1/organisation/", {"language": "fr"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["language"] == "fr"
    owner.organisation.refresh_from_db()
    assert owner.organisation.language == "fr"


def test_finance_sets_the_invoice_language_and_nothing_else(api_client_for, owner, state):
    finance = UserFactory(organisation=owner.organisation, role="finance")
    admin = UserFactory(organisation=owner.organisation, role="admin")
    before = state()
    for user, body in (
        (finance, {"language": "fr", "name": "Renamed"}),
        (finance, {"name": "Renamed"}),
        (admin, {"language": "fr"}),
    ):
        response = api_client_for(user).patch("/api/v1/organisation/", body, format="json")
        assert response.status_code == 403, (user.role, body)
        assert state() == before

    response = api_client_for(finance).patch(
        "/api/v1/organisation/", {"language": "fr"}, format="json"
    )

    assert response.status_code == 200, response.content
    owner.organisation.refresh_from_db()
    assert owner.organisation.language == "fr"


def test_patch_refuses_fields_that_are_not_editable_naming_them(api_client_for, owner):
    """Issue 14 item 11: not silently ignored (the caller believed they changed the tax rate)."""
    response = api_client_for(owner).patch(
        "/api/v1/organisation/", {"name": "New", "currency": "USD", "tax_rate": "0"}, format="json"
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"currency", "tax_rate"}
    assert fields["tax_rate"][0]["code"] == "read_only"
    owner.organisation.refresh_from_db()
    assert owner.organisation.currency == "EUR" and owner.organisation.name != "New"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"default_licence_type": "gold_seat"}, "default_licence_type", "unknown_licence_type"),
        ({"default_licence_type": "call_recording"}, "default_licence_type", "wrong_kind"),
        ({"plan": "platinum"}, "plan", "invalid_choice"),
        ({"licence_policy": "sometimes"}, "licence_policy", "invalid_choice"),
        ({"name": ""}, "name", "blank"),
        ({"language": "de"}, "language", "invalid_choice"),
    ],
)
def test_patch_organisation_rejects_bad_values(api_client_for, owner, state, body, field, code):
    before = state()

    response = api_client_for(owner).patch("/api/v1/organisation/", body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code
    assert state() == before


def test_payment_method_lifts_the_restriction(api_client_for, db):
    organisation = OrganisationFactory(payment_method_kind="", payment_method_reference="")
    owner = UserFactory(organisation=organisation, role="owner")
    client = api_client_for(owner)
    assert client.get("/api/v1/organisation/").json()["status"] == "restricted"

    response = client.post(
        "/api/v1/organisation/payment-methods/",
        {"type": "sepa_debit", "iban": "DE89 3704 0044 0532 0130 00", "holder": "Org"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["last4"] == "3000" and response.json()["is_default"] is True
    organisation_json = client.get("/api/v1/organisation/").json()
    assert set(organisation_json) == ORGANISATION_FIELDS
    assert organisation_json["status"] == "active"
    assert organisation_json["has_payment_method"] is True
    organisation.refresh_from_db()
    assert organisation.payment_method_kind == "sepa_debit"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "cash"}, "type"),
        ({"type": "card", "exp_month": 1, "exp_year": 2030}, "number"),
        ({"type": "sepa_debit", "iban": "DE00 1234", "holder": "x"}, "iban"),
        (
            {"type": "card", "number": "4242424242424242", "exp_month": 1, "exp_year": 2001},
            "exp_year",
        ),
    ],
)
def test_payment_method_rejects_bad_input(api_client_for, owner, state, body, field):
    before = state()

    response = api_client_for(owner).post(
        "/api/v1/organisation/payment-methods/", body, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert state() == before


def test_staff_without_organisation_has_no_organisation_route(api_client_for, staff):
    assert api_client_for(staff).get("/api/v1/organisation/").status_code == 404


def test_signup_owner_can_sign_in_with_the_token_endpoint(anon_client, db):
    sign_up(anon_client)

    response = anon_client.post(
        "/api/v1/auth/token/",
        {"email": "founder@acme.example", "password": SIGNUP["owner_password"]},
        format="json",
    )

    assert response.status_code == 200
    owner = User.objects.get(email="founder@acme.example")
    assert owner.api_tokens.filter(key_digest=digest(response.json()["token"])).exists()
