"""Reading a mass-configuration file (rule 23): the sample, the size cap, CSV rows, numbers.

Pure functions, no ORM.
"""

import codecs
import csv
import functools
import io
import re
from dataclasses import dataclass
from typing import IO

import phonenumbers
from django.conf import settings

from numbering.phone import SUPPORTED_COUNTRIES

EXT, NUMBER, USER = "Ext Key", "Number", "User"
ADDON_COLUMN = "Addon license {}"
PHONE_SYSTEM = "phone_system"
# Rule 23's add-on codes (the catalogue's add-on types; the catalogue decides which exist).
ADDON_CODES = (
    "call_recording",
    "device_desktop_app",
    "license_dnc_checking_enabled",
    "device_ip_phone",
    "device_mobile_app",
    "device_web_rtc",
    "license_number",
    "team_chat",
    "license_call_recording_unlimited_enabled",
)
# The requirement's sample (requirements/003): extension, number, user, add-ons.
SAMPLE_ROWS = [
    (
        "101",
        "6567891230",
        "John",
        ("device_ip_phone", "device_mobile_app", "license_dnc_checking_enabled", "call_recording"),
    ),
    (
        "102",
        "6567891231",
        "Alice",
        ("device_ip_phone", "device_mobile_app", "license_dnc_checking_enabled", "call_recording"),
    ),
    ("104", "6567891232", "Lucie", ("device_ip_phone", "device_desktop_app", "call_recording")),
    ("109", "6567891233", "Hallie", ("device_ip_phone", "device_desktop_app", "call_recording")),
]
SAMPLE_ADDON_COLUMNS = 4
DEFAULT_MAX_BYTES = 5 * 1024 * 1024

_HEADER_NAMES = {"ext key": EXT, "extension": EXT, "number": NUMBER, "did": NUMBER, "user": USER}
_ADDON_HEADER = re.compile(r"^add-?on licen[cs]e ?(\d+)$")
_NUMBER_NOISE = str.maketrans("", "", " \u00a0-.()/'")


DEFAULT_MAX_ROWS = 20_000


