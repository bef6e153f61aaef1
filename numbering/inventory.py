"""Filling the default carrier's inventory with valid numbers (demo data, benchmarks, tests)."""

from collections.abc import Iterator

from django.core.exceptions import ValidationError

from numbering.models import InventoryNumber, PhoneNumber
from numbering.phone import parse_number

# A prefix and how many digits follow it, per country and type; every candidate is still checked
# by phonenumbers, and the invalid ones skipped.
NUMBER_PLANS: dict[tuple[str, str], tuple[str, int]] = {
    ("FR", "mobile"): ("+336", 8),
    ("FR", "landline"): ("+331", 8),
    ("FR", "toll_free"): ("+33805", 6),
    ("GB", "mobile"): ("+447400", 6),
    ("GB", "landline"): ("+44207", 7),
    ("GB", "toll_free"): ("+44800", 7),
    ("ES", "mobile"): ("+346", 8),
    ("ES", "landline"): ("+3491", 7),
    ("ES", "toll_free"): ("+34900", 6),
    ("BE", "mobile"): ("+32470", 6),
    ("BE", "landline"): ("+322", 7),
    ("BE", "toll_free"): ("+32800", 5),
    ("DE", "mobile"): ("+49151", 8),
    ("DE", "landline"): ("+4930", 8),
    ("DE", "toll_free"): ("+49800", 7),
    ("IT", "mobile"): ("+39312", 7),
    ("IT", "landline"): ("+3906", 8),
    ("IT", "toll_free"): ("+39800", 6),
    ("US", "mobile"): ("+1201", 7),
    ("US", "landline"): ("+1212", 7),
    ("US", "toll_free"): ("+1800", 7),
}


def generate_numbers(
    country: str, number_type: str, count: int, *, start: int = 0
) -> Iterator[str]:
    """Yield `count` valid E.164 numbers of the kind, walking the plan from `start`."""
    prefix, digits = NUMBER_PLANS[(country, number_type)]
    produced, n = 0, start
    # A local number starting with 0 or 1 is never valid in these plans; begin at 2…
    base = 2 * 10 ** (digits - 1)
    while produced < count and n < 8 * 10 ** (digits - 1):
        candidate = f"{prefix}{base + n:0{digits}d}"
        n += 1
        try:
            parse_number(candidate, declared_type=number_type, country=country)
        except ValidationError:
            continue
        produced += 1
        yield candidate


def inventory_fill(*, per_kind: int, countries: list[str] | None = None, start: int = 0) -> int:
    """Add `per_kind` numbers per country and type that are neither in stock nor held."""
    added = 0
    for country, number_type in NUMBER_PLANS:
        if countries and country not in countries:
            continue
        numbers = list(generate_numbers(country, number_type, per_kind * 2, start=start))
        live = set(
            PhoneNumber.objects.filter(e164__in=numbers)
            .exclude(status="released")
            .values_list("e164", flat=True)
        )
        rows = [
            InventoryNumber(e164=e164, country=country, number_type=number_type)
            for e164 in numbers
            if e164 not in live
        ][:per_kind]
        created = InventoryNumber.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        added += len(created)
    return added
