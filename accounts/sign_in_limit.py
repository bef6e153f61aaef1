"""The limit on failed sign-ins (docs/security.md, "Sign-in limit").

Every password check goes through `accounts.backends.RoleBackend.authenticate` (webapp, console,
the API's token endpoint), which asks this module. The rule:

- Failures are counted per account **and** per client: a client is a *known device* when it
  shows the signed device cookie this account received at a successful sign-in on it, otherwise
  its address (`telecom.clients.client_address`, the trusted-proxy rule). After
  SIGN_IN_FAILURES_ALLOWED wrong passwords that pair is refused for SIGN_IN_LOCKOUT_SECONDS,
  even with the right password. Guesses from elsewhere (another address, another device) never
  lock the member out of a device they have signed in on, nor out of their own address.
- Unknown clients together may fail SIGN_IN_ACCOUNT_FAILURES_ALLOWED times per account in that
  time; then unknown clients are refused for that account (guessing spread over many addresses
  stops), while the member's known devices still sign in.
- A completed password reset or change lifts every lock on the account (`sign_in_limit_lift`).

Counts live in the cache (Redis in production: shared by every process), for addresses that do
not exist too, so a refusal never tells whether an account exists.
"""

import secrets

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.utils.crypto import salted_hmac

from telecom.clients import client_address

DEVICE_COOKIE = "known_device"
_DEVICE_SALT = "accounts.sign_in_limit.device"
_DEVICE_ACCOUNTS = 5  # accounts remembered by one browser


def _account(email: str) -> str:
    return salted_hmac(_DEVICE_SALT, email).hexdigest()[:20]


def _generation(email: str) -> str:
    return cache.get(f"sign-in-generation:{_account(email)}", "0")


def _device(request, email: str) -> str | None:
    """The device's id when the request shows a valid device cookie naming this account."""
    if request is None or not hasattr(request, "COOKIES"):
        return None
    try:
        value = request.get_signed_cookie(
            DEVICE_COOKIE,
            default=None,
            salt=_DEVICE_SALT,
            max_age=settings.SIGN_IN_DEVICE_COOKIE_DAYS * 86400,
        )
    except Exception:
        return None
    if not value:
        return None
    device, _, accounts = value.partition(":")
    return device if _account(email) in accounts.split(",") else None


class SignInLimit:
    """The counts that apply to one sign-in attempt."""

    def __init__(self, request, email: str):
        self.email = email
        self.device = _device(request, email)
        base = f"sign-in-failures:{_account(email)}:{_generation(email)}"
        client = client_address(request) if request is not None else ""
        self.key = f"{base}:device:{self.device}" if self.device else f"{base}:addr:{client}"
        self.unknown_key = f"{base}:unknown"

    def check(self) -> None:
        """Raise the refusal the sign-in forms and the API show, when this attempt is held."""
        minutes = settings.SIGN_IN_LOCKOUT_SECONDS // 60
        if cache.get(self.key, 0) >= settings.SIGN_IN_FAILURES_ALLOWED:
            raise ValidationError(
                f"Too many failed sign-ins for this address. Try again in {minutes} minutes, "
                "or reset your password.",
                code="sign_in_locked",
            )
        if (
            self.device is None
            and cache.get(self.unknown_key, 0) >= settings.SIGN_IN_ACCOUNT_FAILURES_ALLOWED
        ):
            raise ValidationError(
                "Too many failed sign-ins for this account from devices it has not used before. "
                f"Sign in on a device you have used, try again in {minutes} minutes, or reset "
                "your password.",
                code="sign_in_locked",
            )

    def failed(self) -> None:
        keys = [self.key] if self.device else [self.key, self.unknown_key]
        for key in keys:
            cache.add(key, 0, timeout=settings.SIGN_IN_LOCKOUT_SECONDS)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=settings.SIGN_IN_LOCKOUT_SECONDS)

    def succeeded(self) -> None:
        cache.delete(self.key)


def sign_in_limit_lift(email: str) -> None:
    """Forget every failed sign-in of this account (a completed password reset or change)."""
    cache.set(
        f"sign-in-generation:{_account(email.strip().lower())}",
        secrets.token_hex(8),
        timeout=2 * settings.SIGN_IN_LOCKOUT_SECONDS,
    )


@receiver(user_logged_in, dispatch_uid="accounts.sign_in_limit.remember_device")
def _remember_device(sender, request, user, **kwargs):
    if request is not None:
        request._known_device_account = _account(user.email)


class KnownDeviceMiddleware:
    """Gives the browser that just signed in its device cookie (kept with up to five accounts)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        account = getattr(request, "_known_device_account", None)
        if account is None:
            return response
        try:
            value = request.get_signed_cookie(DEVICE_COOKIE, default="", salt=_DEVICE_SALT)
        except Exception:
            value = ""
        device, _, accounts = (value or "").partition(":")
        known = [a for a in accounts.split(",") if a and a != account][-(_DEVICE_ACCOUNTS - 1) :]
        response.set_signed_cookie(
            DEVICE_COOKIE,
            f"{device or secrets.token_urlsafe(16)}:{','.join([*known, account])}",
            salt=_DEVICE_SALT,
            max_age=settings.SIGN_IN_DEVICE_COOKIE_DAYS * 86400,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response