def max_rows_allowed() -> int:
    """Rows one file may hold (settings.MASS_CONFIG_MAX_ROWS): a bigger file is refused before
    any row is checked, so one upload cannot hold a worker for long."""
    return int(getattr(settings, "MASS_CONFIG_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_bytes() -> int:
    return getattr(settings, "MASS_CONFIG_MAX_BYTES", DEFAULT_MAX_BYTES)


# --- errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: the whole file
    column: str | None
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


# --- the sample -----------------------------------------------------------------------------


def sample_csv() -> str:
    """The downloadable sample: the requirement's header and its four rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [EXT, NUMBER, USER, *(ADDON_COLUMN.format(i) for i in range(1, SAMPLE_ADDON_COLUMNS + 1))]
    )
    for extension, number, user, addons in SAMPLE_ROWS:
        padding = [""] * (SAMPLE_ADDON_COLUMNS - len(addons))
        writer.writerow([extension, number, user, *addons, *padding])
    return out.getvalue()


# --- reading the file (pure) ----------------------------------------------------------------


@dataclass(frozen=True)
class InputRow:
    row: int
    extension: str
    number: str
    user: str
    addons: tuple[tuple[str, str], ...]  # (column, code)


def _file_error(
    code: str, message: str, row: int | None = None, column: str | None = None
) -> list[RowError]:
    return [RowError(row=row, column=column, code=code, message=message)]


def read_upload(upload: bytes | IO[bytes]) -> tuple[bytes, list[RowError]]:
    """The upload's bytes, refusing one over the size limit from its size, before reading it."""
    limit = max_bytes()
    refusal = _file_error(
        "file_too_large",
        f"The file is larger than {limit / 1024 / 1024:.0f} MB; split it into several files.",
    )
    if isinstance(upload, bytes | bytearray):
        return (b"", refusal) if len(upload) > limit else (bytes(upload), [])
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        return b"", refusal
    data = upload.read(limit + 1)
    return (b"", refusal) if len(data) > limit else (data, [])


def _header_key(cell: str) -> str:
    return " ".join(cell.replace("\ufeff", "").split()).lower()


def _column_name(cell: str) -> str | None:
    key = _header_key(cell)
    if key in _HEADER_NAMES:
        return _HEADER_NAMES[key]
    match = _ADDON_HEADER.match(key)
    return ADDON_COLUMN.format(int(match.group(1))) if match else None


def _read_header(header: list[str]) -> tuple[list[str | None], list[RowError]]:
    columns: list[str | None] = []
    found: list[RowError] = []
    for cell in header:
        if not cell.strip():
            columns.append(None)
            continue
        name = _column_name(cell)
        if name is None:
            found.append(
                RowError(
                    1,
                    cell.strip(),
                    "unknown_column",
                    f"“{cell.strip()}” is not a column of this file: use Ext Key, "
                    "Number, User and Addon license 1, 2, …",
                )
            )
        elif name in columns:
            found.append(
                RowError(1, cell.strip(), "duplicate_column", f"The column {name} appears twice.")
            )
        columns.append(name)
    missing = [name for name in (EXT, NUMBER, USER) if name not in columns]
    if len(missing) == 3:
        found = _file_error(
            "missing_header",
            "The first row must be the header: Ext Key, "
            "Number, User, Addon license 1, Addon license 2, …",
            row=1,
        )
    else:
        found += [
            RowError(1, name, "missing_header", f"The header has no {name} column.")
            for name in missing
        ]
    return columns, found


def parse_csv(data: bytes) -> tuple[list[InputRow], list[RowError]]:
    """Rows of the file, or the errors that stop it being read (encoding, header, shape)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not data.strip():
        return [], _file_error("empty_file", "The file is empty.")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return [], _file_error(
            "not_csv",
            "This is a spreadsheet workbook, not a CSV file: "
            "save it as “CSV UTF-8 (comma delimited)” and upload that.",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        return [], _file_error(
            "invalid_encoding",
            f"The file is not UTF-8 text (byte 0x{data[exc.start]:02X} in row {row}): save it "
            "as “CSV UTF-8” and upload it again.",
            row=row,
        )
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[InputRow] = []
    found: list[RowError] = []
    number = 1
    try:
        columns, found = _read_header(next(reader, []))
        if found:
            return [], found
        max_rows = max_rows_allowed()
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= max_rows:
                return [], _file_error(
                    "too_many_rows",
                    f"The file has more than {max_rows:,} extension rows; split it into "
                    "several files.",
                )
            values: dict[str, str] = {}
            addons: list[tuple[str, str]] = []
            for index, raw in enumerate(record):
                cell = raw.strip()
                name = columns[index] if index < len(columns) else None
                if name is None:
                    if cell:
                        found.append(
                            RowError(
                                number,
                                f"column {index + 1}",
                                "unexpected_value",
                                f"“{cell[:40]}” is in a column without a header.",
                            )
                        )
                elif name.startswith("Addon"):
                    if cell:
                        addons.append((name, cell.lower()))
                else:
                    values[name] = cell
            rows.append(
                InputRow(
                    row=number,
                    extension=values.get(EXT, ""),
                    number=values.get(NUMBER, ""),
                    user=values.get(USER, ""),
                    addons=tuple(addons),
                )
            )
    except csv.Error as exc:
        return [], _file_error(
            "invalid_file", f"The file cannot be read as CSV: {exc}.", row=number + 1
        )
    if not rows and not found:
        found = _file_error("empty_file", "The file has a header but no extension rows.")
    return rows, found


def _clean_did(raw: str) -> tuple[str, str]:
    """(the cell as typed, its digits with a leading + if international), or ValueError."""
    text = raw.strip()
    cleaned = text.translate(_NUMBER_NOISE)
    if "e+" in cleaned.lower():
        raise ValueError(
            f"“{text}” was turned into a spreadsheet number; format the Number "
            "column as text and type the number again."
        )
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    digits = cleaned.removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"“{text}” is not a phone number.")
    return text, cleaned


@functools.cache
def _dialling(country: str) -> tuple[int, str]:
    """(calling code, national prefix) of a region: (1, "1") for US, (33, "0") for FR."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(country)
    prefix = (metadata.national_prefix or "") if metadata else ""
    return phonenumbers.country_code_for_region(country), prefix


def did_candidates(raw: str, *, country: str) -> list[str]:
    """The E.164 forms a Number cell may stand for, most likely first, without validating them
    (cheap: a known number is looked up by them; `parse_did` decides about the others). Pure."""
    try:
        _text, cleaned = _clean_did(raw)
    except ValueError:
        return []
    if cleaned.startswith("+"):
        return [cleaned]
    code, prefix = _dialling(country)
    national = cleaned[len(prefix) :] if prefix and cleaned.startswith(prefix) else cleaned
    candidates = [f"+{code}{national}"] if code else []
    if len(cleaned) >= 11:
        candidates.append("+" + cleaned)
    return candidates


def parse_did(raw: str, *, country: str) -> str:
    """A Number cell as E.164, or ValueError with a sentence for people. Pure.

    National digits are read in `country`; digits that are no valid national number but a valid
    international one once a `+` is put back (a spreadsheet dropped it) are read that way.
    """
    text, cleaned = _clean_did(raw)
    digits = cleaned.removeprefix("+")
    candidates = [(cleaned, None)] if cleaned.startswith("+") else [(digits, country)]
    if not cleaned.startswith("+") and len(digits) >= 11:
        candidates.append(("+" + digits, None))
    for candidate, region in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region or country)
        except phonenumbers.NumberParseException:
            continue
        # The organisation's country first: one region's patterns, where `is_valid_number`
        # tries every region sharing the calling code (two dozen for +1).
        if (
            country in SUPPORTED_COUNTRIES
            and phonenumbers.is_valid_number_for_region(parsed, country)
        ) or (
            phonenumbers.is_valid_number(parsed)
            and phonenumbers.region_code_for_number(parsed) in SUPPORTED_COUNTRIES
        ):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise ValueError(
        f"“{text}” is not a valid phone number: write it as +<country code> "
        f"<number>, or as a national number of {country}."
    )
