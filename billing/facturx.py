"""Factur-X: every invoice PDF carries its own machine-readable twin (docs/rules.md, "Invoices").

The CII XML at the EN 16931 profile is built from the same `invoice_document` facts as the
printed page and the console (seller, buyer, dates, lines, VAT breakdown, totals), generated
and checked against the profile's XSD by the `factur-x` library, then embedded in the PDF,
which the library turns into a PDF/A-3 with the XML attached as `factur-x.xml`. The
schematron checks need a Saxon server and are not run here.

How amounts map to EN 16931:
- a line's gross price (BT-148) is the catalogue's unit price; a pro rata line's reduction is a
  price discount (BT-147), so net price × quantity (BT-146 × BT-129) is the line's amount
  (BT-131) as billed, to the cent;
- one VAT breakdown (BG-23) at the invoice's rate, its category from the VAT treatment of the
  billing details it was issued with: AE (reverse charge) or G (outside the EU) with the
  reason printed on the invoice, else S when the rate is above zero and Z when it is zero;
- the amount due (BT-115) is the total less what was paid (BT-113).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from facturx import generate_cii_xml, generate_from_binary

from billing.documents import invoice_seller
from billing.models import Invoice, InvoiceKind
from billing.selectors import invoice_paid_amount
from billing.vat import VatTreatment, seller_country

LEVEL = "en16931"
FOUR_PLACES = Decimal("0.0001")
INVOICE = "380"  # UNTDID 1001: commercial invoice
CORRECTED_INVOICE = "384"
ONE = "C62"  # UN/ECE Recommendation 20: one (unit)


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _price(amount: Decimal) -> str:
    return str(amount.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP))


def _percent(rate: Decimal) -> str:
    return f"{rate * 100:.2f}"


def vat_category(invoice: Invoice) -> tuple[str, str, str]:
    """(UNTDID 5305 category, exemption reason, VATEX code) from the VAT treatment of the
    invoice's billing details (billing.vat): AE reverse charge, G export outside the EU, else S
    (standard rate) above zero and Z (zero rated) at zero."""
    details = invoice.billing_details
    treatment = details.vat_treatment if details else ""
    if treatment == VatTreatment.REVERSE_CHARGE:
        return "AE", details.vat_note, "VATEX-EU-AE"
    if treatment == VatTreatment.OUTSIDE_EU:
        return "G", details.vat_note, "VATEX-EU-G"
    return ("S" if invoice.tax_rate > 0 else "Z"), "", ""


def _buyer(invoice: Invoice) -> dict:
    details = invoice.billing_details
    if details is None:
        return {"name": invoice.organisation.name, "country_code": invoice.organisation.country}
    buyer = {
        "name": details.legal_name,
        "addr_l1": details.street,
        "postcode": details.postcode,
        "city": details.city,
        "country_code": details.country,
    }
    if details.vat_number:
        buyer["vat_identifier"] = details.vat_number
    if details.registration_number:
        buyer["legal_identifier"] = details.registration_number
    return buyer


def _seller() -> dict:
    seller = invoice_seller()
    address = [line for line in seller["address"] if line]
    party = {
        "name": str(seller.get("name", "")),
        "country_code": seller_country(),
    }
    for key, line in zip(("addr_l1", "addr_l2", "addr_l3"), address, strict=False):
        party[key] = str(line)
    if seller.get("vat_number"):
        party["vat_identifier"] = str(seller["vat_number"])
    if seller.get("registration"):
        party["legal_info"] = str(seller["registration"])
    return party


def _line(invoice: Invoice, line) -> dict:
    net = (line.amount / line.quantity) if line.quantity else Decimal("0")
    data = {
        "BT-126": str(line.position),
        "BT-129": str(line.quantity),
        "BT-130": ONE,
        "BT-131": _money(line.amount),
        "BT-146": _price(net),
        "BT-151": vat_category(invoice)[0],
        "BT-152": _percent(invoice.tax_rate),
        "BT-153": line.description[:200],
    }
    if line.unit_price and _price(net) != _price(line.unit_price):
        data["BT-148"] = _price(line.unit_price)
        data["BT-147-00"] = [{"BT-147": _price(line.unit_price - net)}]
    if line.period_start:
        data["BT-134"] = line.period_start
        data["BT-135"] = line.period_end or line.period_start
    return data


def _breakdown(invoice: Invoice) -> dict:
    category, reason, code = vat_category(invoice)
    breakdown = {
        "BT-116": _money(invoice.subtotal),
        "BT-117": _money(invoice.tax),
        "BT-118": category,
        "BT-119": _percent(invoice.tax_rate),
    }
    if reason:
        breakdown["BT-120"] = reason
        breakdown["BT-121"] = code
    return breakdown


def invoice_cii_xml(invoice: Invoice, lines=None) -> bytes:
    """The invoice as CII XML at the EN 16931 profile, checked against the profile's XSD."""
    lines = list(invoice.lines.all()) if lines is None else lines
    paid = invoice_paid_amount(invoice)
    data = {
        "BT-1": invoice.number,
        "BT-2": invoice.issued_on,
        "BT-3": CORRECTED_INVOICE if invoice.kind == InvoiceKind.CORRECTION else INVOICE,
        "BT-5": invoice.currency,
        "BT-9": invoice.due_on,
        "BT-72": invoice.issued_on,  # the delivery block may not be empty
        "BT-20": f"Payment due by {invoice.due_on:%d %b %Y}.",
        "BG-4": _seller(),
        "BG-7": _buyer(invoice),
        "BG-25": [_line(invoice, line) for line in lines],
        "BG-23": [_breakdown(invoice)],
        "BT-106": _money(sum((line.amount for line in lines), Decimal("0.00"))),
        "BT-109": _money(invoice.subtotal),
        "BT-110": _money(invoice.tax),
        "BT-112": _money(invoice.total),
        "BT-113": _money(paid),
        "BT-115": _money(invoice.total - paid),
    }
    if invoice.period_start:
        data["BT-73"] = invoice.period_start
        data["BT-74"] = invoice.period_end or invoice.period_start
    if invoice.billing_details and invoice.billing_details.purchase_order:
        data["BT-13"] = invoice.billing_details.purchase_order
    if invoice.replaces_id:
        data["BG-3"] = [{"BT-25": invoice.replaces.number, "BT-26": invoice.replaces.issued_on}]
    return generate_cii_xml(data, level=LEVEL, check_xsd=True, check_schematron=False)


def facturx_pdf(pdf: bytes, invoice: Invoice, lines=None) -> bytes:
    """`pdf` made a Factur-X document: PDF/A-3 with the invoice's CII XML attached."""
    seller = invoice_seller()
    return generate_from_binary(
        pdf,
        invoice_cii_xml(invoice, lines),
        flavor="factur-x",
        level=LEVEL,
        check_xsd=False,  # checked when built
        check_schematron=False,
        pdf_metadata={
            "author": str(seller.get("name", "")),
            "keywords": "Factur-X, invoice",
            "title": f"Invoice {invoice.number}",
            "subject": f"Invoice {invoice.number} for {invoice.organisation.name}",
        },
        lang="en-GB",
    )
