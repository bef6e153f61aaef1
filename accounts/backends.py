from django.contrib.auth.backends import ModelBackend

from accounts.roles import MODEL_PERMISSIONS, capabilities_of
from accounts.sign_in_limit import SignInLimit


class RoleBackend(ModelBackend):
    """Authenticates by e-mail and answers Django permission checks from the role matrix.

    Every sign-in goes through `authenticate` (the webapp, the admin console, the API's token
    endpoint), so the limit on failed attempts is kept here, once (accounts.sign_in_limit: per
    account and client address or known device; a password reset lifts it). The refusal is a
    ValidationError, which the sign-in forms and the API show as it is.

    The admin console asks `user.has_perm("licensing.change_licence")`; the answer comes from
    `accounts.roles`, the same table the API asks, so the two never disagree.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = (username or kwargs.get("email") or "").strip().lower()
        limit = SignInLimit(request, email)
        limit.check()
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if password is None:
            return user
        if user is None:
            limit.failed()
        else:
            limit.succeeded()
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
