from django.apps import AppConfig


class NumberingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "numbering"

    def ready(self):
        from licensing.services import register_number_rules
        from numbering.allocation import check_licence_move
        from numbering.services import history_follow_licence

        register_number_rules(
            check_move=check_licence_move,
            moved=lambda licence: history_follow_licence(licence=licence),
        )
