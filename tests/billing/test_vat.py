"""VAT by customer and billing details (billing.vat, billing.profile, billing.vat_check).

Exact amounts for each case: a French customer pays French VAT; a German business with a valid
VAT number is reverse charged; a German customer without one, or with one that is not valid or
could not be checked, pays French VAT; an American customer pays none. The review before a
purchase, the invoice, the renewal, the PDF's Factur-X and the console's invoice page all say
the same.
"""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from facturx import get_facturx_xml_from_pdf
from lxml import etree

from accounts.models import AuditEvent
from billing.documents import invoice_document
from billing.models import BillingDetails, Invoice, VatNumberCheck
from billing.pdf import invoice_pdf
from billing.profile import billing_details_update
from billing.renewal import renewals_run
from billing.vat import REVERSE_CHARGE_NOTE, VatNumberStatus, VatTreatment, vat_for
from billing.vat_check import VatCheckAnswer, ViesVatChecker
from licensing.models import LicenceType
from licensing.services import licences_purchase, licences_purchase_quote
from tests.factories import OrganisationFactory, UserFactory, renewing_organisation

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOV_1 = dt.datetime(2026, 11, 1, 10, 0, tzinfo=PARIS)
FR_VAT = "FR40303265045"
DE_VAT = "DE136695976"
ADDRESS = {"street": "1 Hauptstraße", "postcode": "10115", "city": "Berlin"}


# --- the rule, pure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "status", "treatment", "rate", "note"),
    [
        ("FR", VatNumberStatus.NONE, VatTreatment.DOMESTIC, "0.2000", ""),
        ("FR", VatNumberStatus.VALID, VatTreatment.DOMESTIC, "0.2000", ""),
        ("DE", VatNumberStatus.VALID, VatTreatment.REVERSE_CHARGE, "0.0000", REVERSE_CHARGE_NOTE),
        ("DE", VatNumberStatus.NONE, VatTreatment.EU_CHARGED, "0.2000", ""),
        (
            "DE",
            VatNumberStatus.INVALID,
            VatTreatment.EU_CHARGED,
            "0.2000",
            "VAT charged: the VAT number DE1 is not valid.",
        ),
        (
            "DE",
            VatNumberStatus.UNAVAILABLE,
            VatTreatment.EU_CHARGED,
            "0.2000",
            "VAT charged: the VAT number DE1 could not be checked (VIES down).",
        ),
        (
            "US",
            VatNumberStatus.NONE,
            VatTreatment.OUTSIDE_EU,
            "0.0000",
            "Outside the scope of EU VAT",
        ),
        (
            "CH",
            VatNumberStatus.VALID,
            VatTreatment.OUTSIDE_EU,
            "0.0000",
            "Outside the scope of EU VAT",
        ),
    ],
)
def test_vat_by_customer(country, status, treatment, rate, note):
    vat = vat_for(country=country, vat_number="DE1", status=status, detail="VIES down")
    assert (vat.treatment, vat.rate, vat.note) == (treatment, Decimal(rate), note)


# --- exact amounts, from the review to the invoice ----------------------------------------------


def details(country, vat_number="", **extra):
    return {
        "legal_name": f"Customer {country}",
        **ADDRESS,
        "country": country,
        "vat_number": vat_number,
        **extra,
    }


@pytest.mark.parametrize(
    ("profile", "subtotal", "tax", "total", "treatment"),
    [
        (
            details("FR", FR_VAT, postcode="75002", city="Paris"),
            "38.00",
            "7.60",
            "45.60",
            "domestic",
        ),
        (details("DE", DE_VAT), "38.00", "0.00", "38.00", "reverse_charge"),
        (details("DE"), "38.00", "7.60", "45.60", "eu_charged"),
        (details("US", postcode="10001", city="New York"), "38.00", "0.00", "38.00", "outside_eu"),
    ],
    ids=["FR customer", "DE with a valid number", "DE without a number", "US customer"],
)
def test_a_purchase_is_taxed_by_the_customer_and_the_review_says_so_first(
    profile, subtotal, tax, total, treatment
):
    organisation = renewing_organisation(anchor=dt.date(2026, 11, 1), tax_rate=Decimal("0.0000"))
    owner = UserFactory(organisation=organisation, role="owner")
    standard = LicenceType.objects.get(code="user_standard")
    with time_machine.travel(NOV_1, tick=False):
        version = billing_details_update(organisation=organisation, actor=owner, **profile)
        organisation.refresh_from_db()
        review = licences_purchase_quote(
            organisation=organisation, licence_type=standard, quantity=2
        )
        invoice = licences_purchase(
            organisation=organisation, licence_type=standard, quantity=2, actor=owner
        ).invoice

    assert version.vat_treatment == treatment
    amounts = (Decimal(subtotal), Decimal(tax), Decimal(total))
    assert (review.subtotal, review.tax, review.total) == amounts
    assert (invoice.subtotal, invoice.tax, invoice.total) == amounts
    assert invoice.billing_details == version
    assert invoice_document(invoice).vat_note == version.vat_note
    # The review said the same VAT treatment and sentence before anything was billed.
    assert (review.vat_treatment, review.vat_note) == (
        treatment,
        invoice_document(invoice).vat_note,
    )


