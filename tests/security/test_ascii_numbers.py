"""Issue 14 item 7: quantities, amounts and durations accept ASCII digits only (0-9), with the
field's error, never a 500 nor a 409 (telecom/quantities.py). Python's int() and Decimal() read
Arabic-Indic, fullwidth and other scripts' digits; the product does not."""

import pytest
from django.urls import reverse

from billing.models import Charge, UsageRecord
from licensing.models import Licence
from tests.admin.conftest import page_text
from tests.billing.test_api import service_client, usage_body
from tests.factories import OrganisationFactory, UserFactory, give_number, licence_type

pytestmark = pytest.mark.django_db

NOT_ASCII = [
    "\u0663",  # Arabic-Indic 3
    "\uff13",  # fullwidth 3
    "\u0663\u0660",  # Arabic-Indic 30
    "\u00b3",  # superscript 3
    "1_0",  # int() reads 10
    "\u09e9",  # Bengali 3
]


@pytest.fixture
def members(organisation):
    return {role: UserFactory(organisation=organisation, role=role) for role in ("owner", "admin")}


@pytest.mark.parametrize("quantity", NOT_ASCII)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/licences/purchase/preview/", {"type": "user_standard"}),
        ("/api/v1/licences/purchase/", {"type": "user_standard"}),
        ("/api/v1/licences/remove/preview/", {"type": "user_standard"}),
        ("/api/v1/device-orders/", {"device": "ip_desk_phone"}),
    ],
)
def test_api_quantities_in_other_scripts_are_a_field_error(
    api_client_for, members, path, body, quantity
):
    response = api_client_for(members["owner"]).post(
        path, {**body, "quantity": quantity}, format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["fields"]["quantity"][0]["code"] == "invalid"
    assert not Licence.objects.exists() and not Charge.objects.exists()


def test_api_quantities_in_ascii_still_work(api_client_for, members):
    client = api_client_for(members["owner"])
    for quantity in (3, "3", " 3 "):
        response = client.post(
            "/api/v1/licences/purchase/preview/",
            {"type": "user_standard", "quantity": quantity},
            format="json",
        )
        assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("field", "value"), [("duration_seconds", "\u0666\u0665"), ("cost", "\uff11.25")]
)
def test_usage_numbers_in_other_scripts_are_a_field_error(organisation, field, value):
    member = UserFactory(organisation=organisation, role="user")
    number = give_number(member, start=0)

    response = service_client().post(
        "/api/v1/usage/", usage_body(number, **{field: value}), format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["fields"][field][0]["code"] == "invalid"
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize("quantity", NOT_ASCII)
def test_console_buy_quantity_in_other_scripts_is_a_form_error(client, members, quantity):
    client.force_login(members["owner"])

    response = client.post(
        reverse("admin:licensing_licence_buy"),
        {"licence_type": licence_type("phone_system").pk, "quantity": quantity, "_confirm": "1"},
    )

    assert response.status_code == 200
    assert "Enter a whole number." in page_text(response)
    assert not Licence.objects.exists()


def test_console_device_order_quantity_in_other_scripts_is_a_form_error(client, members):
    client.force_login(members["owner"])
    from licensing.models import Device

    response = client.post(
        reverse("admin:billing_charge_add"),
        {
            "organisation": members["owner"].organisation_id,
            "device": Device.objects.get(code="ip_desk_phone").pk,
            "quantity": "\uff12",
            "_confirm": "1",
        },
    )

    assert response.status_code == 200
    assert "Enter a whole number." in page_text(response)
    assert not Charge.objects.exists()


def test_console_tax_rate_in_other_scripts_is_a_form_error(client, staff):
    organisation = OrganisationFactory()
    client.force_login(staff)
    url = reverse("admin:accounts_organisation_change", args=[organisation.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"tax_rate": "0.\u0662", "calling_credit_cap": "250.00"})

    response = client.post(url, data)

    assert response.status_code == 200
    assert "Enter a number." in page_text(response)
    organisation.refresh_from_db()
    assert str(organisation.tax_rate) != "0.2"


@pytest.mark.parametrize("raw", ["+\u0663\u0663612345678", "\uff10612345678"])
def test_mass_configuration_numbers_in_other_scripts_are_not_phone_numbers(raw):
    from licensing.mass_config.reading import _clean_did

    with pytest.raises(ValueError, match="is not a phone number"):
        _clean_did(raw)
