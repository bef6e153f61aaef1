"""Factur-X: the XML inside every invoice PDF is valid EN 16931 CII and says what the invoice
says (billing.facturx)."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from facturx import get_facturx_xml_from_pdf, xml_check_xsd
from lxml import etree
from pypdf import PdfReader

from billing.credit_notes import invoice_reissue
from billing.pdf import invoice_pdf
from billing.quotes import Quote, QuoteLine
from billing.services import invoice_issue, invoice_record_payment
from tests.factories import OrganisationFactory, licence_type

pytestmark = pytest.mark.django_db
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
AT = dt.datetime(2026, 3, 5, 11, tzinfo=dt.UTC)


def issue(organisation, *lines, at=AT):
    quote = Quote(currency=organisation.currency, tax_rate=organisation.tax_rate, lines=list(lines))
    return invoice_issue(organisation=organisation, kind="purchase", quote=quote, actor=None, at=at)


def pro_rata():
    """Three user licences at 19.00 for 27 of 31 days: 49.65, not 57.00."""
    return QuoteLine(
        description="User licence × 3, 05 Mar 2026 to 31 Mar 2026 (27/31 days)",
        kind="proration",
        quantity=3,
        unit_price=Decimal("19.00"),
        amount=Decimal("49.65"),
        licence_type=licence_type("user_standard"),
        period_start=dt.date(2026, 3, 5),
        period_end=dt.date(2026, 3, 31),
    )


def device():
    return QuoteLine(
        description="IP desk phone", kind="device", quantity=1, unit_price=Decimal("89.00"),
        amount=Decimal("89.00"),
    )  # fmt: skip


def embedded_xml(content: bytes) -> etree._Element:
    filename, xml = get_facturx_xml_from_pdf(io.BytesIO(content), check_xsd=False)
    assert filename == "factur-x.xml"
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    return etree.fromstring(xml)


def text(root, path: str) -> str:
    [found] = root.xpath(path, namespaces=NS)
    return found.text


def texts(root, path: str) -> list[str]:
    return [found.text for found in root.xpath(path, namespaces=NS)]


SUMMARY = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"


def test_the_pdf_carries_the_invoice_as_valid_en16931_xml_with_the_same_figures():
    organisation = OrganisationFactory(
        name="Papeterie Martin", country="FR", tax_rate=Decimal("0.2000")
    )
    invoice = issue(organisation, pro_rata(), device())
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("138.65"),
        Decimal("27.73"),
        Decimal("166.38"),
    )

    root = embedded_xml(invoice_pdf(invoice))

    assert text(root, "//rsm:ExchangedDocument/ram:ID") == invoice.number
    assert text(root, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert text(root, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == (
        "urn:cen.eu:en16931:2017"
    )
    assert text(root, "//rsm:ExchangedDocument/ram:IssueDateTime/*") == "20260305"
    assert text(root, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/*") == (
        invoice.due_on.strftime("%Y%m%d")
    )
    assert text(root, "//ram:SellerTradeParty/ram:Name") == "Telecom Cloud SAS"
    assert text(root, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == (
        "FR12345678901"
    )
    assert text(root, "//ram:BuyerTradeParty/ram:Name") == "Papeterie Martin"
    assert text(root, "//ram:BuyerTradeParty//ram:CountryID") == "FR"
    assert text(root, "//ram:InvoiceCurrencyCode") == "EUR"
    # Totals and the VAT breakdown equal the invoice's, to the cent.
    assert text(root, SUMMARY + "ram:LineTotalAmount") == "138.65"
    assert text(root, SUMMARY + "ram:TaxBasisTotalAmount") == "138.65"
    assert text(root, SUMMARY + "ram:TaxTotalAmount") == "27.73"
    assert text(root, SUMMARY + "ram:GrandTotalAmount") == "166.38"
    assert text(root, SUMMARY + "ram:DuePayableAmount") == "166.38"
    breakdown = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/"
    assert text(root, breakdown + "ram:BasisAmount") == "138.65"
    assert text(root, breakdown + "ram:CalculatedAmount") == "27.73"
    assert text(root, breakdown + "ram:CategoryCode") == "S"
    assert text(root, breakdown + "ram:RateApplicablePercent") == "20.00"
    # Each line: net price × quantity is the amount billed; pro rata is a price discount.
    items = root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert len(items) == 2
    amounts = []
    for item in items:
        quantity = Decimal(text(item, ".//ram:BilledQuantity"))
        net = Decimal(text(item, ".//ram:NetPriceProductTradePrice/ram:ChargeAmount"))
        amount = Decimal(text(item, ".//ram:LineTotalAmount"))
        assert (net * quantity).quantize(Decimal("0.01")) == amount
        amounts.append(amount)
    assert amounts == [Decimal("49.65"), Decimal("89.00")]
    assert text(items[0], ".//ram:GrossPriceProductTradePrice/ram:ChargeAmount") == "19.0000"
    assert texts(items[1], ".//ram:GrossPriceProductTradePrice/ram:ChargeAmount") == []


def test_the_pdf_is_a_pdf_a_3_document():
    organisation = OrganisationFactory(country="FR", tax_rate=Decimal("0.2000"))
    reader = PdfReader(io.BytesIO(invoice_pdf(issue(organisation, device()))))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert "EN 16931" in xmp or "EN16931" in xmp.upper()


def test_a_zero_rate_is_zero_rated_and_a_paid_invoice_owes_nothing(staff):
    organisation = OrganisationFactory(country="FR", tax_rate=Decimal("0.0000"))
    invoice = issue(organisation, device())
    invoice_record_payment(invoice=invoice, actor=staff, method="card", reference="ch_1")
    invoice.refresh_from_db()

    root = embedded_xml(invoice_pdf(invoice))

    assert text(root, "//ram:ApplicableHeaderTradeSettlement//ram:CategoryCode") == "Z"
    assert text(root, SUMMARY + "ram:TotalPrepaidAmount") == "89.00"
    assert text(root, SUMMARY + "ram:DuePayableAmount") == "0.00"


def test_a_reissued_invoice_is_a_corrected_invoice_naming_the_one_it_replaces(staff):
    organisation = OrganisationFactory(country="FR", tax_rate=Decimal("0.2000"))
    wrong = issue(organisation, device())
    corrected = invoice_reissue(
        invoice=wrong,
        quote=Quote(currency="EUR", tax_rate=Decimal("0.2000"), lines=[pro_rata()]),
        reason="Wrong item",
        actor=staff,
    )

    root = embedded_xml(invoice_pdf(corrected))

    assert text(root, "//rsm:ExchangedDocument/ram:TypeCode") == "384"
    assert text(root, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == wrong.number
