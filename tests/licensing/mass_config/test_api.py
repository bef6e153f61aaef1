"""API.md "Licences": POST /api/v1/licences/mass-configuration/ (rule 23), dry run and apply."""

from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import Invoice
from licensing import mass_config
from licensing.models import Licence
from numbering.models import NumberStatus, PhoneNumber
from tests.factories import OrganisationFactory, UserFactory
from tests.licensing.mass_config.test_mass_config import (
    HEADER,
    NOV_1,
    SAMPLE_NUMBERS,
    Snapshot,
    csv_bytes,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/licences/mass-configuration/"
SUMMARY = {
    "extensions": 4,
    "licences_assigned": 4,
    "numbers_assigned": 4,
    "addons_attached": 14,
    "addons_detached": 0,
    "licences_purchased": 18,
    "licences_restored": 0,
    "total": "180.80",
    "currency": "USD",
}


@pytest.fixture(autouse=True)
def nov_1():
    with time_machine.travel(NOV_1, tick=False):
        yield


def upload(data: bytes, name="extensions.csv"):
    return SimpleUploadedFile(name, data, content_type="text/csv")


def sample() -> bytes:
    return mass_config.sample_csv().encode()


def test_dry_run_reports_the_summary_and_changes_nothing(api_client_for, admin, people, inventory):
    snapshot = Snapshot()

    response = api_client_for(admin).post(
        URL, {"file": upload(sample()), "dry_run": "true"}, format="multipart"
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"applied": False, "summary": SUMMARY, "invoice": None}
    assert snapshot.unchanged()


def test_dry_run_is_the_default(api_client_for, admin, people, inventory):
    response = api_client_for(admin).post(URL, {"file": upload(sample())}, format="multipart")

    assert response.status_code == 200
    assert response.json()["applied"] is False
    assert not Licence.objects.exists()


def test_apply_configures_the_requirement_sample(api_client_for, org, admin, people, inventory):
    response = api_client_for(admin).post(
        URL, {"file": upload(sample()), "dry_run": "false"}, format="multipart"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    invoice = Invoice.objects.get(organisation=org, kind="purchase")
    assert body == {"applied": True, "summary": SUMMARY, "invoice": str(invoice.pk)}
    assert invoice.subtotal == Decimal("180.80")
    assert sorted(
        Licence.objects.filter(organisation=org, extension__isnull=False)
        .exclude(extension="")
        .values_list("extension", "member__name")
    ) == [("101", "John"), ("102", "Alice"), ("104", "Lucie"), ("109", "Hallie")]
    assert Licence.objects.filter(organisation=org).count() == 18
    assert set(PhoneNumber.objects.values_list("e164", "status")) == {
        (e164, NumberStatus.ASSIGNED) for e164 in SAMPLE_NUMBERS
    }


@pytest.mark.parametrize("dry_run", ["true", "false"])
def test_a_bad_file_is_400_with_its_rows_and_nothing_applied(
    api_client_for, admin, people, inventory, dry_run
):
    data = csv_bytes(
        "101,6567891230,John,device_ip_phone",
        "101,6567891231,Nobody,no_such_addon",
    )
    snapshot = Snapshot()

    response = api_client_for(admin).post(
        URL, {"file": upload(data), "dry_run": dry_run}, format="multipart"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["detail"]
    assert set(body) == {"code", "detail", "rows"}
    assert {(r["row"], r["column"], r["code"]) for r in body["rows"]} >= {
        (3, "Ext Key", "duplicate_extension"),
        (3, "User", "unknown_user"),
        (3, "Addon license 1", "unknown_addon"),
    }
    assert all(set(r) == {"row", "column", "code", "message"} for r in body["rows"])
    assert all(r["message"] for r in body["rows"])
    assert snapshot.unchanged()


def test_an_empty_file_is_a_file_error(api_client_for, admin):
    response = api_client_for(admin).post(
        URL, {"file": upload(b""), "dry_run": "false"}, format="multipart"
    )

    assert response.status_code == 400
    assert [(r["row"], r["code"]) for r in response.json()["rows"]] == [(None, "empty_file")]


def test_a_missing_header_is_a_file_error(api_client_for, admin, people, inventory):
    response = api_client_for(admin).post(
        URL, {"file": upload(b"101,6567891230,John\r\n")}, format="multipart"
    )

    assert response.status_code == 400
    assert "missing_header" in {r["code"] for r in response.json()["rows"]}


def test_no_file_is_a_field_error(api_client_for, admin):
    response = api_client_for(admin).post(URL, {"dry_run": "true"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["fields"]["file"][0]["code"] == "required"


@pytest.mark.parametrize("role", ["finance", "user"])
def test_finance_and_users_may_not_import(api_client_for, org, people, inventory, role):
    caller = UserFactory(organisation=org, role=role)
    snapshot = Snapshot()

    response = api_client_for(caller).post(
        URL, {"file": upload(sample()), "dry_run": "false"}, format="multipart"
    )
    sample_response = api_client_for(caller).get(URL + "sample/")

    assert response.status_code == 403
    assert sample_response.status_code == 403
    assert snapshot.unchanged()


def test_the_sample_download(api_client_for, admin):
    response = api_client_for(admin).get(URL + "sample/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode().splitlines()[0] == HEADER


def test_another_organisations_file_touches_only_its_own(api_client_for, org, people, inventory):
    """A file naming A's users, sent by B's owner: unknown users for B, nothing of A changes."""
    other_owner = UserFactory(organisation=OrganisationFactory(country="US"), role="owner")
    snapshot = Snapshot()

    response = api_client_for(other_owner).post(
        URL, {"file": upload(sample()), "dry_run": "false"}, format="multipart"
    )

    assert response.status_code == 400
    assert {r["code"] for r in response.json()["rows"]} >= {"unknown_user"}
    assert snapshot.unchanged()