def test_a_number_that_is_not_valid_is_refused_and_nothing_changes():
    organisation = OrganisationFactory(tax_rate=Decimal("0.2000"))
    owner = UserFactory(organisation=organisation, role="owner")
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        billing_details_update(
            organisation=organisation, actor=owner, **details("DE", "DE136695977")
        )
    assert "vat_number" in refused.value.error_dict
    assert "not a valid VAT number for DE" in str(refused.value)
    assert not BillingDetails.objects.exists()
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("changes", "field", "sentence"),
    [
        ({"contacts": ["billing@acme.example", "not-an-email"]}, "contacts", "is not an e-mail"),
        ({"country": "XX"}, "country", "two-letter ISO code"),
        ({"legal_name": "  "}, "legal_name", "Give the legal name."),
        ({"vat_number": "FR12"}, "vat_number", "not a valid VAT number for FR"),
        ({"country": "FR", "registration_number": "123456789"}, "registration_number", "digit"),
        ({"purchase_order": "P" * 101}, "purchase_order", "at most 100"),
    ],
)
def test_each_bad_field_is_named_with_a_sentence(changes, field, sentence):
    organisation = OrganisationFactory()
    owner = UserFactory(organisation=organisation, role="owner")
    with pytest.raises(ValidationError) as refused:
        billing_details_update(
            organisation=organisation, actor=owner, **{**details("FR"), **changes}
        )
    assert field in refused.value.error_dict
    assert sentence in " ".join(refused.value.message_dict[field])
    assert not BillingDetails.objects.exists()


def test_a_change_is_a_new_audited_version_and_old_invoices_keep_theirs():
    organisation = OrganisationFactory(tax_rate=Decimal("0.2000"))
    owner = UserFactory(organisation=organisation, role="owner")
    standard = LicenceType.objects.get(code="user_standard")
    with time_machine.travel(NOV_1, tick=False):
        first = billing_details_update(
            organisation=organisation,
            actor=owner,
            **details("FR", "fr 40 303 265 045", postcode="75002", city="Paris"),
            registration_number="303 265 045",
            contacts=["Billing@Acme.example", "billing@acme.example"],
            purchase_order="PO-2026-17",
        )
        invoice = licences_purchase(
            organisation=organisation, licence_type=standard, quantity=1, actor=owner
        ).invoice
        second = billing_details_update(organisation=organisation, actor=owner, city="Lyon")
        unchanged = billing_details_update(organisation=organisation, actor=owner, city="Lyon")

    assert first.vat_number == FR_VAT and first.registration_number == "303265045"
    assert first.contacts == ["billing@acme.example"]
    assert second != first and unchanged == second and second.city == "Lyon"
    assert second.contacts == first.contacts  # fields not given keep their value
    invoice.refresh_from_db()
    document = invoice_document(invoice)
    assert document.bill_to[:3] == ["Customer FR", "1 Hauptstraße", "75002 Paris"]
    assert "VAT number: FR40303265045" in document.bill_to
    assert ("Purchase order", "PO-2026-17") in document.facts
    changes = AuditEvent.objects.filter(action="billing_details.changed")
    assert changes.count() == 2
    assert changes.get(target_id=str(second.pk)).changes["city"] == {"from": "Paris", "to": "Lyon"}


def test_the_renewal_invoice_carries_the_details_and_the_reverse_charge():
    organisation = renewing_organisation(anchor=dt.date(2026, 11, 1), tax_rate=Decimal("0.2000"))
    owner = UserFactory(organisation=organisation, role="owner")
    standard = LicenceType.objects.get(code="user_standard")
    dec_1 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
    with time_machine.travel(NOV_1 + dt.timedelta(days=9), tick=False):
        licences_purchase(organisation=organisation, licence_type=standard, quantity=2, actor=owner)
        version = billing_details_update(
            organisation=organisation, actor=owner, **details("DE", DE_VAT)
        )
    with time_machine.travel(dec_1, tick=False):
        renewals_run(at=dec_1)
    renewal = Invoice.objects.get(organisation=organisation, kind="renewal")
    assert renewal.billing_details == version
    assert (renewal.subtotal, renewal.tax, renewal.total) == (
        Decimal("38.00"),
        Decimal("0.00"),
        Decimal("38.00"),
    )

    root = etree.fromstring(get_facturx_xml_from_pdf(io.BytesIO(invoice_pdf(renewal)))[1])
    ns = {
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
    }
    tax = root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=ns)[
        0
    ]
    assert tax.findtext("ram:CategoryCode", namespaces=ns) == "AE"
    assert tax.findtext("ram:ExemptionReason", namespaces=ns) == REVERSE_CHARGE_NOTE
    buyer = root.xpath("//ram:BuyerTradeParty", namespaces=ns)[0]
    assert buyer.findtext("ram:Name", namespaces=ns) == "Customer DE"
    assert buyer.findtext("ram:SpecifiedTaxRegistration/ram:ID", namespaces=ns) == DE_VAT


