from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Prefetch, Q

from accounts.models import Organisation
from billing.selectors import organisation_today
from licensing.models import (
    Device,
    DevicePrice,
    Licence,
    LicencePrice,
    LicenceQuerySet,
    LicenceStatus,
    LicenceType,
    Line,
    held_numbers,
)


def licence_type_price(*, licence_type: LicenceType, currency: str, frequency: str) -> Decimal:
    price = LicencePrice.objects.get(licence_type=licence_type, currency=currency)
    return price.yearly if frequency == "yearly" else price.monthly


def licence_type_prices(*, currency: str, frequency: str) -> dict[str, Decimal]:
    """Unit price by licence type code, for one currency and billing frequency."""
    field = "yearly" if frequency == "yearly" else "monthly"
    return {
        code: price
        for code, price in LicencePrice.objects.filter(currency=currency).values_list(
            "licence_type__code", field
        )
    }


def licence_list(*, organisation: Organisation | None, member=None, detailed: bool = False):
    """Licences; `detailed` prefetches what the API shows of each: add-ons and held numbers.

    With `detailed`, every licence has `held_numbers` (numbers assigned or porting onto it).
    """
    qs = Licence.objects.select_related("licence_type", "member", "line", "base_licence")
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    if member is not None:
        qs = qs.filter(Q(member=member) | Q(base_licence__member=member))
    if detailed:
        qs = qs.prefetch_related(
            Prefetch(
                "addons",
                queryset=Licence.objects.select_related("licence_type").order_by(
                    "licence_type__sort_order", "licence_type__code", "pk"
                ),
            ),
            Prefetch(
                "numbers",
                queryset=held_numbers().only("id", "licence_id", "e164").order_by("e164"),
                to_attr="held_numbers",
            ),
        )
    return qs


def line_list(*, organisation: Organisation | None):
    qs = Line.objects.all()
    return qs if organisation is None else qs.filter(organisation=organisation)


def licence_type_catalogue(*, currency: str):
    """Licence types with their price in `currency` (`price_list`) and fitting add-ons."""
    return LicenceType.objects.prefetch_related(
        Prefetch(
            "prices", queryset=LicencePrice.objects.filter(currency=currency), to_attr="price_list"
        ),
        Prefetch("addons", queryset=LicenceType.objects.order_by("sort_order", "code")),
    )


def device_catalogue(*, currency: str):
    """Devices with their price in `currency` (`price_list`)."""
    return Device.objects.prefetch_related(
        Prefetch(
            "prices", queryset=DevicePrice.objects.filter(currency=currency), to_attr="price_list"
        ),
    )


def removal_has_taken_effect(licence: Licence, *, today: date) -> bool:
    """A removal is done from its effective date (docs/rules.md#rule-15): from local midnight of
    `removal_effective_on` in the organisation's time zone, whether or not the renewal job has
    terminated the licence yet. `today` is the organisation's local date."""
    return licence.status == LicenceStatus.TERMINATED or (
        licence.status == LicenceStatus.REMOVAL_SCHEDULED
        and licence.removal_effective_on is not None
        and licence.removal_effective_on <= today
    )


def restorable_licences(
    *,
    organisation: Organisation,
    licence_type: LicenceType | int | None,
    at: datetime | None = None,
):
    """Licences of a type (every type with None) scheduled for removal whose removal has not
    taken effect yet: the ones a restore or an obtaining path may bring back at no charge
    (rules 13 and 15). Those due first come first, as a purchase restores them."""
    licences = Licence.objects.filter(
        organisation=organisation,
        status=LicenceStatus.REMOVAL_SCHEDULED,
        removal_effective_on__gt=organisation_today(organisation, at=at),
    )
    if licence_type is not None:
        licences = licences.filter(licence_type=licence_type)
    return licences.order_by("removal_effective_on", "pk")


def licence_summary(*, organisation: Organisation) -> list[dict]:
    """Rule 12: per type, total (active + removal-scheduled), assigned, available, scheduled."""
    assigned = LicenceQuerySet.ASSIGNED
    active = Q(status=LicenceStatus.ACTIVE)
    rows = (
        Licence.objects.filter(organisation=organisation)
        .exclude(status=LicenceStatus.TERMINATED)
        .values(
            "licence_type__code",
            "licence_type__name",
            "licence_type__kind",
            "licence_type__sort_order",
        )
        .annotate(
            total=Count("pk"),
            assigned=Count("pk", filter=active & assigned),
            available=Count("pk", filter=active & ~assigned),
            removal_scheduled=Count("pk", filter=Q(status=LicenceStatus.REMOVAL_SCHEDULED)),
        )
        .order_by("licence_type__kind", "licence_type__sort_order", "licence_type__code")
    )
    return [
        {
            "type": row["licence_type__code"],
            "name": row["licence_type__name"],
            "kind": row["licence_type__kind"],
            "total": row["total"],
            "assigned": row["assigned"],
            "available": row["available"],
            "removal_scheduled": row["removal_scheduled"],
        }
        for row in rows
    ]


def money_on_unassigned_licences(
    organisation: Organisation, *, at=None, summary: list[dict] | None = None
) -> Decimal:
    """What the active unassigned licences cost for the current period (dashboard figure);
    `summary`, when the caller has read `licence_summary` already, spares reading it again."""
    prices = licence_type_prices(
        currency=organisation.currency, frequency=organisation.billing_frequency
    )
    return sum(
        (
            prices.get(row["type"], Decimal("0")) * row["available"]
            for row in (
                summary if summary is not None else licence_summary(organisation=organisation)
            )
        ),
        Decimal("0.00"),
    )
