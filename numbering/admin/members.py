"""The member's page gains the numbers they hold (accounts.admin is another app's: the section is
added to its registered admin here, without changing it)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

import accounts.admin  # noqa: F401  (registers the member page first)
from accounts.models import User
from numbering.models import NumberAssignment
from telecom.admin import ReadOnlyInline

# --- the member's page: the numbers they hold ----------------------------------------------------


class MemberNumberInline(ReadOnlyInline):
    """Numbers a member holds now (their open assignments), on the member's page."""

    model = NumberAssignment
    fk_name = "member"
    verbose_name = "number"
    verbose_name_plural = "numbers held"
    fields = ("number_link", "number_type", "licence_link", "started_at")
    show_change_link = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(ended_at__isnull=True)
            .select_related("number", "licence__licence_type")
            .order_by("number__e164")
        )

    def has_view_permission(self, request, obj=None):
        # Shown, never posted: the member form's POST carries no management form for it.
        if request.method != "GET" or not request.user.has_perm("numbering.view_phonenumber"):
            return False
        return super().has_view_permission(request, obj)

    @admin.display(description="number")
    def number_link(self, obj):
        url = reverse("admin:numbering_phonenumber_change", args=[obj.number_id])
        return format_html('<a href="{}">{}</a>', url, obj.number)

    @admin.display(description="type")
    def number_type(self, obj):
        return obj.number.get_number_type_display()

    @admin.display(description="licence")
    def licence_link(self, obj):
        url = reverse("admin:licensing_licence_change", args=[obj.licence_id])
        return format_html('<a href="{}">{}</a>', url, obj.licence)


def _show_numbers_on_the_member_page(site: admin.AdminSite) -> None:
    member_admin = site._registry.get(User)
    if member_admin is not None and MemberNumberInline not in member_admin.inlines:
        member_admin.inlines = (*member_admin.inlines, MemberNumberInline)


_show_numbers_on_the_member_page(admin.site)
