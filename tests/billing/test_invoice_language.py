"""Invoices and credit notes are printed in the organisation's language (docs/rules.md,
"Invoices"): labels, the VAT sentence, numbers and dates; the Factur-X XML is unchanged."""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from facturx import get_facturx_xml_from_pdf, xml_check_xsd

from billing.credit_notes import credit_note_issue
from billing.documents import format_date, format_money, format_rate
from billing.models import Invoice
from billing.pdf import credit_note_pdf, invoice_pdf
from billing.profile import billing_details_update
from billing.renewal import renewals_run
from billing.vat import REVERSE_CHARGE_NOTE, vat_note_text
from licensing.models import LicenceType
from licensing.services import licences_purchase
from tests.billing.test_exports import pdf_text
from tests.factories import UserFactory, renewing_organisation

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOV_10 = dt.datetime(2026, 11, 10, 10, 0, tzinfo=PARIS)
DEC_1 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
DE_VAT = "DE136695976"
GERMAN_BUSINESS = {
    "legal_name": "Kunde GmbH",
    "street": "1 Hauptstraße",
    "postcode": "10115",
    "city": "Berlin",
    "country": "DE",
    "vat_number": DE_VAT,
}


def renewal_invoice(language: str) -> Invoice:
    """A renewal invoice (2 user licences, reverse charged) of an organisation in `language`."""
    organisation = renewing_organisation(anchor=dt.date(2026, 11, 1), tax_rate=Decimal("0.2000"))
    organisation.language = language
    organisation.save(update_fields=["language"])
    owner = UserFactory(organisation=organisation, role="owner")
    standard = LicenceType.objects.get(code="user_standard")
    with time_machine.travel(NOV_10, tick=False):
        licences_purchase(organisation=organisation, licence_type=standard, quantity=2, actor=owner)
        billing_details_update(organisation=organisation, actor=owner, **GERMAN_BUSINESS)
    with time_machine.travel(DEC_1, tick=False):
        renewals_run(at=DEC_1)
    return Invoice.objects.get(organisation=organisation, kind="renewal")


def test_a_french_organisation_gets_a_french_invoice():
    invoice = renewal_invoice("fr")

    text = "\n".join(pdf_text(invoice_pdf(invoice)))

    for words in (
        "FACTURE",
        "FACTURÉ À",
        "Sous-total HT",
        "Total TTC (EUR)",
        "Prix unitaire",
        "Montant",
        "ÉCHÉANCE",
        "1 décembre 2026",
        "38,00 €",
        "Autoliquidation — TVA due par le preneur (article 196 de la directive 2006/112/CE)",
        "Pas d'escompte pour paiement anticipé",
        "Page 1 sur 1",
    ):
        assert words in text, words
    for english in ("Invoice", "Subtotal", "Reverse charge", "Unit price", "€38.00"):
        assert english not in text, english
    # the XML is language-neutral: valid, with the stored (English) exemption reason
    xml = get_facturx_xml_from_pdf(io.BytesIO(invoice_pdf(invoice)))[1]
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert REVERSE_CHARGE_NOTE.encode() in xml


def test_an_english_organisation_gets_an_english_invoice():
    invoice = renewal_invoice("en")

    text = "\n".join(pdf_text(invoice_pdf(invoice)))

    for words in ("INVOICE", "BILL TO", "Subtotal", "€38.00", "01 Dec 2026", REVERSE_CHARGE_NOTE):
        assert words in text, words
    assert "Facture" not in text and "38,00" not in text


def test_a_french_credit_note():
    invoice = renewal_invoice("fr")
    with time_machine.travel(DEC_1 + dt.timedelta(days=2), tick=False):
        note = credit_note_issue(invoice=invoice, actor=None, reason="Erreur", whole=True)

    text = "\n".join(pdf_text(credit_note_pdf(note)))

    for words in ("AVOIR", "NUMÉRO D'AVOIR", "MOTIF", "38,00 €", "Total crédité (EUR)"):
        assert words in text, words
    assert "Credit note" not in text


def test_french_formats_and_vat_notes():
    from django.utils import translation

    with translation.override("fr"):
        assert format_money(Decimal("1234.5"), "EUR") == "1\xa0234,50 €"
        assert format_money(Decimal("-30"), "USD") == "-30,00 $"
        assert format_rate(Decimal("0.0550")) == "5,5 %"
        assert format_date(dt.date(2026, 12, 7)) == "7 décembre 2026"
        assert vat_note_text("Outside the scope of EU VAT") == "Hors champ de la TVA de l'UE"
        assert vat_note_text("VAT charged: the VAT number DE1 is not valid.") == (
            "TVA facturée : le numéro de TVA DE1 n'est pas valide."
        )
        assert vat_note_text("VAT charged: the VAT number DE1 could not be checked (timeout).") == (
            "TVA facturée : le numéro de TVA DE1 n'a pas pu être vérifié (timeout)."
        )
    assert format_money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert format_date(dt.date(2026, 12, 7)) == "07 Dec 2026"
