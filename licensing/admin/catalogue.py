"""The catalogue: licence types and devices with their prices (platform staff edit it)."""

from django.contrib import admin
from django.utils.html import format_html_join

from licensing.models import (
    Device,
    DevicePrice,
    LicencePrice,
    LicenceType,
)
from telecom.admin import (
    CatalogueAdmin,
    is_platform_staff,
    organisation_of,
)

_PER = {"monthly": ("monthly", "a month"), "yearly": ("yearly", "a year")}


def price_for(licence_type: LicenceType, organisation) -> str:
    """The type's price in the organisation's currency and billing frequency, for people."""
    field, per = _PER.get(organisation.billing_frequency, _PER["monthly"])
    price = next(
        (p for p in licence_type.prices.all() if p.currency == organisation.currency), None
    )
    if price is None:
        return "Not sold in your currency"
    return f"{getattr(price, field)} {organisation.currency} {per}"


class CatalogueInline(admin.TabularInline):
    """Prices: shown to everyone who may read the catalogue, edited by platform staff."""

    extra = 0

    def has_view_permission(self, request, obj=None):
        return True  # the parent page is the permission check

    def has_add_permission(self, request, obj=None):
        return is_platform_staff(request)

    def has_change_permission(self, request, obj=None):
        return is_platform_staff(request)

    def has_delete_permission(self, request, obj=None):
        return is_platform_staff(request)


class LicencePriceInline(CatalogueInline):
    model = LicencePrice


class DevicePriceInline(CatalogueInline):
    model = DevicePrice


@admin.register(LicenceType)
class LicenceTypeAdmin(CatalogueAdmin):
    list_display = (
        "name",
        "code",
        "kind",
        "category",
        "number_capacity",
        "max_number_changes",
        "has_extension",
        "monthly_prices",
    )
    list_filter = ("kind", "category", "has_extension")
    search_fields = ("code", "name")
    ordering = ("kind", "sort_order", "code")
    filter_horizontal = ("addons",)
    inlines = (LicencePriceInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("prices", "addons")

    # Customers read a price list: their currency and frequency, capacities in words, no codes
    # and no JSON. Platform staff keep the whole catalogue.
    def _price_column(self, request):
        """The price in the reader's currency and frequency: one callable per request, so the
        list and the page (which compare fields by identity) see the same one."""
        cached = getattr(request, "_catalogue_price_column", None)
        if cached is not None:
            return cached
        organisation = organisation_of(request)

        @admin.display(description="price")
        def price(obj):
            return price_for(obj, organisation)

        request._catalogue_price_column = price
        return price

    def get_list_display(self, request):
        if is_platform_staff(request) or organisation_of(request) is None:
            return super().get_list_display(request)
        return (
            "name",
            "kind",
            "capacity",
            "max_number_changes",
            "has_extension",
            self._price_column(request),
        )

    def get_list_display_links(self, request, list_display):
        return ("name",)

    def get_fields(self, request, obj=None):
        if is_platform_staff(request) or organisation_of(request) is None:
            return super().get_fields(request, obj)
        return (
            "name",
            "kind",
            "capacity",
            "max_number_changes",
            "has_extension",
            "addon_names",
            self._price_column(request),
        )

    def get_readonly_fields(self, request, obj=None):
        if is_platform_staff(request) or organisation_of(request) is None:
            return super().get_readonly_fields(request, obj)
        return self.get_fields(request, obj)

    def get_inlines(self, request, obj):
        if is_platform_staff(request) or organisation_of(request) is None:
            return super().get_inlines(request, obj)
        return ()

    @admin.display(description="numbers it holds")
    def capacity(self, obj):
        return obj.capacity_words

    @admin.display(description="add-ons that fit")
    def addon_names(self, obj):
        return ", ".join(addon.name for addon in obj.addons.all()) or "None"

    @admin.display(description="monthly prices")
    def monthly_prices(self, obj):
        return format_html_join(
            ", ",
            "{} {}",
            ((p.monthly, p.currency) for p in sorted(obj.prices.all(), key=lambda p: p.currency)),
        )


@admin.register(Device)
class DeviceAdmin(CatalogueAdmin):
    list_display = ("name", "code", "unit_prices")
    search_fields = ("code", "name")
    list_filter = ("prices__currency",)
    inlines = (DevicePriceInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("prices")

    @admin.display(description="prices")
    def unit_prices(self, obj):
        return format_html_join(
            ", ",
            "{} {}",
            (
                (p.unit_price, p.currency)
                for p in sorted(obj.prices.all(), key=lambda p: p.currency)
            ),
        )
