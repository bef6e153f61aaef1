"""What an invoice says, whatever it is printed on: the PDF (billing.pdf) and the console's
invoice page both lay out this one document, so the two can never disagree on a date, a label,
a total or the sentence at the bottom (docs/rules.md, "Invoices").

The seller block comes from `DEFAULT_SELLER` below, overridden key by key by an optional
`settings.INVOICE_SELLER` dict (name, address lines, VAT number, e-mail, registration, tax label).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

import phonenumbers
from django.conf import settings

from billing.models import CreditNote, Invoice, InvoiceStatus, RecordedPaymentMethod
from billing.periods import local_date
from billing.selectors import invoice_amount_due

DEFAULT_SELLER: dict[str, object] = {
    "name": "Telecom Cloud SAS",
    "address": ["12 rue de la République", "69002 Lyon", "France"],
    "vat_number": "FR12345678901",
    "registration": "RCS Lyon 123 456 789",
    "email": "billing@telecom.example",
    "tax_label": "VAT",
    # French law (Code de commerce L441-9, L441-10) asks every invoice to state these.
    "payment_terms": "No discount for early payment. Late payment: penalties at three times the "
    "French legal interest rate and a fixed recovery charge of €40 (Code de commerce, L441-10).",
}

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def invoice_seller() -> dict[str, object]:
    """The seller block: the defaults, overridden key by key by `settings.INVOICE_SELLER`."""
    seller = {**DEFAULT_SELLER, **(getattr(settings, "INVOICE_SELLER", None) or {})}
    address = seller.get("address") or []
    if isinstance(address, str):
        address = [part.strip() for part in address.splitlines() if part.strip()]
    seller["address"] = list(address)
    return seller


def format_money(amount: Decimal, currency: str) -> str:
    """€1,234.56 and -€12.00: the symbol where there is one, else the ISO code after."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}"
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def format_rate(rate: Decimal) -> str:
    """0.2000 → "20%", 0.0550 → "5.5%"."""
    percent = (rate * 100).normalize()
    return f"{percent:f}%"


def format_date(day: date | None) -> str:
    return f"{day:%d %b %Y}" if day else ""


def format_period(start: date | None, end: date | None) -> str:
    if not start:
        return ""
    return f"{format_date(start)} – {format_date(end)}" if end else format_date(start)


@cache
def country_name(code: str) -> str:
    """ISO 3166 code → English name (from phonenumbers' data), the code when unknown.

    The geocoder is imported here, on the first invoice rendered, not with this module: its data
    costs about 100 MB and a second of start-up, which every Django process paid before."""
    from phonenumbers import geocoder

    example = phonenumbers.example_number(code.upper()) if code else None
    name = geocoder.country_name_for_number(example, "en") if example else ""
    return f"{name} ({code.upper()})" if name else code.upper()


@dataclass(frozen=True)
class DocumentLine:
    description: str
    period: str  # shown under the description when the description does not already say it
    quantity: int
    unit_price: str
    amount: str


@dataclass(frozen=True)
class InvoiceDocument:
    number: str
    badge: str  # "PAID" or "CREDITED" stamped on the document; "" for an invoice still due
    seller: dict[str, object]
    bill_to: list[str]  # the customer's legal name, then its address, country and numbers
    facts: list[tuple[str, str]]  # (label, value): number, dates, period, currency, status, ...
    lines: list[DocumentLine]
    subtotal: str
    tax_label: str  # "VAT (20%)"
    tax: str
    vat_note: str  # "Reverse charge — VAT due by the recipient (...)", or ""
    total_label: str  # "Total (EUR)"
    total: str
    payments: list[str]  # one sentence a payment received or a credit note
    closing: str  # the sentence at the bottom: when it is due, or that it is paid or credited
    title: str = "Invoice"  # or "Credit note"
    issued: str = ""  # the date of issue, for the running header
    terms: str = ""  # the payment terms the law asks an invoice to state


def status_text(invoice: Invoice) -> str:
    """With the day it happened, in the organisation's time zone like every invoice date."""
    zone = invoice.organisation.timezone
    if invoice.status == InvoiceStatus.PAID:
        paid = local_date(invoice.paid_at, zone) if invoice.paid_at else None
        return f"Paid {format_date(paid)}".strip()
    if invoice.status == InvoiceStatus.CREDITED:
        last = invoice.credit_notes.order_by("-sequence").first()
        return f"Credited {format_date(last.issued_on if last else None)}".strip()
    return "Issued, payment due"


def _bill_to(invoice: Invoice | CreditNote) -> list[str]:
    """From the billing details in force when the invoice was issued; the organisation's name
    and country for one that never gave any."""
    details = invoice.billing_details
    if details is None:
        return [invoice.organisation.name, country_name(invoice.organisation.country)]
    lines = [details.legal_name, *details.address_lines, country_name(details.country)]
    if details.vat_number:
        lines.append(f"VAT number: {details.vat_number}")
    if details.registration_number:
        lines.append(f"Registration: {details.registration_number}")
    return lines


