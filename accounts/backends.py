from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import ValidationError

from accounts.roles import MODEL_PERMISSIONS, capabilities_of
from telecom.clients import client_address


class RoleBackend(ModelBackend):
    """Authenticates by e-mail and answers Django permission checks from the role matrix.

    Every sign-in goes through `authenticate` (the webapp, the admin console, the API's token
    endpoint), so the limit on failed attempts is kept here, once: after
    SIGN_IN_FAILURES_ALLOWED wrong passwords for one address from one client address, that pair
    is refused for SIGN_IN_LOCKOUT_SECONDS, even with the right password. The refusal is a
    ValidationError, which the sign-in forms and the API show as it is.

    The admin console asks `user.has_perm("licensing.change_licence")`; the answer comes from
    `accounts.roles`, the same table the API asks, so the two never disagree.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = (username or kwargs.get("email") or "").strip().lower()
        key = _failures_key(request, email)
        if cache.get(key, 0) >= settings.SIGN_IN_FAILURES_ALLOWED:
            raise ValidationError(
                "Too many failed sign-ins for this address. Try again in "
                f"{settings.SIGN_IN_LOCKOUT_SECONDS // 60} minutes, or reset your password.",
                code="sign_in_locked",
            )
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if password is None:
            return user
        if user is None:
            cache.add(key, 0, timeout=settings.SIGN_IN_LOCKOUT_SECONDS)
            cache.incr(key)
        else:
            cache.delete(key)
        return user

    def has_perm(self, user_obj, perm, obj=None):
        if not user_obj.is_active:
            return False
        if user_obj.is_superuser:
            return True
        app_label, _, codename = perm.partition(".")
        action, _, model = codename.partition("_")
        cap = MODEL_PERMISSIONS.get(f"{app_label}.{model}", {}).get(action)
        return cap is not None and cap in capabilities_of(user_obj)

    def has_module_perms(self, user_obj, app_label):
        if not user_obj.is_active:
            return False
        if user_obj.is_superuser:
            return True
        caps = capabilities_of(user_obj)
        return any(
            key.startswith(f"{app_label}.") and cap in caps
            for key, actions in MODEL_PERMISSIONS.items()
            for cap in actions.values()
        )

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active:
            return set()
        caps = capabilities_of(user_obj)
        return {
            f"{key.split('.')[0]}.{action}_{key.split('.')[1]}"
            for key, actions in MODEL_PERMISSIONS.items()
            for action, cap in actions.items()
            if cap in caps or user_obj.is_superuser
        }


def _failures_key(request, email: str) -> str:
    client = client_address(request) if request is not None else ""
    return f"sign-in-failures:{client}:{email}"
