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
from django.utils import dateformat, formats
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from billing.models import CreditNote, Invoice, InvoiceStatus, RecordedPaymentMethod
from billing.periods import local_date
from billing.selectors import invoice_amount_due
from billing.vat import vat_note_text

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


def _french() -> bool:
    return (get_language() or "").startswith("fr")


def format_money(amount: Decimal, currency: str) -> str:
    """€1,234.56 and -€12.00: the symbol where there is one, else the ISO code after. In the
    active language's number format (Django's, as the e-mails of billing/mail.py): a French
    document writes 1 234,56 € (docs/rules.md, "Invoices")."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    sign = "-" if amount < 0 else ""
    digits = formats.number_format(abs(amount), 2, use_l10n=True, force_grouping=True)
    if _french() or not symbol:
        return f"{sign}{digits} {symbol or currency}"
    return f"{sign}{symbol}{digits}"


def format_rate(rate: Decimal) -> str:
    """0.2000 → "20%", 0.0550 → "5.5%" (French: "20 %", "5,5 %")."""
    percent = formats.number_format(Decimal(f"{(rate * 100).normalize():f}"), use_l10n=True)
    return f"{percent} %" if _french() else f"{percent}%"


def format_date(day: date | None) -> str:
    """07 Dec 2026; in French 7 décembre 2026 (the format is in billing's catalogue)."""
    # Translators: a Django date format (English 07 Dec 2026).
    return dateformat.format(day, _("d M Y")) if day else ""


def format_period(start: date | None, end: date | None) -> str:
    if not start:
        return ""
    return f"{format_date(start)} – {format_date(end)}" if end else format_date(start)


@cache
def country_name(code: str, language: str = "en") -> str:
    """ISO 3166 code → its name in `language` (from phonenumbers' data), the code when unknown.

    The geocoder is imported here, on the first invoice rendered, not with this module: its data
    costs about 100 MB and a second of start-up, which every Django process paid before."""
    from phonenumbers import geocoder

    example = phonenumbers.example_number(code.upper()) if code else None
    name = geocoder.country_name_for_number(example, language) if example else ""
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


def _lang() -> str:
    return "fr" if _french() else "en"


def _tax_label(seller: dict[str, object], rate: Decimal) -> str:
    """VAT (20%) or TVA (20 %): the seller's tax label, translated when the catalogue has it."""
    label = str(seller.get("tax_label") or "Tax")
    return f"{_(label)} ({format_rate(rate)})"


def status_text(invoice: Invoice) -> str:
    """With the day it happened, in the organisation's time zone like every invoice date."""
    zone = invoice.organisation.timezone
    if invoice.status == InvoiceStatus.PAID:
        paid = local_date(invoice.paid_at, zone) if invoice.paid_at else None
        return _("Paid %(day)s") % {"day": format_date(paid)}
    if invoice.status == InvoiceStatus.CREDITED:
        last = invoice.credit_notes.order_by("-sequence").first()
        return _("Credited %(day)s") % {"day": format_date(last.issued_on if last else None)}
    return _("Issued, payment due")


def _bill_to(invoice: Invoice | CreditNote) -> list[str]:
    """From the billing details in force when the invoice was issued; the organisation's name
    and country for one that never gave any."""
    details = invoice.billing_details
    if details is None:
        return [invoice.organisation.name, country_name(invoice.organisation.country, _lang())]
    lines = [details.legal_name, *details.address_lines, country_name(details.country, _lang())]
    if details.vat_number:
        lines.append(_("VAT number: %(number)s") % {"number": details.vat_number})
    if details.registration_number:
        lines.append(_("Registration: %(number)s") % {"number": details.registration_number})
    return lines


def _facts(invoice: Invoice) -> list[tuple[str, str]]:
    currency = invoice.currency
    symbol = CURRENCY_SYMBOLS.get(currency)
    facts = [
        (_("Invoice number"), invoice.number),
        (_("Issued"), format_date(invoice.issued_on)),
        (_("Due"), format_date(invoice.due_on)),
    ]
    if invoice.period_start:
        facts.append((_("Period"), format_period(invoice.period_start, invoice.period_end)))
    facts += [
        (_("Currency"), f"{currency} ({symbol})" if symbol else currency),
        (_("Status"), status_text(invoice)),
    ]
    credit_notes = list(invoice.credit_notes.order_by("sequence"))
    if credit_notes:
        facts.append((_("Credit notes"), ", ".join(note.number for note in credit_notes)))
    replaced_by = getattr(invoice, "replaced_by", None)
    if replaced_by is not None:
        facts.append((_("Replaced by"), replaced_by.number))
    if invoice.replaces_id:
        facts.append((_("Replaces"), invoice.replaces.number))
    if invoice.billing_details and invoice.billing_details.purchase_order:
        facts.append((_("Purchase order"), invoice.billing_details.purchase_order))
    return facts


def _payments(invoice: Invoice) -> list[str]:
    """Credit notes, then payments received, each a sentence; then what is still due."""
    sentences = [
        _("Credit note %(number)s of %(day)s: %(amount)s")
        % {
            "number": note.number,
            "day": format_date(note.issued_on),
            "amount": format_money(-note.total, invoice.currency),
        }
        for note in invoice.credit_notes.order_by("sequence")
    ]
    for payment in invoice.payments.order_by("paid_at"):
        paid_on = local_date(payment.paid_at, invoice.organisation.timezone)
        method = dict(RecordedPaymentMethod.choices).get(payment.method, payment.method)
        how = ", ".join(part for part in (method, payment.reference) if part)
        sentences.append(
            _("Payment: %(amount)s received on %(day)s")
            % {
                "amount": format_money(payment.amount, invoice.currency),
                "day": format_date(paid_on),
            }
            + (f" ({how})" if how else "")
        )
    if sentences and invoice.status == InvoiceStatus.ISSUED:
        due = format_money(invoice_amount_due(invoice), invoice.currency)
        sentences.append(_("Amount due: %(amount)s") % {"amount": due})
    return sentences


def _closing(invoice: Invoice, seller: dict[str, object]) -> str:
    if invoice.status == InvoiceStatus.CREDITED:
        text = _("This invoice is credited in full and is not payable.")
        replaced_by = getattr(invoice, "replaced_by", None)
        if replaced_by is not None:
            text += " " + _("It is replaced by invoice %(number)s.") % {
                "number": replaced_by.number
            }
        return text
    if invoice.status == InvoiceStatus.PAID:
        return _("This invoice has been paid in full. Thank you.")
    text = _(
        "Payment of %(amount)s is due by %(day)s. Please quote invoice number %(number)s with "
        "your payment."
    ) % {
        "amount": format_money(invoice_amount_due(invoice), invoice.currency),
        "day": format_date(invoice.due_on),
        "number": invoice.number,
    }
    if seller.get("email"):
        text += " " + _("Questions: %(email)s.") % {"email": seller["email"]}
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
        tax_label=_tax_label(seller, invoice.tax_rate),
        tax=format_money(invoice.tax, currency),
        vat_note=vat_note_text(invoice.billing_details.vat_note if invoice.billing_details else ""),
        total_label=_("Total (%(currency)s)") % {"currency": currency},
        total=format_money(invoice.total, currency),
        payments=_payments(invoice),
        closing=_closing(invoice, seller),
        title=_("Invoice"),
        issued=format_date(invoice.issued_on),
        terms=_(str(seller.get("payment_terms") or "")) if seller.get("payment_terms") else "",
    )


