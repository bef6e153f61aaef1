"""Refuse request parameters PostgreSQL cannot hold, before any view reads them."""

from django.http import HttpResponseBadRequest, JsonResponse

from telecom.views import is_api_request, request_too_large

NUL = "\x00"


def _nul_in(params) -> str | None:
    """The first parameter whose name or a value holds a NUL byte, or None."""
    for name, values in params.lists():
        if NUL in name or any(isinstance(v, str) and NUL in v for v in values):
            return name.replace(NUL, "\\x00")
    return None


class RejectNulMiddleware:
    """A NUL byte in a query-string or form parameter is a 400 on every route.

    PostgreSQL text cannot hold NUL, so a filter, search or lookup carrying one failed in the
    database with a 500. The API answers in its error format (code `invalid`, the field named),
    the console and webapp with a plain 400 page. A NUL in the path (a code or id looked up) is
    refused the same way. Other control
    characters are left to the forms: the database takes them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = "path" if NUL in request.path_info else _nul_in(request.GET)
        if field is None and request.method == "POST" and _is_form(request):
            field = _nul_in(request.POST)
        if field is None:
            return self.get_response(request)
        message = "A NUL character is not allowed here."
        if is_api_request(request):
            return JsonResponse(
                {
                    "code": "invalid",
                    "detail": message,
                    "fields": {
                        field: [{"code": "null_characters_not_allowed", "message": message}]
                    },
                },
                status=400,
            )
        return HttpResponseBadRequest(f"{message} ({field})", content_type="text/plain")


def _is_form(request) -> bool:
    content_type = request.content_type or ""
    return content_type in ("application/x-www-form-urlencoded", "multipart/form-data")


class RequestSizeLimitMiddleware:
    """A request body larger than MAX_REQUEST_BYTES is refused from its Content-Length, before
    a byte of it is read (docs/security.md, "Uploads"): Django's multipart parser would
    otherwise stream a 200 MB upload to disk before any view could check its size. The limit
    sits a little above the largest file accepted (mass configuration, porting documents), so
    files near the limit still get the form's own error; beyond it the API answers 413 in its
    error format and the console and webapp a page saying how large a file may be.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_REQUEST_BYTES
        if length <= limit:
            return self.get_response(request)
        largest = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
        detail = (
            f"This upload is larger than {largest} MB, more than any file accepted here; "
            "split it into several files."
        )
        if is_api_request(request):
            response = JsonResponse(
                {
                    "code": "file_too_large",
                    "detail": detail,
                    "fields": {"file": [{"code": "file_too_large", "message": detail}]},
                },
                status=413,
            )
        else:
            response = request_too_large(request, detail)
        # The body was not read: the connection cannot be reused for another request.
        response["Connection"] = "close"
        return response
