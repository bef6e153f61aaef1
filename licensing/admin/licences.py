"""The licences list (the "Licenses tab"): filters, columns, the add-ons inline and the
bulk actions. Licences have no add or edit form: every change is a page of `licence_pages`."""

from django.contrib import admin, messages
from django.db.models import Prefetch, Q
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from billing.selectors import organisation_today
from licensing.admin.licence_pages import (
    LicencePages,
    capacity_in_words,
    numbers_on,
    termination_blocked,
)
from licensing.admin.mass_config import mass_config_urls
from licensing.models import (
    Licence,
    LicenceKind,
    LicenceStatus,
    LicenceType,
)
from licensing.selectors import (
    licence_summary,
    removal_has_taken_effect,
)
from licensing.services import (
    licence_restore,
    licence_terminate,
    licence_unassign,
)
from telecom.admin import (
    ReadOnlyInline,
    TenantAdmin,
    YesNoFilter,
    organisation_of,
)


class AssignmentFilter(admin.SimpleListFilter):
    title = "assignment"
    parameter_name = "assignment"

    def lookups(self, request, model_admin):
        return (
            ("member", "To a member"),
            ("line", "To a line"),
            ("addon", "Attached to a base licence"),
            ("unassigned", "Unassigned"),
        )

    def queryset(self, request, queryset):
        match self.value():
            case "member":
                return queryset.filter(member__isnull=False)
            case "line":
                return queryset.filter(line__isnull=False)
            case "addon":
                return queryset.filter(base_licence__isnull=False)
            case "unassigned":
                return queryset.unassigned()
        return queryset


class ExtensionFilter(YesNoFilter):
    title = "extension"
    parameter_name = "has_extension"
    options = (("yes", "With an extension"), ("no", "Without"))

    def condition(self) -> Q:
        return Q(extension__isnull=False)


