"""Reading porting requests, their events and their documents, always given the organisation."""

from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.core.files.base import File

from accounts.models import Organisation
from numbering.models import (
    PortingEvent,
    PortingRequest,
)

# --- reads ----------------------------------------------------------------------------------


def porting_request_list(*, organisation: Organisation | None, member=None):
    """Porting requests of an organisation (all of them for platform staff with None)."""
    qs = PortingRequest.objects.select_related("member", "licence__licence_type", "number")
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    if member is not None:
        qs = qs.filter(member=member)
    return qs


def porting_events(*, porting_request: PortingRequest):
    return PortingEvent.objects.filter(porting_request=porting_request).select_related("actor")


@dataclass(frozen=True)
class PortingDocument:
    file: File  # opened for reading; the caller streams and closes it
    filename: str
    content_type: str
    size: int | None


def porting_document_open(
    *, organisation: Organisation | None, porting_request_id
) -> PortingDocument:
    """The request's document, only for its own organisation (None: platform staff).

    Another organisation's request, or one without a document, raises `DoesNotExist` (a 404
    that does not confirm the request exists).
    """
    request = porting_request_list(organisation=organisation).get(pk=porting_request_id)
    if not request.document:
        raise ObjectDoesNotExist("This porting request has no document.")
    extension = request.document.name.rsplit(".", 1)[-1]
    stem = request.document_name.rsplit(".", 1)[0] if request.document_name else "document"
    return PortingDocument(
        file=request.document.open("rb"),
        filename=f"{stem}.{extension}",
        content_type=request.document_content_type or "application/octet-stream",
        size=request.document_size,
    )
