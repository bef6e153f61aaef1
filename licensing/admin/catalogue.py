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
)


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
        return super().get_queryset(request).prefetch_related("prices")

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
