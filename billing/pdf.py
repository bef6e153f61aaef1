"""Invoice PDF: one printable A4 document per invoice (API.md "Billing", issue 4 "Finance exports").

Rendered with ReportLab's Platypus: pure Python from PyPI, no system libraries or fonts. Its
tables break across pages and repeat their header row, and paragraphs wrap long descriptions.
The text font is Bitstream Vera, shipped inside ReportLab and embedded (subset) in each file, so
every viewer and printer shows the same glyphs and the text stays extractable.

The seller block comes from `DEFAULT_SELLER` below, overridden key by key by an optional
`settings.INVOICE_SELLER` dict (name, address lines, VAT number, e-mail, registration, tax label).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
)
from reportlab.platypus import TableStyle as Style

from billing.models import Invoice, InvoiceStatus
from billing.pdf_style import (
    CONTENT_WIDTH,
    CURRENCY_SYMBOLS,
    FONT,
    FONT_BOLD,
    HEADER_FILL,
    INK,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    MUTED,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    PAID_GREEN,
    RULE,
    VOID_RED,
    ZEBRA_FILL,
    _markup,
    _styles,
    country_name,
    format_date,
    format_money,
    format_period,
    format_rate,
    printable,
)
from billing.periods import local_date

DEFAULT_SELLER: dict[str, object] = {
    "name": "Telecom Cloud SAS",
    "address": ["12 rue de la République", "69002 Lyon", "France"],
    "vat_number": "FR12345678901",
    "registration": "RCS Lyon 123 456 789",
    "email": "billing@telecom.example",
    "tax_label": "VAT",
}


def invoice_seller() -> dict[str, object]:
    """The seller block: the defaults, overridden key by key by `settings.INVOICE_SELLER`."""
    seller = {**DEFAULT_SELLER, **(getattr(settings, "INVOICE_SELLER", None) or {})}
    address = seller.get("address") or []
    if isinstance(address, str):
        address = [part.strip() for part in address.splitlines() if part.strip()]
    seller["address"] = list(address)
    return seller


def invoice_pdf_filename(invoice: Invoice) -> str:
    return f"invoice-{invoice.number}.pdf"


class _NumberedCanvas(pdf_canvas.Canvas):
    """Defers each page until the end so the footer can say "page x of y"."""

    def __init__(self, *args, furniture, **kwargs):
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._pages: list[dict] = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        for page in self._pages:
            self.__dict__.update(page)
            self._furniture(self, len(self._pages))
            super().showPage()
        super().save()


def _watermark(canvas: pdf_canvas.Canvas, invoice: Invoice) -> None:
    """A void invoice says so across every page: on top of the content (table fills would hide
    it underneath), translucent so that the content stays legible."""
    if invoice.status != InvoiceStatus.VOID:
        return
    canvas.saveState()
    canvas.setFillColor(VOID_RED)
    canvas.setFillAlpha(0.14)
    canvas.setFont(FONT_BOLD, 130)
    canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
    canvas.rotate(35)
    canvas.drawCentredString(0, -45, "VOID")
    canvas.restoreState()


def _furniture(invoice: Invoice, seller: dict[str, object]):
    """Drawn once the page count is known: footer on every page, running header after the
    first, the void watermark."""
    legal = " · ".join(
        printable(part)
        for part in (
            seller.get("name"),
            ", ".join(seller["address"]),
            f"VAT {seller['vat_number']}" if seller.get("vat_number") else "",
            seller.get("registration"),
        )
        if part
    )
    while legal and pdfmetrics.stringWidth(legal, FONT, 7) > CONTENT_WIDTH:
        legal = legal[:-2].rstrip() + "…"

    def draw(canvas: pdf_canvas.Canvas, page_count: int) -> None:
        page = canvas.getPageNumber()
        _watermark(canvas, invoice)
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        rule_y = MARGIN_BOTTOM - 5 * mm
        canvas.line(MARGIN_X, rule_y, PAGE_WIDTH - MARGIN_X, rule_y)
        canvas.setFont(FONT, 7)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN_X, rule_y - 4 * mm, legal)
        canvas.drawString(MARGIN_X, rule_y - 8 * mm, f"Invoice {invoice.number}")
        canvas.drawRightString(
            PAGE_WIDTH - MARGIN_X, rule_y - 8 * mm, f"Page {page} of {page_count}"
        )
        if page > 1:
            top = PAGE_HEIGHT - 12 * mm
            canvas.setFont(FONT_BOLD, 8)
            canvas.setFillColor(INK)
            canvas.drawString(MARGIN_X, top, printable(seller.get("name", "")))
            canvas.setFont(FONT, 8)
            canvas.drawRightString(
                PAGE_WIDTH - MARGIN_X,
                top,
                f"Invoice {invoice.number} · {format_date(invoice.issued_on)} (continued)",
            )
            canvas.line(MARGIN_X, top - 2 * mm, PAGE_WIDTH - MARGIN_X, top - 2 * mm)
        canvas.restoreState()

    return draw


def _status_badge(invoice: Invoice) -> Table | None:
    labels = {InvoiceStatus.PAID: ("PAID", PAID_GREEN), InvoiceStatus.VOID: ("VOID", VOID_RED)}
    if invoice.status not in labels:
        return None
    text, colour = labels[invoice.status]
    style = ParagraphStyle(
        "badge", fontName=FONT_BOLD, fontSize=12, leading=14, textColor=colour, alignment=1
    )
    badge = Table([[Paragraph(text, style)]], colWidths=[28 * mm], hAlign="RIGHT")
    badge.setStyle(
        Style(
            [
                ("BOX", (0, 0), (-1, -1), 1.5, colour),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return badge


def _heading(invoice: Invoice, seller: dict[str, object]) -> Table:
    s = _styles()
    seller_lines = [Paragraph(_markup(seller.get("name", "")), s.seller_name)]
    seller_lines += [Paragraph(_markup(line), s.body) for line in seller["address"]]
    if seller.get("vat_number"):
        seller_lines.append(Paragraph(f"VAT number: {_markup(seller['vat_number'])}", s.body))
    if seller.get("registration"):
        seller_lines.append(Paragraph(_markup(seller["registration"]), s.muted))
    if seller.get("email"):
        seller_lines.append(Paragraph(_markup(seller["email"]), s.muted))

    right: list = [
        Paragraph("INVOICE", s.title),
        Paragraph(f"<b>{_markup(invoice.number)}</b>", s.right),
    ]
    badge = _status_badge(invoice)
    if badge is not None:
        right += [Spacer(1, 3 * mm), badge]
    table = Table([[seller_lines, right]], colWidths=[CONTENT_WIDTH * 0.6, CONTENT_WIDTH * 0.4])
    table.setStyle(
        Style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _status_text(invoice: Invoice) -> str:
    """With the day it happened, in the organisation's time zone like every invoice date."""
    zone = invoice.organisation.timezone
    if invoice.status == InvoiceStatus.PAID:
        paid = local_date(invoice.paid_at, zone) if invoice.paid_at else None
        return f"Paid {format_date(paid)}".strip()
    if invoice.status == InvoiceStatus.VOID:
        voided = local_date(invoice.voided_at, zone) if invoice.voided_at else None
        return f"Void {format_date(voided)}".strip()
    return "Issued, payment due"