def credit_note_document(note: CreditNote, lines=None) -> InvoiceDocument:
    """The credit note's content, laid out like an invoice: the invoice it corrects, the reason,
    the lines it takes back, its tax at the invoice's rate and VAT treatment."""
    seller = invoice_seller()
    currency, invoice = note.currency, note.invoice
    facts = [
        (_("Credit note number"), note.number),
        (_("Issued"), format_date(note.issued_on)),
        (
            _("Credits invoice"),
            _("%(number)s of %(day)s")
            % {"number": invoice.number, "day": format_date(invoice.issued_on)},
        ),
        (_("Reason"), note.reason),
        (_("Currency"), currency),
    ]
    if note.billing_details and note.billing_details.purchase_order:
        facts.append((_("Purchase order"), note.billing_details.purchase_order))
    return InvoiceDocument(
        number=note.number,
        badge="",
        seller=seller,
        bill_to=_bill_to(note),
        facts=facts,
        lines=_rows(note.lines.all() if lines is None else lines, currency),
        subtotal=format_money(note.subtotal, currency),
        tax_label=_tax_label(seller, note.tax_rate),
        tax=format_money(note.tax, currency),
        vat_note=vat_note_text(note.billing_details.vat_note if note.billing_details else ""),
        total_label=_("Total credited (%(currency)s)") % {"currency": currency},
        total=format_money(note.total, currency),
        payments=[],
        closing=_("This credit note reduces invoice %(number)s: %(amount)s is left to pay on it.")
        % {"number": invoice.number, "amount": format_money(invoice_amount_due(invoice), currency)},
        title=_("Credit note"),
        issued=format_date(note.issued_on),
    )
