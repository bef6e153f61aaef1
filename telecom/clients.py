"""The client's address: one rule for the API throttles, the sign-in limit and the audit trail.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only as far as the
reverse proxies this site is configured to trust (docs/security.md, "Client addresses"):

- `TRUSTED_PROXIES` (networks, e.g. `10.0.0.0/8,127.0.0.1`): when the connecting address is one
  of them, the header is read from the right, skipping trusted addresses; the first address that
  is not trusted is the client. Anything to its left was written by the client and is ignored.
- `NUM_PROXIES` (a count): exactly that many proxies stand in front of the site, each appending
  the address it saw; the client is the one the outermost proxy saw, `NUM_PROXIES` from the right.
- Neither (the default): the header is ignored; the client is the connecting address
  (`REMOTE_ADDR`).

A value that is not an IP address where the client's should be counts as the connecting address,
so garbage in the header never makes a new client.
"""

import ipaddress
from contextvars import ContextVar
from functools import cache

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle

_current: ContextVar[str | None] = ContextVar("client_address", default=None)


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


@cache
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def _trusted(address: str, networks) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)


def client_address(request) -> str:
    """The client's IP address for this request (see the module's docstring)."""
    meta = getattr(request, "META", None) or {}
    remote = _ip(meta.get("REMOTE_ADDR", "")) or ""
    forwarded = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [hop for hop in forwarded if hop]
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))
    if networks:
        if not remote or not _trusted(remote, networks):
            return remote
        for hop in reversed(forwarded):
            address = _ip(hop)
            if address is None:
                return remote
            if not _trusted(address, networks):
                return address
        return remote
    count = int(getattr(settings, "NUM_PROXIES", 0) or 0)
    if count > 0 and forwarded:
        return _ip(forwarded[-min(count, len(forwarded))]) or remote
    return remote


class ClientAddressMiddleware:
    """Sets `request.client_address` and makes it the address of the audit rows this request
    writes (`current_client_address`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.client_address = client_address(request)
        token = _current.set(request.client_address or None)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


def current_client_address() -> str | None:
    """The address of the request being served, or None outside a request (jobs, commands)."""
    return _current.get()


class ClientRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, counted per client address by `client_address` (DRF's own
    `get_ident` believes any `X-Forwarded-For` unless its `NUM_PROXIES` is set)."""

    def get_ident(self, request):
        return client_address(request)