def _parties(invoice: Invoice) -> Table:
    s = _styles()
    organisation = invoice.organisation
    bill_to = [
        Paragraph("BILL TO", s.label),
        Paragraph(f"<b>{_markup(organisation.name)}</b>", s.body),
        Paragraph(_markup(country_name(organisation.country)), s.body),
    ]
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
        ("Status", _status_text(invoice)),
    ]
    replaced_by = (
        getattr(invoice, "replaced_by", None) if invoice.status == InvoiceStatus.VOID else None
    )
    if replaced_by is not None:
        facts.append(("Replaced by", replaced_by.number))
    if invoice.replaces_id:
        facts.append(("Replaces", invoice.replaces.number))
    details = Table(
        [
            [Paragraph(label.upper(), s.label), Paragraph(_markup(value), s.body)]
            for label, value in facts
        ],
        colWidths=[30 * mm, CONTENT_WIDTH * 0.45 - 30 * mm],
    )
    details.setStyle(
        Style(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    table = Table([[bill_to, details]], colWidths=[CONTENT_WIDTH * 0.55, CONTENT_WIDTH * 0.45])
    table.setStyle(
        Style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("LINEABOVE", (0, 0), (-1, 0), 0.5, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4 * mm),
            ]
        )
    )
    return table


LINE_COLUMNS = (("Description", 0.56), ("Qty", 0.08), ("Unit price", 0.18), ("Amount", 0.18))


