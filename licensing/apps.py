from django.apps import AppConfig


class LicensingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "licensing"

    def ready(self):
        from accounts.services import register_closing_step
        from licensing.services import licences_end_all_locked

        register_closing_step("licences", licences_end_all_locked)
