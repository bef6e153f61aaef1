import hashlib
import secrets

from django.db import transaction

from accounts.models import ServiceToken


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def service_token_create(*, name: str) -> tuple[ServiceToken, str]:
    """Create a token for the telephony platform; returns it with its key (shown once)."""
    key = f"svc_{secrets.token_urlsafe(32)}"
    token = ServiceToken.objects.create(name=name.strip(), key_digest=digest(key))
    return token, key


def service_token_lookup(key: str) -> ServiceToken | None:
    return ServiceToken.objects.filter(key_digest=digest(key), revoked_at__isnull=True).first()
