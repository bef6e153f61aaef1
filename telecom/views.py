from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request):
    """Liveness and database reachability, for load balancers and the smoke test."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# Error pages (issue 13, "No dead ends"): the console and the webapp answer a missing page, a
# refusal, a failed CSRF check or a crash with a branded page, a sentence and a way back; the API
# keeps its JSON errors (docs/api.md). Wired in telecom/urls.py (handler403/404/500) and
# settings.CSRF_FAILURE_VIEW.

ERRORS = {
    400: (
        "Bad request",
        "The page could not understand this request.",
        "Go back and try again.",
    ),
    403: (
        "No access",
        "You do not have access to this page.",
        "If you need it, ask an owner or an administrator of your organisation.",
    ),
    404: (
        "Page not found",
        "This page does not exist.",
        "It may have been removed, or the address may be mistyped.",
    ),
    500: (
        "Something went wrong",
        "Something went wrong on our side.",
        "The error has been recorded. Please try again in a few minutes.",
    ),
}
CSRF_FAILED = (
    "Session expired",
    "This form could not be sent: your session expired or the page was open for too long.",
    "Go back, reload the page and send the form again.",
)


def is_api_request(request) -> bool:
    return request.path.startswith("/api/")


def _is_console(request) -> bool:
    return request.path.startswith("/admin/")


def _error_page(request, status: int, texts: tuple[str, str, str], *, with_request: bool = True):
    """The page for `status`. `with_request=False` (the 500 page) renders without the request:
    no session, no user and so no database query, which may be what failed."""
    title, sentence, advice = texts
    console = _is_console(request)
    context = {
        "title": title,
        "sentence": sentence,
        "advice": advice,
        "status": status,
        "console": console,
    }
    if console:
        from django.contrib import admin

        context.update(site_header=admin.site.site_header, site_title=admin.site.site_title)
        if with_request:
            context.update(admin.site.each_context(request))
        template = "errors/console.html"
    else:
        template = "errors/webapp.html"
    body = render_to_string(template, context, request=request if with_request else None)
    return HttpResponse(body, status=status)


def _api_error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def bad_request(request, exception=None):
    if is_api_request(request):
        return _api_error(400, "bad_request", "Bad request.")
    return _error_page(request, 400, ERRORS[400], with_request=False)


def permission_denied(request, exception=None):
    if is_api_request(request):
        detail = str(exception) if exception and str(exception) else None
        return _api_error(
            403, "permission_denied", detail or "You do not have permission to do this."
        )
    return _error_page(request, 403, ERRORS[403])


def page_not_found(request, exception=None):
    if is_api_request(request):
        return _api_error(404, "not_found", "Not found.")
    return _error_page(request, 404, ERRORS[404])


def server_error(request):
    if is_api_request(request):
        return _api_error(500, "server_error", "A server error occurred.")
    return _error_page(request, 500, ERRORS[500], with_request=False)


def request_too_large(request, detail: str):
    """413: an upload over the size limit, refused before it was read (telecom.middleware)."""
    texts = ("File too large", detail, "Go back and choose a smaller file.")
    return _error_page(request, 413, texts, with_request=False)


def csrf_failure(request, reason=""):
    if is_api_request(request):
        return _api_error(403, "csrf_failed", "CSRF check failed; reload and try again.")
    return _error_page(request, 403, CSRF_FAILED)
