from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class TelecomConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "telecom"


class TelecomAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the product's console site (dashboard, search, audit trail).

    Named in INSTALLED_APPS in place of "django.contrib.admin"; `default = False` keeps it from
    being picked as the configuration of the `telecom` app itself.
    """

    default = False
    default_site = "telecom.admin.site.TelecomAdminSite"