def _facts(invoice: Invoice) -> list[tuple[str, str]]:
    currency = invoice.currency
    symbol = CURRENCY_SYMBOLS.get(currency)
    facts = [
        ("Invoice number", invoice.number),
        ("Issued", format_date(invoice.issued_on)),
        ("Due", format_date(invoice.due_on)),
    ]
    if invoice.period_start:
        facts.append(("Period", format_period(invoice.period_start, invoice.period_end)))
    facts += [
        ("Currency", f"{currency} ({symbol})" if symbol else currency),
        ("Status", status_text(invoice)),
    ]
    credit_notes = list(invoice.credit_notes.order_by("sequence"))
    if credit_notes:
        facts.append(("Credit notes", ", ".join(note.number for note in credit_notes)))
    replaced_by = getattr(invoice, "replaced_by", None)
    if replaced_by is not None:
        facts.append(("Replaced by", replaced_by.number))
    if invoice.replaces_id:
        facts.append(("Replaces", invoice.replaces.number))
    if invoice.billing_details and invoice.billing_details.purchase_order:
        facts.append(("Purchase order", invoice.billing_details.purchase_order))
    return facts


def _payments(invoice: Invoice) -> list[str]:
    """Credit notes, then payments received, each a sentence; then what is still due."""
    sentences = [
        f"Credit note {note.number} of {format_date(note.issued_on)}: "
        f"{format_money(-note.total, invoice.currency)}"
        for note in invoice.credit_notes.order_by("sequence")
    ]
    for payment in invoice.payments.order_by("paid_at"):
        paid_on = local_date(payment.paid_at, invoice.organisation.timezone)
        method = dict(RecordedPaymentMethod.choices).get(payment.method, payment.method)
        how = ", ".join(part for part in (method, payment.reference) if part)
        sentences.append(
            f"Payment: {format_money(payment.amount, invoice.currency)} received on "
            f"{format_date(paid_on)}" + (f" ({how})" if how else "")
        )
    if sentences and invoice.status == InvoiceStatus.ISSUED:
        due = format_money(invoice_amount_due(invoice), invoice.currency)
        sentences.append(f"Amount due: {due}")
    return sentences


def _closing(invoice: Invoice, seller: dict[str, object]) -> str:
    if invoice.status == InvoiceStatus.CREDITED:
        text = "This invoice is credited in full and is not payable."
        replaced_by = getattr(invoice, "replaced_by", None)
        if replaced_by is not None:
            text += f" It is replaced by invoice {replaced_by.number}."
        return text
    if invoice.status == InvoiceStatus.PAID:
        return "This invoice has been paid in full. Thank you."
    text = (
        f"Payment of {format_money(invoice_amount_due(invoice), invoice.currency)} is due by "
        f"{format_date(invoice.due_on)}. Please quote invoice number {invoice.number} with your "
        "payment."
    )
    if seller.get("email"):
        text += f" Questions: {seller['email']}."
    return text


def _rows(lines, currency: str) -> list[DocumentLine]:
    rows = []
    for line in lines:
        period = format_period(line.period_start, line.period_end)
        if period and format_date(line.period_start) in line.description:
            period = ""
        rows.append(
            DocumentLine(
                description=line.description,
                period=period,
                quantity=line.quantity,
                unit_price=format_money(line.unit_price, currency),
                amount=format_money(line.amount, currency),
            )
        )
    return rows


def invoice_document(invoice: Invoice, lines=None) -> InvoiceDocument:
    """The invoice's content: seller, customer, dates, lines, tax, total, payments, closing."""
    seller = invoice_seller()
    currency = invoice.currency
    rows = _rows(invoice.lines.all() if lines is None else lines, currency)
    badges = {InvoiceStatus.PAID: "PAID", InvoiceStatus.CREDITED: "CREDITED"}
    return InvoiceDocument(
        number=invoice.number,
        badge=badges.get(invoice.status, ""),
        seller=seller,
        bill_to=_bill_to(invoice),
        facts=_facts(invoice),
        lines=rows,
        subtotal=format_money(invoice.subtotal, currency),
        tax_label=f"{seller.get('tax_label') or 'Tax'} ({format_rate(invoice.tax_rate)})",
        tax=format_money(invoice.tax, currency),
        vat_note=invoice.billing_details.vat_note if invoice.billing_details else "",
        total_label=f"Total ({currency})",
        total=format_money(invoice.total, currency),
        payments=_payments(invoice),
        closing=_closing(invoice, seller),
        issued=format_date(invoice.issued_on),
        terms=str(seller.get("payment_terms") or ""),
    )


def credit_note_document(note: CreditNote, lines=None) -> InvoiceDocument:
    """The credit note's content, laid out like an invoice: the invoice it corrects, the reason,
    the lines it takes back, its tax at the invoice's rate and VAT treatment."""
    seller = invoice_seller()
    currency, invoice = note.currency, note.invoice
    facts = [
        ("Credit note number", note.number),
        ("Issued", format_date(note.issued_on)),
        ("Credits invoice", f"{invoice.number} of {format_date(invoice.issued_on)}"),
        ("Reason", note.reason),
        ("Currency", currency),
    ]
    if note.billing_details and note.billing_details.purchase_order:
        facts.append(("Purchase order", note.billing_details.purchase_order))
    return InvoiceDocument(
        number=note.number,
        badge="",
        seller=seller,
        bill_to=_bill_to(note),
        facts=facts,
        lines=_rows(note.lines.all() if lines is None else lines, currency),
        subtotal=format_money(note.subtotal, currency),
        tax_label=f"{seller.get('tax_label') or 'Tax'} ({format_rate(note.tax_rate)})",
        tax=format_money(note.tax, currency),
        vat_note=note.billing_details.vat_note if note.billing_details else "",
        total_label=f"Total credited ({currency})",
        total=format_money(note.total, currency),
        payments=[],
        closing=(
            f"This credit note reduces invoice {invoice.number}: "
            f"{format_money(invoice_amount_due(invoice), currency)} is left to pay on it."
        ),
        title="Credit note",
        issued=format_date(note.issued_on),
    )