# --- checking numbers: cached for a day, audited, failing closed ---------------------------------


def test_a_number_is_checked_once_a_day_and_each_check_is_audited():
    organisation = OrganisationFactory()
    owner = UserFactory(organisation=organisation, role="owner")
    with time_machine.travel(NOV_1, tick=False):
        billing_details_update(organisation=organisation, actor=owner, **details("DE", DE_VAT))
        billing_details_update(organisation=organisation, actor=owner, city="Hamburg")
    with time_machine.travel(NOV_1 + dt.timedelta(days=1, minutes=1), tick=False):
        billing_details_update(organisation=organisation, actor=owner, city="Munich")
    assert VatNumberCheck.objects.filter(number=DE_VAT).count() == 2
    assert AuditEvent.objects.filter(action="vat_number.checked").count() == 2


def test_when_vies_cannot_answer_vat_is_charged_and_the_invoice_says_why(settings, monkeypatch):
    settings.VAT_CHECKER = "billing.vat_check.ViesVatChecker"

    def down(number, timeout):
        raise ConnectionError("MS_UNAVAILABLE")

    monkeypatch.setattr("stdnum.eu.vat.check_vies", down)
    organisation = OrganisationFactory(tax_rate=Decimal("0.0000"))
    owner = UserFactory(organisation=organisation, role="owner")
    version = billing_details_update(
        organisation=organisation, actor=owner, **details("DE", DE_VAT)
    )
    assert version.vat_number_status == VatNumberStatus.UNAVAILABLE
    assert version.tax_rate == Decimal("0.2000")
    assert "could not be checked" in version.vat_note and "MS_UNAVAILABLE" in version.vat_note
    # Not kept as an answer: the next change asks again, and VIES now says it is registered.
    monkeypatch.setattr("stdnum.eu.vat.check_vies", lambda number, timeout: {"valid": True})
    again = billing_details_update(organisation=organisation, actor=owner, city="Bonn")
    assert again.vat_treatment == VatTreatment.REVERSE_CHARGE and again.tax_rate == 0


def test_vies_is_asked_only_about_well_formed_numbers(monkeypatch):
    asked = []
    monkeypatch.setattr(
        "stdnum.eu.vat.check_vies", lambda number, timeout: asked.append(number) or {"valid": False}
    )
    assert ViesVatChecker().check("DE136695977") == VatCheckAnswer(
        VatNumberStatus.INVALID, "format or check digits wrong"
    )
    assert ViesVatChecker().check(DE_VAT).status == VatNumberStatus.INVALID
    assert asked == [DE_VAT]


# --- the API ------------------------------------------------------------------------------------


def test_finance_sets_the_billing_profile_through_the_api(api_client_for):
    organisation = OrganisationFactory()
    finance = UserFactory(organisation=organisation, role="finance")
    client = api_client_for(finance)
    initial = client.get("/api/v1/organisation/billing-profile/").json()
    assert (initial["legal_name"], initial["country"], initial["updated_at"]) == (
        organisation.name,
        "FR",
        None,
    )

    response = client.patch(
        "/api/v1/organisation/billing-profile/",
        {**details("DE", "de 136 695 976"), "contacts": ["ap@kunde.example"]},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["vat_number"] == DE_VAT
    assert body["vat_treatment"] == "reverse_charge"
    assert body["vat_note"] == REVERSE_CHARGE_NOTE
    assert body["tax_rate"] == "0.0000"
    assert client.get("/api/v1/organisation/billing-profile/").json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vat_number": "DE123"}, "vat_number"),
        ({"contacts": ["nobody"]}, "contacts"),
        ({"tax_rate": "0.0000"}, "tax_rate"),
        ({"country": "Germany"}, "country"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api_client_for, body, field):
    organisation = OrganisationFactory()
    owner = UserFactory(organisation=organisation, role="owner")
    client = api_client_for(owner)
    client.patch("/api/v1/organisation/billing-profile/", details("DE"), format="json")
    before = list(BillingDetails.objects.values())

    response = client.patch("/api/v1/organisation/billing-profile/", body, format="json")

    assert response.status_code == 400
    assert field in str(response.json())
    assert list(BillingDetails.objects.values()) == before
