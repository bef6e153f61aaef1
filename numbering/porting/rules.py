"""Porting's pure rules (rule 20): how far ahead a porting date may be (working days), which
proofs a country and type need, which documents are accepted, which status may follow which."""

import datetime as dt
from dataclasses import dataclass
from datetime import date
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File

from numbering.models import (
    NumberType,
    PortingStatus,
)
from telecom import errors

# Settings (with these defaults): how far ahead a porting date must be, and the document cap.
DEFAULT_MIN_WORKING_DAYS = 3
DEFAULT_DOCUMENT_MAX_BYTES = 5 * 1024 * 1024

# What a losing operator accepts as proof, by content (magic bytes), never by file name.
_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
]

_NEXT = {
    PortingStatus.SUBMITTED: {
        PortingStatus.ACCEPTED,
        PortingStatus.REJECTED,
        PortingStatus.CANCELLED,
    },
    PortingStatus.ACCEPTED: {
        PortingStatus.COMPLETED,
        PortingStatus.REJECTED,
        PortingStatus.CANCELLED,
    },
}


class PortingStatusConflict(errors.DomainError):
    code = "porting_status_conflict"
    default_detail = "This porting request is not in a state that allows this."


def min_working_days() -> int:
    return getattr(settings, "PORTING_MIN_WORKING_DAYS", DEFAULT_MIN_WORKING_DAYS)


def document_max_bytes() -> int:
    return getattr(settings, "PORTING_DOCUMENT_MAX_BYTES", DEFAULT_DOCUMENT_MAX_BYTES)


# --- pure rules -----------------------------------------------------------------------------


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days (Monday to Friday) after `start`."""
    current = start
    while days > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def earliest_porting_date(today: date, *, working_days: int | None = None) -> date:
    return add_working_days(today, min_working_days() if working_days is None else working_days)


def porting_proofs(country: str, number_type: str) -> frozenset[str]:
    """The proofs a number needs: a RIO for a French mobile; a signed document (an operator's
    bill or a mandate, PDF or image) for every other number, landlines first of all."""
    if country == "FR" and number_type == NumberType.MOBILE:
        return frozenset({"rio"})
    return frozenset({"document"})


def detect_document_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from a file's first bytes, or None when it is no PDF or image."""
    for magic, content_type, extension in _SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


# --- checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Document:
    file: File
    name: str
    content_type: str
    extension: str
    size: int


def _check_document(document: File | IO[bytes] | bytes) -> _Document:
    """The size cap first (from the upload's size, without reading it), then the content."""
    limit = document_max_bytes()
    if isinstance(document, bytes | bytearray):
        document = ContentFile(bytes(document), name="document")
    elif not isinstance(document, File):
        document = File(document, name=getattr(document, "name", "document"))
    size = document.size
    if size is not None and size > limit:
        raise ValidationError(
            {
                "document": ValidationError(
                    f"The document is {size / 1024 / 1024:.1f} MB; the limit is "
                    f"{limit / 1024 / 1024:.0f} MB.",
                    code="document_too_large",
                )
            }
        )
    if not size:
        raise ValidationError(
            {"document": ValidationError("The document is empty.", code="invalid_document")}
        )
    document.seek(0)
    head = document.read(16)
    document.seek(0)
    kind = detect_document_type(head)
    if kind is None:
        raise ValidationError(
            {
                "document": ValidationError(
                    "The document must be a PDF or an image (PNG, JPEG or WebP).",
                    code="invalid_document",
                )
            }
        )
    name = (getattr(document, "name", "") or "document").rsplit("/", 1)[-1][:200]
    return _Document(file=document, name=name, content_type=kind[0], extension=kind[1], size=size)
