"""CSV export of invoice lines for accounting (API.md "Billing", issue 4 "Finance exports").

One row per invoice line, invoices chosen by their local issue date, inclusive at both ends.
The rows are produced from one server-side cursor and written out as they come, so a year of
invoices is never held in memory and the number of queries does not grow with the rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from accounts.models import Organisation
from billing.models import InvoiceLine

EXPORT_COLUMNS = (
    "invoice_number",
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


def export_row(line: InvoiceLine) -> list[str]:
    invoice = line.invoice
    return [
        neutralise(invoice.number),
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


class _Echo:
    """A file-like object whose `write` hands the formatted line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(lines: Iterable[InvoiceLine], *, bom: bool = True) -> Iterator[str]:
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
    """The export as a stream of text chunks: one query, read through a server-side cursor."""
    lines = export_lines(organisation=organisation, issued_from=issued_from, issued_to=issued_to)
    return csv_chunks(lines.iterator(chunk_size=2000))


def export_filename(*, issued_from: date, issued_to: date) -> str:
    return f"invoice-lines_{issued_from.isoformat()}_{issued_to.isoformat()}.csv"