def _lines_table(invoice: Invoice, lines: Iterable) -> Table:
    s = _styles()
    currency = invoice.currency
    header = [
        Paragraph(title, s.head if i == 0 else s.head_right)
        for i, (title, _) in enumerate(LINE_COLUMNS)
    ]
    rows = [header]
    for line in lines:
        description = [Paragraph(_markup(line.description), s.cell)]
        period = format_period(line.period_start, line.period_end)
        if period and format_date(line.period_start) not in line.description:
            description.append(Paragraph(period, s.cell_note))
        rows.append(
            [
                description,
                Paragraph(str(line.quantity), s.right),
                Paragraph(format_money(line.unit_price, currency), s.right),
                Paragraph(format_money(line.amount, currency), s.right),
            ]
        )
    if len(rows) == 1:
        rows.append([Paragraph("No lines.", s.muted), "", "", ""])
    table = Table(
        rows, colWidths=[CONTENT_WIDTH * share for _, share in LINE_COLUMNS], repeatRows=1
    )
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.75, INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ]
    style += [("BACKGROUND", (0, row), (-1, row), ZEBRA_FILL) for row in range(2, len(rows), 2)]
    table.setStyle(Style(style))
    return table


def _totals(invoice: Invoice, seller: dict[str, object]) -> Table:
    s = _styles()
    currency = invoice.currency
    tax_label = f"{printable(seller.get('tax_label') or 'Tax')} ({format_rate(invoice.tax_rate)})"
    rows = [
        [
            Paragraph("Subtotal", s.right),
            Paragraph(format_money(invoice.subtotal, currency), s.right),
        ],
        [
            Paragraph(escape(tax_label), s.right),
            Paragraph(format_money(invoice.tax, currency), s.right),
        ],
        [
            Paragraph(f"<b>Total ({currency})</b>", s.right),
            Paragraph(format_money(invoice.total, currency), s.right_bold),
        ],
    ]
    table = Table(rows, colWidths=[CONTENT_WIDTH * 0.26, CONTENT_WIDTH * 0.18], hAlign="RIGHT")
    table.setStyle(
        Style(
            [
                ("LINEABOVE", (0, -1), (-1, -1), 0.75, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 5),
                ("RIGHTPADDING", (0, 0), (-1, -1), 5),
                ("TOPPADDING", (0, -1), (-1, -1), 5),
            ]
        )
    )
    return table


def _closing_note(invoice: Invoice, seller: dict[str, object]) -> Paragraph:
    s = _styles()
    if invoice.status == InvoiceStatus.VOID:
        text = "This invoice is void and is not payable."
        replaced_by = getattr(invoice, "replaced_by", None)
        if replaced_by is not None:
            text += f" It is replaced by invoice {escape(replaced_by.number)}."
    elif invoice.status == InvoiceStatus.PAID:
        text = "This invoice has been paid in full. Thank you."
    else:
        text = (
            f"Payment is due by {format_date(invoice.due_on)}. Please quote invoice "
            f"number {escape(invoice.number)} with your payment."
        )
        if seller.get("email"):
            text += f" Questions: {_markup(seller['email'])}."
    return Paragraph(text, s.muted)


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF document (A4): seller, customer, dates, lines, tax and total."""
    seller = invoice_seller()
    lines = list(invoice.lines.all())
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=f"Invoice {invoice.number}",
        author=printable(seller.get("name", "")),
        subject=f"Invoice {invoice.number} for {printable(invoice.organisation.name)}",
        creator="telecom",
    )
    # No frame padding: tables span exactly the margins, and text aligns with them.
    frame = Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        CONTENT_WIDTH,
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    document.addPageTemplates([PageTemplate(frames=[frame])])
    story = [
        _heading(invoice, seller),
        Spacer(1, 8 * mm),
        _parties(invoice),
        Spacer(1, 8 * mm),
        _lines_table(invoice, lines),
        Spacer(1, 3 * mm),
        KeepTogether([_totals(invoice, seller), Spacer(1, 6 * mm), _closing_note(invoice, seller)]),
    ]
    furniture = _furniture(invoice, seller)
    document.build(
        story,
        canvasmaker=lambda *args, **kwargs: _NumberedCanvas(*args, furniture=furniture, **kwargs),
    )
    return buffer.getvalue()
