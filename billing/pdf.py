"""Invoice and credit-note PDF: one printable A4 document each (API.md "Billing", issue 4 and 16).

Rendered with ReportLab's Platypus: pure Python from PyPI, no system libraries or fonts. Its
tables break across pages and repeat their header row, and paragraphs wrap long descriptions.
The text font is Bitstream Vera, shipped inside ReportLab and embedded (subset) in each file, so
every viewer and printer shows the same glyphs and the text stays extractable.

What the invoice says (seller, customer, facts, lines, totals, the closing sentence) is
`billing.documents.invoice_document`, shared with the console's invoice page; this module only
lays it out.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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

from billing.documents import InvoiceDocument, credit_note_document, invoice_document
from billing.facturx import credit_note_cii_xml, facturx_pdf, invoice_cii_xml
from billing.models import CreditNote, Invoice
from billing.pdf_style import (
    CONTENT_WIDTH,
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
    printable,
)


def invoice_pdf_filename(invoice: Invoice) -> str:
    return f"invoice-{invoice.number}.pdf"


def credit_note_pdf_filename(note: CreditNote) -> str:
    return f"credit-note-{note.number}.pdf"


# --- page furniture: running header, footer with "page x of y", status watermark ---------------


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


def _watermark(canvas: pdf_canvas.Canvas, doc: InvoiceDocument) -> None:
    """A credited invoice says so across every page: on top of the content (table fills would
    hide it underneath), translucent so that the content stays legible."""
    if doc.badge != "CREDITED":
        return
    canvas.saveState()
    canvas.setFillColor(VOID_RED)
    canvas.setFillAlpha(0.14)
    canvas.setFont(FONT_BOLD, 90)
    canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
    canvas.rotate(35)
    canvas.drawCentredString(0, -30, printable(_badge_text(doc.badge)))
    canvas.restoreState()


def _furniture(doc: InvoiceDocument, seller: dict[str, object]):
    """Drawn once the page count is known: footer on every page, running header after the
    first, the credited watermark."""
    legal = " · ".join(
        printable(part)
        for part in (
            seller.get("name"),
            ", ".join(seller["address"]),
            _("VAT %(number)s") % {"number": seller["vat_number"]}
            if seller.get("vat_number")
            else "",
            seller.get("registration"),
        )
        if part
    )
    while legal and pdfmetrics.stringWidth(legal, FONT, 7) > CONTENT_WIDTH:
        legal = legal[:-2].rstrip() + "…"
    # The canvas draws after `translation.override` ends: its words are translated now.
    texts = {"page": _("Page %d of %d"), "continued": _("(continued)")}

    def draw(canvas: pdf_canvas.Canvas, page_count: int) -> None:
        page = canvas.getPageNumber()
        _watermark(canvas, doc)
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        rule_y = MARGIN_BOTTOM - 5 * mm
        canvas.line(MARGIN_X, rule_y, PAGE_WIDTH - MARGIN_X, rule_y)
        canvas.setFont(FONT, 7)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN_X, rule_y - 4 * mm, legal)
        canvas.drawString(MARGIN_X, rule_y - 8 * mm, printable(f"{doc.title} {doc.number}"))
        canvas.drawRightString(
            PAGE_WIDTH - MARGIN_X, rule_y - 8 * mm, texts["page"] % (page, page_count)
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
                printable(f"{doc.title} {doc.number} · {doc.issued} {texts['continued']}"),
            )
            canvas.line(MARGIN_X, top - 2 * mm, PAGE_WIDTH - MARGIN_X, top - 2 * mm)
        canvas.restoreState()

    return draw


# --- the document -------------------------------------------------------------------------------


def _badge_text(badge: str) -> str:
    return {"PAID": _("PAID"), "CREDITED": _("CREDITED")}.get(badge, badge)


def _status_badge(doc: InvoiceDocument) -> Table | None:
    colours = {"PAID": PAID_GREEN, "CREDITED": VOID_RED}
    if not doc.badge:
        return None
    colour = colours[doc.badge]
    style = ParagraphStyle(
        "badge", fontName=FONT_BOLD, fontSize=12, leading=14, textColor=colour, alignment=1
    )
    text = _markup(_badge_text(doc.badge))
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


def _heading(doc: InvoiceDocument) -> Table:
    s = _styles()
    seller = doc.seller
    seller_lines = [Paragraph(_markup(seller.get("name", "")), s.seller_name)]
    seller_lines += [Paragraph(_markup(line), s.body) for line in seller["address"]]
    if seller.get("vat_number"):
        seller_lines.append(
            Paragraph(
                _markup(_("VAT number: %(number)s") % {"number": seller["vat_number"]}), s.body
            )
        )
    if seller.get("registration"):
        seller_lines.append(Paragraph(_markup(seller["registration"]), s.muted))
    if seller.get("email"):
        seller_lines.append(Paragraph(_markup(seller["email"]), s.muted))

    right: list = [
        Paragraph(_markup(doc.title.upper()), s.title),
        Paragraph(f"<b>{_markup(doc.number)}</b>", s.right),
    ]
    badge = _status_badge(doc)
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


def _parties(doc: InvoiceDocument) -> Table:
    s = _styles()
    name, *rest = doc.bill_to
    bill_to = [
        Paragraph(_markup(_("Bill to").upper()), s.label),
        Paragraph(f"<b>{_markup(name)}</b>", s.body),
        *(Paragraph(_markup(line), s.body) for line in rest),
    ]
    details = Table(
        [
            [Paragraph(_markup(label.upper()), s.label), Paragraph(_markup(value), s.body)]
            for label, value in doc.facts
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


LINE_COLUMNS = (
    (gettext_lazy("Description"), 0.56),
    (gettext_lazy("Qty"), 0.08),
    (gettext_lazy("Unit price"), 0.18),
    (gettext_lazy("Amount"), 0.18),
)


def _lines_table(doc: InvoiceDocument) -> Table:
    s = _styles()
    header = [
        Paragraph(_markup(str(title)), s.head if i == 0 else s.head_right)
        for i, (title, _) in enumerate(LINE_COLUMNS)
    ]
    rows = [header]
    for line in doc.lines:
        description = [Paragraph(_markup(line.description), s.cell)]
        if line.period:
            description.append(Paragraph(line.period, s.cell_note))
        rows.append(
            [
                description,
                Paragraph(str(line.quantity), s.right),
                Paragraph(_markup(line.unit_price), s.right),
                Paragraph(_markup(line.amount), s.right),
            ]
        )
    if len(rows) == 1:
        rows.append([Paragraph(_("No lines."), s.muted), "", "", ""])
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


def _totals(doc: InvoiceDocument) -> Table:
    s = _styles()
    rows = [
        [Paragraph(_markup(_("Subtotal")), s.right), Paragraph(_markup(doc.subtotal), s.right)],
        [
            Paragraph(escape(printable(doc.tax_label)), s.right),
            Paragraph(_markup(doc.tax), s.right),
        ],
        [
            Paragraph(f"<b>{_markup(doc.total_label)}</b>", s.right),
            Paragraph(_markup(doc.total), s.right_bold),
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


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF document (A4): seller, customer, dates, lines, tax and total; a
    Factur-X (PDF/A-3) with the invoice's CII XML attached (billing.facturx). Printed in the
    organisation's language (docs/rules.md, "Invoices")."""
    lines = list(invoice.lines.all())
    with translation.override(invoice.organisation.language):
        return _pdf(invoice_document(invoice, lines), invoice_cii_xml(invoice, lines), invoice)


