"""The numbers list and each number's page."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import User
from licensing.models import Licence
from numbering.admin.flows import NumberFlows
from numbering.filters import number_search_q
from numbering.models import NumberStatus, PhoneNumber
from numbering.selectors import holder_licences, number_history, number_holder, number_list
from telecom.admin import (
    RowSearchFilter,
    TenantAdmin,
    audit_events_of,
    is_platform_staff,
    organisation_of,
)

# --- list filters: a search, never a list of every member or licence ----------------------------


class HolderMemberFilter(RowSearchFilter):
    """Numbers a member holds (through their licences or their add-ons)."""

    title = "member"
    parameter_name = "member"
    related_model = User

    def filter(self, queryset, value):
        return queryset.filter(licence__in=holder_licences(member=value))


class LicenceFilter(RowSearchFilter):
    """Numbers held through one licence."""

    title = "licence"
    parameter_name = "licence"
    related_model = Licence
    label_related = ("licence_type",)

    def filter(self, queryset, value):
        return queryset.filter(licence=value)


# --- the numbers page ----------------------------------------------------------------------------


@admin.register(PhoneNumber)
class PhoneNumberAdmin(NumberFlows, TenantAdmin):
    list_display = (
        "number",
        "country",
        "number_type",
        "status",
        "holder",
        "licence_link",
        "assigned_at",
        "quarantine_ends_on",
        "organisation",
    )
    list_display_links = ("number",)
    list_filter = (
        "country",
        "number_type",
        "status",
        HolderMemberFilter,
        LicenceFilter,
        "organisation",
    )
    search_fields = ("e164", "licence__member__name", "licence__member__email")
    search_help_text = (
        "Digits of the number (spaces and + ignored), or the member's name or e-mail."
    )
    ordering = ("e164",)
    actions = ("reassign_one", "change_one", "delete_selected_numbers", "recover_one")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "e164",
                    "country",
                    "number_type",
                    "capabilities_list",
                    "status",
                    "holder",
                    "licence_link",
                    "assigned_at",
                    "quarantine_ends_on",
                    "organisation",
                )
            },
        ),
    )
    readonly_fields = fieldsets[0][1]["fields"]

    def get_queryset(self, request):
        # Released numbers went back to the carrier: they are nobody's any more.
        return self.scope(request, number_list(organisation=None).select_related("organisation"))

    def get_search_results(self, request, queryset, search_term):
        # The API's search (numbering.filters): digits whatever their formatting, or the holder.
        if search_term.strip():
            queryset = queryset.filter(number_search_q(search_term))
        return self.scope(request, queryset), False

    # Numbers change only through the flows below.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def can_manage(self, request) -> bool:
        """Assign, reassign, change and delete numbers (numbers.manage)."""
        return super().has_change_permission(request)

    # --- columns ----------------------------------------------------------------------------

    @admin.display(description="number", ordering="e164")
    def number(self, obj):
        return str(obj)

    @admin.display(description="capabilities")
    def capabilities_list(self, obj):
        return ", ".join(obj.capabilities)

    @admin.display(description="held by")
    def holder(self, obj):
        member, line = number_holder(obj)
        if member is not None:
            url = reverse("admin:accounts_user_change", args=[member.pk])
            return format_html('<a href="{}">{}</a>', url, member.name or member.email)
        if line is not None:
            url = reverse("admin:licensing_line_change", args=[line.pk])
            return format_html('<a href="{}">{}</a>', url, line)
        return "-"

    @admin.display(description="licence", ordering="licence__purchased_at")
    def licence_link(self, obj):
        if obj.licence_id is None:
            return "-"
        url = reverse("admin:licensing_licence_change", args=[obj.licence_id])
        return format_html('<a href="{}">{}</a>', url, obj.licence.title)

    # --- pages ------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        context = {"can_assign_numbers": self.can_manage(request)}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        number = self.get_object(request, object_id)
        context = {}
        if number is not None:
            context = {
                "number_tools": self.object_tools(request, number),
                "number_history": list(number_history(number=number)),
                "number_events": list(
                    audit_events_of(number, organisation=organisation_of(request))[:20]
                ),
            }
        return super().change_view(
            request, object_id, form_url, {**context, **(extra_context or {})}
        )

    def object_tools(self, request, number: PhoneNumber) -> list[tuple[str, str]]:
        tools = []
        if number.status == NumberStatus.ASSIGNED and self.can_manage(request):
            tools += [
                (self._url("reassign", number), "Reassign"),
                (self._url("change_number", number), "Change number"),
                (self._url("delete_number", number), "Delete (quarantine)"),
            ]
        if number.status == NumberStatus.QUARANTINED and is_platform_staff(request):
            tools.append((self._url("recover", number), "Recover"))
        return tools

    def _url(self, name: str, number: PhoneNumber | None = None) -> str:
        args = [number.pk] if number is not None else []
        return reverse(f"admin:numbering_phonenumber_{name}", args=args)
