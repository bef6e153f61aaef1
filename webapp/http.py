"""Serving a voicemail's audio to its member, with byte ranges so that players can seek."""

import re

from django.http import FileResponse, HttpResponse
from django.utils.cache import patch_cache_control

from webapp.models import Voicemail

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def audio_response(request, voicemail: Voicemail) -> HttpResponse:
    """The audio file, whole (200) or one byte range of it (206); 416 for an unsatisfiable one."""
    size = voicemail.audio.size
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match[1] or match[2]):
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        else:  # a suffix: the last N bytes
            start, end = max(size - int(match[2]), 0), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return _private(response)
        with voicemail.audio.open("rb") as audio:
            audio.seek(start)
            data = audio.read(end - start + 1)
        response = HttpResponse(data, status=206, content_type=voicemail.content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        response = FileResponse(voicemail.audio.open("rb"), content_type=voicemail.content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'inline; filename="voicemail-{voicemail.pk}.' + (
        voicemail.audio.name.rsplit(".", 1)[-1] + '"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, no_store=True)
    return response