def credit_note_pdf(note: CreditNote) -> bytes:
    """The credit note as a PDF laid out like an invoice, and a Factur-X (type 381) too."""
    lines = list(note.lines.all())
    with translation.override(note.organisation.language):
        return _pdf(credit_note_document(note, lines), credit_note_cii_xml(note, lines), note)


def _pdf(doc: InvoiceDocument, xml: bytes, source: Invoice | CreditNote) -> bytes:
    seller = doc.seller
    name = f"{doc.title} {doc.number}"
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=name,
        author=printable(seller.get("name", "")),
        subject=f"{name} · {printable(source.organisation.name)}",
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
        _heading(doc),
        Spacer(1, 8 * mm),
        _parties(doc),
        Spacer(1, 8 * mm),
        _lines_table(doc),
        Spacer(1, 3 * mm),
        KeepTogether(
            [
                _totals(doc),
                *(
                    [Spacer(1, 3 * mm), Paragraph(_markup(doc.vat_note), _styles().body)]
                    if doc.vat_note
                    else []
                ),
                Spacer(1, 6 * mm),
                *(Paragraph(_markup(payment), _styles().body) for payment in doc.payments),
                Paragraph(_markup(doc.closing), _styles().muted),
                *([Paragraph(_markup(doc.terms), _styles().muted)] if doc.terms else []),
            ]
        ),
    ]
    furniture = _furniture(doc, seller)
    document.build(
        story,
        canvasmaker=lambda *args, **kwargs: _NumberedCanvas(*args, furniture=furniture, **kwargs),
    )
    return facturx_pdf(buffer.getvalue(), xml, title=name, document=source)
