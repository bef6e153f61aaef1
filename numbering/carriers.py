"""The carrier boundary (docs/architecture.md): number search, provisioning, release and porting.

The backend is chosen by `settings.CARRIER_BACKEND`. The default serves the local inventory table
and moves porting requests along by date, so the product works offline; a real operator's backend
implements the same methods.
"""

import datetime as dt
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import connection, transaction
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


class InventoryOvertake(RuntimeError):
    """The inventory delete removed more numbers than asked for. Never committed: a defect to
    report, not a customer's error."""


class _ShortCount(Exception):
    def __init__(self, found: int):
        self.found = found


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
        """Take one number out of the inventory, in the caller's transaction: `e164`, or the
        first available of the country and type."""
        if e164 is None:
            return self.take(country=country, number_type=number_type, count=1)[0]
        deleted, _ = InventoryNumber.objects.filter(
            e164=e164, country=country, number_type=number_type
        ).delete()
        if not deleted:
            raise errors.NumberUnavailable(f"{e164} is not available.")
        return e164

    def take(self, *, country: str, number_type: str, count: int) -> list[str]:
        """Take `count` numbers of a country and type out of the inventory, in the caller's
        transaction, in number order; all of them or none (`NumberUnavailable`).

        One statement. Rows another transaction is taking are skipped, not waited for: two
        organisations never get the same number, and neither queues behind the other. The
        locked ids are materialised first and exactly those are deleted: with `DELETE … WHERE
        id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` a nested-loop plan may run the
        sub-select again and delete more than n numbers. The delete runs in a savepoint, so a
        count other than n (too few, or, should it ever happen, too many) removes nothing.
        """
        table = connection.ops.quote_name(InventoryNumber._meta.db_table)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"""WITH picked AS MATERIALIZED (
                            SELECT id FROM {table} WHERE country = %s AND number_type = %s
                            ORDER BY e164 LIMIT %s FOR UPDATE SKIP LOCKED)
                        DELETE FROM {table} AS inventory USING picked
                        WHERE inventory.id = picked.id
                        RETURNING inventory.e164""",
                    [country, number_type, count],
                )
                taken = sorted(e164 for (e164,) in cursor.fetchall())
                if len(taken) > count:
                    raise InventoryOvertake(
                        f"Asked for {count} {country} {number_type} numbers, the inventory "
                        f"delete removed {len(taken)}: rolled back."
                    )
                if len(taken) < count:
                    raise _ShortCount(len(taken))
        except _ShortCount as short:
            kind = number_type.replace("_", " ")
            raise errors.NumberUnavailable(
                f"No {kind} number is available in {country}."
                if count == 1
                else f"Only {short.found} {kind} numbers are available in {country}, not {count}."
            ) from None
        return taken

    def reserve_many(self, *, e164s: list[str]) -> None:
        """Take exactly these numbers out of the inventory, in the caller's transaction, or
        none of them (`NumberUnavailable` names the missing ones)."""
        if not e164s:
            return
        wanted = set(e164s)
        locked = set(
            InventoryNumber.objects.select_for_update(skip_locked=True)
            .filter(e164__in=wanted)
            .values_list("e164", flat=True)
        )
        missing = sorted(wanted - locked)
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise errors.NumberUnavailable(f"No longer available: {shown}.")
        InventoryNumber.objects.filter(e164__in=wanted).delete()

    def is_available(self, *, e164: str) -> bool:
        return InventoryNumber.objects.filter(e164=e164).exists()

    def lookup_many(self, *, e164s: list[str]) -> dict[str, AvailableNumber]:
        """Which of these numbers are available, with their country and type (one query)."""
        return {
            e164: AvailableNumber(e164=e164, country=country, number_type=number_type)
            for e164, country, number_type in InventoryNumber.objects.filter(
                e164__in=set(e164s)
            ).values_list("e164", "country", "number_type")
        }

    def release(self, *, e164: str, country: str, number_type: str) -> None:
        """A number's quarantine ended (rule 6): it can be offered again."""
        InventoryNumber.objects.get_or_create(
            e164=e164, defaults={"country": country, "number_type": number_type}
        )

    def recover(self, *, e164: str, country: str, number_type: str) -> None:
        """Platform staff bring a quarantined number back into service (rule 6). It was never
        offered again, so locally there is only to make sure it is not in the inventory."""
        InventoryNumber.objects.filter(e164=e164).delete()

    # --- porting (rule 20) --------------------------------------------------------------------

    def porting_submit(self, *, case: "PortingCase") -> None:
        """Hand a new porting request to the operator. Locally there is no one to tell."""

    def porting_cancel(self, *, case: "PortingCase") -> None:
        """Withdraw a porting request from the operator. Locally there is no one to tell."""

    def porting_check(self, *, case: "PortingCase") -> "PortingUpdate | None":
        """The operator's next step for an open request, or None while nothing is due.

        Locally, by date: a request is accepted (for its wished date) the day after it was
        submitted, and completed on its porting date.
        """
        if case.status == "submitted" and case.today >= case.submitted_on + dt.timedelta(days=1):
            return PortingUpdate(
                status="accepted",
                porting_date=case.porting_date,
                note="Accepted by the losing operator (local carrier).",
            )
        if case.status == "accepted" and case.today >= case.porting_date:
            return PortingUpdate(
                status="completed",
                porting_date=case.porting_date,
                note="Ported on the confirmed date (local carrier).",
            )
        return None

    def porting_complete(self, *, case: "PortingCase") -> None:
        """The number is now served here: it can no longer be offered from the inventory."""
        InventoryNumber.objects.filter(e164=case.e164).delete()


@dataclass(frozen=True)
class PortingCase:
    """What a carrier backend is told about a porting request. Dates are the organisation's."""

    reference: str
    e164: str
    number_type: str
    status: str
    submitted_on: dt.date
    porting_date: dt.date  # the confirmed date once accepted, else the wished one
    today: dt.date
    rio: str = ""


@dataclass(frozen=True)
class PortingUpdate:
    status: str  # accepted | completed | rejected
    porting_date: dt.date | None = None
    note: str = ""


@cache
def _backend_class(path: str):
    return import_string(path)


def carrier():
    return _backend_class(settings.CARRIER_BACKEND)()
