"""`Authorization: Token <key>` for members (accounts/api_tokens.py) and the telephony platform."""

from dataclasses import dataclass

from rest_framework import authentication, exceptions, permissions

from accounts.api_tokens import api_token_authenticate
from accounts.service_tokens import service_token_lookup


@dataclass(frozen=True)
class ServicePrincipal:
    """The telephony platform: authenticated, but a member of no organisation and no role."""

    name: str
    is_authenticated: bool = True
    is_active: bool = True
    is_superuser: bool = False
    is_staff: bool = False
    organisation = None
    organisation_id = None
    role = None
    pk = None


class TokenAuthentication(authentication.TokenAuthentication):
    """A member's token (hashed, voided by a new password, deactivation or idleness), else the
    telephony platform's service token; anything else is a 401."""

    def authenticate_credentials(self, key):
        found = api_token_authenticate(key)
        if found is not None:
            return found
        token = service_token_lookup(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return ServicePrincipal(name=token.name), token


class IsServiceToken(permissions.BasePermission):
    """Only the telephony platform's service token."""

    def has_permission(self, request, view):
        return isinstance(request.user, ServicePrincipal)
