"""Every preview shows the VAT treatment its invoice will have (issue 16, docs/rules.md "VAT by
customer"): the upcoming renewal and a removal's fee, in the services, the API and the console."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from billing.profile import billing_details_update
from billing.renewal import renewals_run, upcoming_quote
from billing.vat import REVERSE_CHARGE_NOTE
from licensing.models import LicenceType
from licensing.services import licences_removal_quote
from tests.billing.test_vat import DE_VAT, NOV_1, details
from tests.factories import LicenceFactory, UserFactory, renewing_organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def german_customer():
    organisation = renewing_organisation(anchor=dt.date(2026, 11, 1), tax_rate=Decimal("0.2000"))
    owner = UserFactory(organisation=organisation, role="owner")
    standard = LicenceType.objects.get(code="user_standard")
    with time_machine.travel(NOV_1, tick=False):
        billing_details_update(organisation=organisation, actor=owner, **details("DE", DE_VAT))
        LicenceFactory(organisation=organisation, licence_type=standard)
        LicenceFactory(organisation=organisation, licence_type=standard)
    organisation.refresh_from_db()
    return organisation, owner, standard


def test_the_upcoming_renewal_shows_the_reverse_charge_its_invoice_carries(german_customer):
    organisation, _owner, _standard = german_customer
    with time_machine.travel(NOV_1 + dt.timedelta(days=3), tick=False):
        preview = upcoming_quote(organisation)
    assert (preview.vat_treatment, preview.tax) == ("reverse_charge", Decimal("0.00"))
    assert REVERSE_CHARGE_NOTE.split(" (")[0] in preview.vat_note

    renewals_run(at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    invoice = organisation.invoices.get(kind="renewal")
    assert invoice.total == preview.total
    assert (invoice.billing_details.vat_treatment, invoice.billing_details.vat_note) == (
        preview.vat_treatment,
        preview.vat_note,
    )


def test_the_removal_and_upcoming_previews_say_it_in_the_api_and_the_console(
    german_customer, api_client_for, client
):
    organisation, owner, standard = german_customer
    with time_machine.travel(NOV_1 + dt.timedelta(days=3), tick=False):
        removal = licences_removal_quote(
            organisation=organisation, licence_type=standard, quantity=1
        )
        upcoming = api_client_for(owner).get("/api/v1/billing/upcoming/").json()
        removal_api = api_client_for(owner).post(
            "/api/v1/licences/remove/preview/",
            {"type": "user_standard", "quantity": 1},
            format="json",
        )
        client.force_login(owner)
        page = client.get("/admin/billing/invoice/upcoming/").content.decode()
    assert removal.vat_treatment == "reverse_charge"
    assert upcoming["vat_treatment"] == "reverse_charge"
    assert upcoming["vat_note"] == removal.vat_note != ""
    assert removal_api.status_code == 200, removal_api.content
    assert removal_api.json()["vat_note"] == removal.vat_note
    assert 'id="quote-vat-note"' in page
