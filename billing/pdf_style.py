"""The invoice PDF's look (billing/pdf.py): page geometry, colours, the embedded fonts, paragraph
styles, and what makes user text safe to draw. What is written (money, dates, rates) is
billing/documents.py's."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "InvoiceSans"
FONT_BOLD = "InvoiceSans-Bold"
FONT_ITALIC = "InvoiceSans-Italic"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 18 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 22 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
HEADER_FILL = colors.HexColor("#e4e7eb")
ZEBRA_FILL = colors.HexColor("#f5f7fa")
PAID_GREEN = colors.HexColor("#1b7f3b")
VOID_RED = colors.HexColor("#b42318")


@cache
def _register_fonts() -> frozenset[int]:
    """Register Vera (bundled with ReportLab) once; return the code points it can draw."""
    files = {FONT: "Vera.ttf", FONT_BOLD: "VeraBd.ttf", FONT_ITALIC: "VeraIt.ttf"}
    for name, filename in files.items():
        pdfmetrics.registerFont(TTFont(name, filename))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD
    )
    return frozenset(pdfmetrics.getFont(FONT).face.charToGlyph)


def printable(text: object) -> str:
    """`text` with every character the font cannot draw replaced by its closest drawable form.

    Accents the font lacks fall back to the bare letter (NFKD), anything else to "?": a
    customer name in another script must never print as blank boxes or be silently dropped.
    """
    glyphs = _register_fonts()
    out = []
    for char in str(text):
        if ord(char) in glyphs or char in "\n\t":
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base if base and all(ord(c) in glyphs for c in base) else "?")
    return "".join(out)


def _markup(text: object) -> str:
    """Safe Paragraph markup for user text (Paragraph parses a small XML dialect)."""
    return escape(printable(text)).replace("\n", "<br/>")


@dataclass(frozen=True)
class _Styles:
    body: ParagraphStyle
    muted: ParagraphStyle
    label: ParagraphStyle
    seller_name: ParagraphStyle
    title: ParagraphStyle
    right: ParagraphStyle
    right_bold: ParagraphStyle
    cell: ParagraphStyle
    cell_note: ParagraphStyle
    head: ParagraphStyle
    head_right: ParagraphStyle


@cache
def _styles() -> _Styles:
    _register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, textColor=INK)
    return _Styles(
        body=body,
        muted=ParagraphStyle("muted", parent=body, fontSize=8, leading=10, textColor=MUTED),
        label=ParagraphStyle(
            "label", parent=body, fontName=FONT_BOLD, fontSize=7.5, leading=10, textColor=MUTED
        ),
        seller_name=ParagraphStyle(
            "seller", parent=body, fontName=FONT_BOLD, fontSize=13, leading=16
        ),
        title=ParagraphStyle(
            "title", parent=body, fontName=FONT_BOLD, fontSize=22, leading=26, alignment=TA_RIGHT
        ),
        right=ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        right_bold=ParagraphStyle(
            "right_bold", parent=body, fontName=FONT_BOLD, alignment=TA_RIGHT
        ),
        cell=ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11),
        cell_note=ParagraphStyle(
            "cell_note", parent=body, fontSize=7.5, leading=9.5, textColor=MUTED
        ),
        head=ParagraphStyle("head", parent=body, fontName=FONT_BOLD, fontSize=8, leading=10),
        head_right=ParagraphStyle(
            "head_right",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=8,
            leading=10,
            alignment=TA_RIGHT,
        ),
    )
