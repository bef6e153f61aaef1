"""`Authorization: Token <key>` for members (DRF tokens) and for the telephony platform."""

from dataclasses import dataclass

from rest_framework import authentication, exceptions, permissions

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
    def authenticate_credentials(self, key):
        try:
            return super().authenticate_credentials(key)
        except exceptions.AuthenticationFailed:
            token = service_token_lookup(key)
            if token is None:
                raise
            return ServicePrincipal(name=token.name), token


class IsServiceToken(permissions.BasePermission):
    """Only the telephony platform's service token."""

    def has_permission(self, request, view):
        return isinstance(request.user, ServicePrincipal)
