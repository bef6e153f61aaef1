"""CSV export of invoice lines for accounting (API.md "Billing", issue 4 "Finance exports").

One row per invoice line, invoices chosen by their local issue date, inclusive at both ends,
then, in the same date order, one row per credit-note line (`document_kind` "credit_note") with
negative amounts, so that a column sums to what was billed less what was credited
(docs/rules.md, "Credit notes"). The rows come from two server-side cursors merged by date and
are written out as they come, so a year of invoices is never held in memory and the number of
queries does not grow with the rows.
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from accounts.models import Organisation
from billing.models import CreditNoteLine, InvoiceLine

EXPORT_COLUMNS = (
    "document_kind",
    "invoice_number",
    "credit_note_number",
    "issued_on",
    "due_on",
    "status",
    "organisation",
    "currency",
    "line_position",
    "description",
    "kind",
    "licence_type",
    "quantity",
    "unit_price",
    "amount",
    "invoice_subtotal",
    "invoice_tax",
    "invoice_total",
)

# Excel opens a UTF-8 file without a byte-order mark as the machine's ANSI code page, turning
# "Société" and "×" into mojibake; with it, Excel, LibreOffice and `utf-8-sig` readers agree.
BOM = "\ufeff"

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google
# Sheets (tab and CR because some of them strip those first); OWASP "CSV Injection".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

CHUNK_ROWS = 500


def neutralise(text: str) -> str:
    """A text cell made safe to open in a spreadsheet: a leading formula trigger gets a `'`.

    Every text cell goes through this, with no exception by content. In particular an E.164
    number such as `+33612345678` is written `'+33612345678`: unprefixed, a spreadsheet would
    evaluate it as the formula `=33612345678`, dropping the plus sign (and a value like
    `+1+cmd|...` shows why no "looks like a phone number" exception is safe). The apostrophe
    makes spreadsheets keep the number as text, with its plus; a program reading the file
    strips one leading `'` when the next character is a trigger.

    Numbers are not text and never pass through here: see `_amount`.
    """
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


def _amount(value: Decimal) -> str:
    """Money as a plain number with two decimals and a dot: `-12.00` stays `-12.00`.

    Amounts are numbers for the accounting software (a credit line must sum as negative), and
    they are formatted here from a `Decimal`, never taken from user input, so they cannot
    carry a formula: they are never neutralised.
    """
    return f"{value:.2f}"


def export_lines(*, organisation: Organisation | None, issued_from: date, issued_to: date):
    """Invoice lines of invoices issued from `issued_from` to `issued_to` (inclusive), in order.

    `organisation=None` is platform staff: every organisation.
    """
    lines = (
        InvoiceLine.objects.filter(
            invoice__issued_on__gte=issued_from, invoice__issued_on__lte=issued_to
        )
        .select_related("invoice__organisation", "licence_type")
        .order_by(
            "invoice__issued_on",
            "invoice__organisation__name",
            "invoice__organisation_id",
            "invoice__sequence",
            "position",
        )
    )
    if organisation is not None:
        lines = lines.filter(invoice__organisation=organisation)
    return lines


def credit_note_export_lines(
    *, organisation: Organisation | None, issued_from: date | None = None, issued_to=None
):
    """Credit-note lines of credit notes issued in the range (inclusive), in order."""
    lines = CreditNoteLine.objects.select_related(
        "credit_note__invoice", "credit_note__organisation", "invoice_line__licence_type"
    ).order_by(
        "credit_note__issued_on",
        "credit_note__organisation__name",
        "credit_note__organisation_id",
        "credit_note__sequence",
        "position",
    )
    if issued_from is not None:
        lines = lines.filter(credit_note__issued_on__gte=issued_from)
    if issued_to is not None:
        lines = lines.filter(credit_note__issued_on__lte=issued_to)
    if organisation is not None:
        lines = lines.filter(credit_note__organisation=organisation)
    return lines


def export_row(line: InvoiceLine | CreditNoteLine) -> list[str]:
    if isinstance(line, CreditNoteLine):
        return _credit_row(line)
    invoice = line.invoice
    return [
        "invoice",
        neutralise(invoice.number),
        "",
        invoice.issued_on.isoformat(),
        invoice.due_on.isoformat(),
        invoice.status,
        neutralise(invoice.organisation.name),
        invoice.currency,
        str(line.position),
        neutralise(line.description),
        line.kind,
        neutralise(line.licence_type.code) if line.licence_type_id else "",
        str(line.quantity),
        _amount(line.unit_price),
        _amount(line.amount),
        _amount(invoice.subtotal),
        _amount(invoice.tax),
        _amount(invoice.total),
    ]


def _credit_row(line: CreditNoteLine) -> list[str]:
    """A credit-note line: what it takes back, negative, at the credit note's own totals."""
    note = line.credit_note
    licence_type = line.invoice_line.licence_type if line.invoice_line_id else None
    return [
        "credit_note",
        neutralise(note.invoice.number),
        neutralise(note.number),
        note.issued_on.isoformat(),
        "",
        "issued",
        neutralise(note.organisation.name),
        note.currency,
        str(line.position),
        neutralise(line.description),
        line.kind,
        neutralise(licence_type.code) if licence_type else "",
        str(line.quantity),
        _amount(-line.unit_price),
        _amount(-line.amount),
        _amount(-note.subtotal),
        _amount(-note.tax),
        _amount(-note.total),
    ]


class _Echo:
    """A file-like object whose `write` hands the formatted line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(lines: Iterable[InvoiceLine | CreditNoteLine], *, bom: bool = True) -> Iterator[str]:
    """The CSV document in chunks: the BOM and header, then up to `CHUNK_ROWS` rows each.

    RFC 4180: comma separated, CRLF line ends, a field quoted when it holds a comma, a quote,
    CR or LF, and quotes doubled inside it.
    """
    writer = csv.writer(_Echo(), lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    yield (BOM if bom else "") + writer.writerow(EXPORT_COLUMNS)
    chunk: list[str] = []
    for line in lines:
        chunk.append(writer.writerow(export_row(line)))
        if len(chunk) >= CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def invoice_lines_csv(
    *, organisation: Organisation | None, issued_from: date, issued_to: date
) -> Iterator[str]:
    """The export as a stream of text chunks: invoice lines and credit-note lines, each one
    query read through a server-side cursor, merged by issue date (invoices first on a day)."""
    invoices = export_lines(organisation=organisation, issued_from=issued_from, issued_to=issued_to)
    credits = credit_note_export_lines(
        organisation=organisation, issued_from=issued_from, issued_to=issued_to
    )
    return csv_chunks(
        heapq.merge(
            invoices.iterator(chunk_size=2000),
            credits.iterator(chunk_size=2000),
            key=_issued_on,
        )
    )


def _issued_on(line: InvoiceLine | CreditNoteLine) -> date:
    return (
        line.credit_note.issued_on if isinstance(line, CreditNoteLine) else line.invoice.issued_on
    )


def export_filename(*, issued_from: date, issued_to: date) -> str:
    return f"invoice-lines_{issued_from.isoformat()}_{issued_to.isoformat()}.csv"
