from django.core.management.base import BaseCommand

from numbering.inventory import NUMBER_PLANS, inventory_fill


class Command(BaseCommand):
    help = "Fill the local carrier inventory with valid numbers per country and type."

    def add_arguments(self, parser):
        parser.add_argument(
            "--per-kind", type=int, default=50, help="numbers per country and type (default 50)"
        )
        parser.add_argument(
            "--countries",
            default="",
            help="comma-separated ISO codes (default: all of "
            + ", ".join(sorted({c for c, _ in NUMBER_PLANS}))
            + ")",
        )
        parser.add_argument("--start", type=int, default=0, help="offset in each number plan")

    def handle(self, *args, per_kind, countries, start, **options):
        if per_kind < 1:
            self.stderr.write("--per-kind must be at least 1")
            raise SystemExit(2)
        wanted = [c.strip().upper() for c in countries.split(",") if c.strip()] or None
        added = inventory_fill(per_kind=per_kind, countries=wanted, start=start)
        self.stdout.write(self.style.SUCCESS(f"{added} number(s) added to the inventory."))
