"""Members' API tokens (docs/api.md "Tokens", docs/security.md "API tokens").

A key is `tok_` and 43 random characters; only its SHA-256 digest is stored (the service tokens'
`digest`). A token authenticates while:

- its user is an active member (a deactivated or invited one gets 401);
- its user's password is the one it was issued under (a change or a reset voids every token);
- it was used in the last API_TOKEN_IDLE_DAYS days (`last_used_at` is refreshed at most every
  few minutes, so a busy client does not write on every request).

Members list their own tokens and revoke any of them.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import ApiToken, User
from accounts.service_tokens import digest

_TOUCH_EVERY = timedelta(minutes=5)


def _password_digest(user: User) -> str:
    return salted_hmac("accounts.api_tokens.password", user.password).hexdigest()[:64]


@transaction.atomic
def api_token_create(*, user: User) -> tuple[ApiToken, str]:
    """A new token for an active member; returns it with its key (shown once)."""
    key = f"tok_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, key_digest=digest(key), password_digest=_password_digest(user)
    )
    return token, key


def api_token_authenticate(key: str, *, at=None) -> tuple[User, ApiToken] | None:
    """The member and token this key stands for, or None when it does not authenticate."""
    at = at or timezone.now()
    token = ApiToken.objects.select_related("user").filter(key_digest=digest(key)).first()
    if token is None:
        return None
    user = token.user
    if not user.is_active or not constant_time_compare(
        token.password_digest, _password_digest(user)
    ):
        return None
    if token.expires_at <= at:
        return None
    if at - token.last_used_at >= _TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)
        token.last_used_at = at
    return user, token


def api_tokens_of(user: User):
    """The member's tokens that still work, newest first."""
    cutoff = timezone.now() - timedelta(days=settings.API_TOKEN_IDLE_DAYS)
    return ApiToken.objects.filter(
        user=user, password_digest=_password_digest(user), last_used_at__gt=cutoff
    )


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()


def api_tokens_revoke_all(*, users) -> int:
    """Every token of these members (removal, closing, a new password)."""
    return ApiToken.objects.filter(user__in=users).delete()[0]
