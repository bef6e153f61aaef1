"""The carrier boundary (DESIGN.md section 5): number search, provisioning and release.

The backend is chosen by `settings.CARRIER_BACKEND`. The default serves the local inventory table,
so the product works offline; a real operator's backend implements the same four methods.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from numbering.models import InventoryNumber
from numbering.phone import capabilities_for
from telecom import errors


@dataclass(frozen=True)
class AvailableNumber:
    e164: str
    country: str
    number_type: str

    @property
    def capabilities(self) -> tuple[str, ...]:
        return capabilities_for(self.country, self.number_type)


class LocalInventoryBackend:
    """Hands out numbers from `InventoryNumber`. Safe under concurrency: `SKIP LOCKED`."""

    def search(
        self, *, country: str, number_type: str, contains: str = "", limit: int = 100
    ) -> list[AvailableNumber]:
        qs = InventoryNumber.objects.filter(country=country, number_type=number_type)
        digits = "".join(ch for ch in contains if ch.isdigit())
        if digits:
            qs = qs.filter(e164__contains=digits)
        return [
            AvailableNumber(e164=e164, country=c, number_type=t)
            for e164, c, t in qs.order_by("e164").values_list("e164", "country", "number_type")[
                :limit
            ]
        ]

    def reserve(self, *, country: str, number_type: str, e164: str | None = None) -> str:
        """Take one number out of the inventory, in the caller's transaction.

        Rows another transaction is taking are skipped, not waited for: two organisations never
        get the same number, and neither queues behind the other.
        """
        qs = InventoryNumber.objects.select_for_update(skip_locked=True).filter(
            country=country, number_type=number_type
        )
        if e164:
            qs = qs.filter(e164=e164)
        row = qs.order_by("e164").first()
        if row is None:
            raise errors.NumberUnavailable(
                f"{e164} is not available." if e164
                else f"No {number_type.replace('_', ' ')} number is available in {country}."
            )
        row.delete()
        return row.e164

    def is_available(self, *, e164: str) -> bool:
        return InventoryNumber.objects.filter(e164=e164).exists()

    def release(self, *, e164: str, country: str, number_type: str) -> None:
        InventoryNumber.objects.get_or_create(
            e164=e164, defaults={"country": country, "number_type": number_type}
        )


@cache
def _backend_class(path: str):
    return import_string(path)


def carrier():
    return _backend_class(settings.CARRIER_BACKEND)()
