"""`manage.py run_billing [--as-of ISO]`: the scheduled jobs' due work, run synchronously now.

The same services the Celery jobs call (docs/architecture.md), in the order the day needs them:
renewals first (with them the removals that take effect at period end), then overdue invoices,
then the charges and retries of unpaid invoices (billing/payments/dunning.py), then quarantine
release. Idempotent: a second run as of the same time finds nothing to do.
"""

from collections.abc import Callable
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from accounts.closing import organisations_finish_closing
from billing.payments.dunning import dunning_run
from billing.renewal import renewals_run
from billing.services import invoices_flag_overdue
from numbering.porting import porting_progress
from numbering.services import numbers_release_quarantined
from telecom.celery import as_of_from_iso, drain

# (what is counted, the service run as of a time). A new scheduled job adds its step here.
STEPS: list[tuple[str, Callable[[datetime], int]]] = [
    ("renewal periods processed", lambda at: renewals_run(at=at)),
    ("closed organisations finished", lambda at: organisations_finish_closing(at=at)),
    ("porting requests moved on", lambda at: porting_progress(at=at)),
    ("invoices flagged overdue", lambda at: invoices_flag_overdue(at=at)),
    ("invoices charged (dunning)", lambda at: dunning_run(at=at)),
    ("quarantined numbers released", lambda at: drain(numbers_release_quarantined, at=at)),
]


class Command(BaseCommand):
    help = "Run the due renewals, removals, overdue checks and quarantine release as of a time."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            metavar="ISO",
            help="ISO 8601 time or date, e.g. 2026-12-01T00:00:00+00:00 (naive means UTC; "
            "default: now).",
        )

    def handle(self, *args, as_of: str | None = None, **options):
        try:
            at = as_of_from_iso(as_of)
        except ValueError as exc:
            raise CommandError(f"--as-of {as_of!r} is not an ISO 8601 time: {exc}") from exc
        self.stdout.write(f"Billing as of {at.isoformat()}")
        for label, step in STEPS:
            self.stdout.write(f"  {label}: {step(at)}")
