"""Production: base, plus what a deployment behind a TLS-terminating proxy must enforce.

    DJANGO_SETTINGS_MODULE=telecom.settings.production

`manage.py check --deploy --fail-level WARNING` passes with these settings (a test holds it).
They refuse to load without a `SECRET_KEY` of the deployment's own.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import _env_bool

if not os.environ.get("SECRET_KEY"):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: production settings need a secret key of their own "
        '(e.g. python -c "import secrets; print(secrets.token_urlsafe(50))").'
    )
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False

# HTTPS only. The proxy in front terminates TLS and says so in a header, named here as
# `Header-Name` or `Header-Name=value` (value `https` by default), e.g. `X-Forwarded-Proto`.
# Unset, no header is trusted (the proxy must then pass the request as HTTPS some other way).
_proxy_ssl_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
if _proxy_ssl_header:
    _header, _, _value = _proxy_ssl_header.partition("=")
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _header.strip().upper().replace("-", "_"),
        _value.strip() or "https",
    )
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", True)
# The load balancer's health check may probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 60 * 60)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
