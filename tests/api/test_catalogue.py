"""API.md "Catalogue": licence types and devices, unpaginated, priced in the caller's currency."""

import pytest

from tests.factories import OrganisationFactory, UserFactory

BASE_CODES = {
    "user_standard",
    "user_multi_mobile",
    "room_phone",
    "shared_line",
    "fax",
    "phone_system",
    "auto_attendant",
    "call_group",
    "developer",
}
ADDON_CODES = {
    "call_recording",
    "device_desktop_app",
    "license_dnc_checking_enabled",
    "device_ip_phone",
    "device_mobile_app",
    "device_web_rtc",
    "license_number",
    "team_chat",
    "license_call_recording_unlimited_enabled",
}
LICENCE_TYPE_FIELDS = {
    "code",
    "name",
    "kind",
    "category",
    "monthly_price",
    "yearly_price",
    "currency",
    "number_capacity",
    "max_number_changes",
    "has_extension",
    "addon_codes",
}


def test_licence_types_list_every_code_unpaginated(api_client_for, user_member):
    response = api_client_for(user_member).get("/api/v1/licence-types/")

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert all(set(row) == LICENCE_TYPE_FIELDS for row in body)
    kinds = {row["code"]: row["kind"] for row in body}
    assert {code for code, kind in kinds.items() if kind == "base"} >= BASE_CODES
    assert {code for code, kind in kinds.items() if kind == "addon"} >= ADDON_CODES


def test_licence_type_values(api_client_for, user_member):
    body = {
        row["code"]: row for row in api_client_for(user_member).get("/api/v1/licence-types/").json()
    }

    standard = body["user_standard"]
    assert standard["currency"] == "EUR"
    assert standard["monthly_price"] == "19.00"
    assert standard["yearly_price"] == "190.00"
    assert standard["number_capacity"] == {"any": 1}
    assert standard["max_number_changes"] == 5
    assert standard["has_extension"] is False
    assert set(standard["addon_codes"]) == ADDON_CODES
    assert body["user_multi_mobile"]["number_capacity"] == {"landline": 1, "mobile": 3}
    assert body["phone_system"]["has_extension"] is True
    assert body["fax"]["addon_codes"] == []
    assert body["call_recording"]["number_capacity"] == {}


def test_licence_type_prices_follow_the_organisation_currency(api_client_for, db):
    organisation = OrganisationFactory(currency="USD", country="US")
    member = UserFactory(organisation=organisation)

    body = api_client_for(member).get("/api/v1/licence-types/user_standard/").json()

    assert body["currency"] == "USD"
    assert body["monthly_price"] == "21.00"


def test_licence_type_filter_by_kind(api_client_for, user_member):
    body = api_client_for(user_member).get("/api/v1/licence-types/?kind=addon").json()

    assert {row["code"] for row in body} == ADDON_CODES


def test_licence_type_detail_by_code(api_client_for, user_member):
    client = api_client_for(user_member)

    assert client.get("/api/v1/licence-types/phone_system/").json()["code"] == "phone_system"
    assert client.get("/api/v1/licence-types/nothing_here/").status_code == 404


def test_devices(api_client_for, finance_member):
    response = api_client_for(finance_member).get("/api/v1/devices/")

    assert response.status_code == 200
    body = {row["code"]: row for row in response.json()}
    assert {"obihai_ata", "ip_desk_phone"} <= set(body)
    assert body["ip_desk_phone"] == {
        "code": "ip_desk_phone",
        "name": "IP desk phone",
        "unit_price": "129.00",
        "currency": "EUR",
    }
    detail = api_client_for(finance_member).get("/api/v1/devices/obihai_ata/")
    assert detail.json()["unit_price"] == "59.00"


@pytest.mark.parametrize("path", ["/api/v1/licence-types/", "/api/v1/devices/"])
def test_catalogue_needs_authentication(anon_client, db, path):
    assert anon_client.get(path).status_code == 401


def test_catalogue_query_count_is_constant(
    api_client_for, user_member, django_assert_max_num_queries
):
    client = api_client_for(user_member)

    with django_assert_max_num_queries(6):
        client.get("/api/v1/licence-types/")
    with django_assert_max_num_queries(5):
        client.get("/api/v1/devices/")
