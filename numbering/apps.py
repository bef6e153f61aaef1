from django.apps import AppConfig


class NumberingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "numbering"

    def ready(self):
        from accounts.services import register_closing_step
        from licensing.services import register_number_rules
        from numbering.allocation import check_licence_move
        from numbering.porting import porting_requests_cancel_open_locked
        from numbering.services import history_follow_licence, numbers_quarantine_all_locked

        register_closing_step(
            "porting",
            lambda org, *, actor, at, note: porting_requests_cancel_open_locked(
                organisation=org, actor=actor, at=at, note=note
            ),
        )
        register_closing_step("numbers", numbers_quarantine_all_locked)

        register_number_rules(
            check_move=check_licence_move,
            moved=lambda licence: history_follow_licence(licence=licence),
        )
