"""Headers every response carries: the Content-Security-Policy, and `Cache-Control: no-store` on
the API's JSON (it is an organisation's data: no browser or proxy keeps a copy)."""

from django.conf import settings

from telecom.views import is_api_request


def content_security_policy() -> str:
    """`settings.CONTENT_SECURITY_POLICY` (directive -> sources) as the header's value."""
    return "; ".join(
        " ".join([directive, *sources])
        for directive, sources in settings.CONTENT_SECURITY_POLICY.items()
    )


class ResponseHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        if is_api_request(request) and "json" in response.get("Content-Type", ""):
            response["Cache-Control"] = "no-store"
        return response