class HeldLicenceInline(ReadOnlyInline):
    """Licences hanging off another row (a base licence's add-ons, a line's licences)."""

    model = Licence
    fields = ("licence_type", "status", "purchased_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("licence_type")


class AddonInline(HeldLicenceInline):
    fk_name = "base_licence"
    verbose_name = "add-on"
    verbose_name_plural = "add-ons"


@admin.register(Licence)
class LicenceAdmin(LicencePages, TenantAdmin):
    list_display = (
        "licence",
        "status",
        "assignee",
        "ext",
        "addon_codes",
        "purchased",
        "removal_on",
        "organisation",
    )
    list_display_links = ("licence",)
    list_filter = (
        "licence_type",
        "licence_type__kind",
        "status",
        AssignmentFilter,
        "member",
        "line",
        ExtensionFilter,
        "organisation",
    )
    search_fields = ("^extension", "member__name", "member__email", "line__name")
    search_help_text = (
        "UUID (or its first characters), extension, member name or e-mail, or line name."
    )
    list_select_related = (
        "licence_type",
        "member",
        "line",
        "base_licence__licence_type",
        "organisation",
    )
    ordering = ("licence_type__kind", "licence_type__sort_order", "purchased_at", "id")
    actions = ("assign_one", "unassign_selected", "restore_selected", "terminate_selected")
    fields = (
        "uuid",
        "organisation",
        "licence_type",
        "kind",
        "status",
        "assignee",
        "extension",
        "addon_codes",
        "numbers_held",
        "capacity",
        "number_changes",
        "purchased_at",
        "removal_effective_on",
        "terminated_on",
    )
    readonly_fields = fields
    inlines = (AddonInline,)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("addons", queryset=Licence.objects.select_related("licence_type"))
            )
        )

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lower()
        if term and all(c in "0123456789abcdef-" for c in term) and len(term) >= 4:
            # The seed's "search with that UUID": the whole UUID or its first characters.
            results = results | self.scope(request, queryset.filter(id__startswith=term))
        return results, duplicates

    # Licences change only through the actions and forms below.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def can_manage(self, request) -> bool:
        """Buy, remove, terminate, restore, assign, add-ons, extension (licences.manage)."""
        return super().has_change_permission(request)

    # --- columns ----------------------------------------------------------------------------

    @admin.display(description="UUID", ordering="id")
    def uuid(self, obj):
        return format_html('<span class="licence-uuid">{}</span>', obj.id)

    @admin.display(description="licence", ordering="licence_type__name")
    def licence(self, obj):
        # The type, and the full UUID under it (the seed's "copy the UUID" from the list).
        return format_html(
            '{}<br><span class="licence-uuid">{}</span>', obj.licence_type.name, obj.id
        )

    @admin.display(description="removal on", ordering="removal_effective_on")
    def removal_on(self, obj):
        return date_format(obj.removal_effective_on, "j M Y") if obj.removal_effective_on else "-"

    @admin.display(description="purchased", ordering="purchased_at")
    def purchased(self, obj):
        return date_format(timezone.localtime(obj.purchased_at), "j M Y")

    @admin.display(description="kind", ordering="licence_type__kind")
    def kind(self, obj):
        return obj.licence_type.get_kind_display()

    @admin.display(description="assignee")
    def assignee(self, obj):
        if obj.member_id:
            url = reverse("admin:accounts_user_change", args=[obj.member_id])
            return format_html('<a href="{}">{}</a>', url, obj.member.name or obj.member.email)
        if obj.line_id:
            url = reverse("admin:licensing_line_change", args=[obj.line_id])
            return format_html('<a href="{}">{}</a>', url, obj.line)
        if obj.base_licence_id:
            url = reverse("admin:licensing_licence_change", args=[obj.base_licence_id])
            return format_html(
                'add-on of <a href="{}">{}</a>',
                url,
                f"{obj.base_licence.licence_type.name} {str(obj.base_licence_id)[:8]}",
            )
        return "-"

    @admin.display(description="ext.", ordering="extension")
    def ext(self, obj):
        return obj.extension or "-"

    @admin.display(description="add-ons")
    def addon_codes(self, obj):
        return ", ".join(sorted(a.licence_type.name for a in obj.addons.all())) or "-"

    @admin.display(description="numbers")
    def numbers_held(self, obj):
        """The numbers the licence holds (its add-ons' too), each a link to its page."""
        numbers = numbers_on(obj)
        if not numbers:
            return "None"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:numbering_phonenumber_change", args=[n.pk]), str(n)) for n in numbers),
        )

    @admin.display(description="capacity")
    def capacity(self, obj):
        return capacity_in_words(obj.licence_type.number_capacity)

    @admin.display(description="number changes")
    def number_changes(self, obj):
        limit = obj.licence_type.max_number_changes
        return f"{obj.number_changes_used} of {limit} used"

    # --- pages ------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        organisation = organisation_of(request)
        context = {"can_manage_licences": self.can_manage(request)}
        if organisation is not None:
            names = dict(LicenceType.objects.values_list("code", "name"))
            context["licence_summary"] = [
                {**row, "name": names.get(row["type"], row["type"])}
                for row in licence_summary(organisation=organisation)
            ]
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        tools = self.object_tools(request, obj) if obj is not None else []
        return super().change_view(
            request, object_id, form_url, {"licence_tools": tools, **(extra_context or {})}
        )

    def object_tools(self, request, licence: Licence) -> list[tuple[str, str]]:
        if not self.can_manage(request):
            return []
        url = self._url
        tools = []
        if licence.status == LicenceStatus.ACTIVE:
            if licence.licence_type.kind == LicenceKind.BASE:
                tools.append((url("assign", licence), "Assign / unassign"))
                tools.append((url("addons", licence), "Manage add-ons"))
                if licence.licence_type.has_extension:
                    tools.append((url("extension", licence), "Set extension"))
            reason = termination_blocked(licence)
            if reason:
                context_reason = f"Terminate is not available: {reason}"
                tools.append(("", context_reason))
            else:
                tools.append((url("terminate", licence), "Terminate"))
        elif not removal_has_taken_effect(
            licence, today=organisation_today(licence.organisation)
        ):  # a removal is done from its effective date, even before the renewal job runs
            tools.append((url("restore", licence), "Restore"))
        return tools

    def _url(self, name: str, licence: Licence | None = None) -> str:
        args = [licence.pk] if licence is not None else []
        return reverse(f"admin:licensing_licence_{name}", args=args)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("buy/", wrap(self.buy_view), name="licensing_licence_buy"),
            path("remove/", wrap(self.remove_view), name="licensing_licence_remove"),
            *mass_config_urls(self),
            path(
                "terminate/",
                wrap(self.terminate_by_uuid_view),
                name="licensing_licence_terminate_by_uuid",
            ),
            path(
                "<path:object_id>/assign/", wrap(self.assign_view), name="licensing_licence_assign"
            ),
            path(
                "<path:object_id>/addons/", wrap(self.addons_view), name="licensing_licence_addons"
            ),
            path(
                "<path:object_id>/extension/",
                wrap(self.extension_view),
                name="licensing_licence_extension",
            ),
            path(
                "<path:object_id>/restore/",
                wrap(self.restore_view),
                name="licensing_licence_restore",
            ),
            path(
                "<path:object_id>/terminate/",
                wrap(self.terminate_view),
                name="licensing_licence_terminate",
            ),
            *super().get_urls(),
        ]

    @admin.action(description="Assign or unassign the selected licence", permissions=["change"])
    def assign_one(self, request, queryset):
        selected = list(queryset[:2])
        if len(selected) != 1:
            self.message_user(request, "Select exactly one licence to assign.", messages.WARNING)
            return None
        return HttpResponseRedirect(self._url("assign", selected[0]))

    @admin.action(description="Unassign selected licences", permissions=["change"])
    def unassign_selected(self, request, queryset):
        self.run_on_each(request, queryset, licence_unassign, arg="licence", verb="unassigned")

    @admin.action(description="Restore selected licences", permissions=["change"])
    def restore_selected(self, request, queryset):
        self.run_on_each(request, queryset, licence_restore, arg="licence", verb="restored")

    @admin.action(description="Terminate selected licences", permissions=["change"])
    def terminate_selected(self, request, queryset):
        self.run_on_each(request, queryset, licence_terminate, arg="licence", verb="terminated")
