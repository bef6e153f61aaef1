"""Issue 14 item 11: dates and fields out of range are field errors; PATCH names the fields it
may not change; the OpenAPI schema documents the error statuses and validates."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from billing.models import UsageRecord
from tests.billing.test_api import service_client, usage_body
from tests.factories import OrganisationFactory, UserFactory, give_number

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def number(db):
    with time_machine.travel(NOW, tick=False):
        organisation = OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))
        return give_number(UserFactory(organisation=organisation), start=0)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        (
            {"started_at": dt.datetime(1970, 1, 1, tzinfo=dt.UTC)},
            "started_at",
            "before_organisation",
        ),
        ({"started_at": dt.datetime(2099, 1, 1, tzinfo=dt.UTC)}, "started_at", "in_the_future"),
        ({"destination": "call me maybe"}, "destination", "invalid_destination"),
        ({"destination": "<script>"}, "destination", "invalid_destination"),
    ],
)
def test_usage_out_of_range_is_a_field_error(number, changes, field, code):
    with time_machine.travel(NOW, tick=False):
        response = service_client().post(
            "/api/v1/usage/", usage_body(number, **changes), format="json"
        )

    assert response.status_code == 400, response.content
    assert response.json()["fields"][field][0]["code"] == code
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize("destination", ["+33123456789", "0612345678", "*123#", ""])
def test_usage_destinations_that_are_numbers_are_taken(number, destination):
    with time_machine.travel(NOW, tick=False):
        response = service_client().post(
            "/api/v1/usage/", usage_body(number, destination=destination), format="json"
        )

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("path", "body", "refused"),
    [
        ("/api/v1/organisation/", {"tax_rate": "0", "id": "x"}, {"tax_rate", "id"}),
        ("/api/v1/members/{member}/", {"email": "new@x.example"}, {"email"}),
        ("/api/v1/licences/{licence}/", {"extension": "101", "status": "x"}, {"status"}),
    ],
)
def test_patch_names_the_fields_it_may_not_change(api_client_for, owner, path, body, refused):
    from tests.factories import LicenceFactory, licence_type

    member = UserFactory(organisation=owner.organisation)
    licence = LicenceFactory(
        organisation=owner.organisation, licence_type=licence_type("phone_system")
    )
    url = path.format(member=member.pk, licence=licence.pk)

    response = api_client_for(owner).patch(url, body, format="json")

    assert response.status_code == 400, response.content
    assert set(response.json()["fields"]) == refused
    assert {e["code"] for errors in response.json()["fields"].values() for e in errors} == {
        "read_only"
    }


def test_the_schema_validates_and_documents_the_error_statuses(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    import yaml

    schema = yaml.safe_load(out.read_text())
    operation = schema["paths"]["/api/v1/organisation/"]["patch"]
    assert {"400", "401", "403", "404"} <= set(operation["responses"])
    purchase = schema["paths"]["/api/v1/licences/purchase/"]["post"]
    assert {"400", "401", "403", "409"} <= set(purchase["responses"])
    assert "ErrorResponse" in str(operation["responses"]["400"])
