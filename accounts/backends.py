from django.contrib.auth.backends import ModelBackend

from accounts.roles import MODEL_PERMISSIONS, capabilities_of


class RoleBackend(ModelBackend):
    """Authenticates by e-mail and answers Django permission checks from the role matrix.

    The admin console asks `user.has_perm("licensing.change_licence")`; the answer comes from
    `accounts.roles`, the same table the API asks, so the two never disagree.
    """

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
