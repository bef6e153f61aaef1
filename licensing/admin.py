"""Console pages for licences (the "Licenses tab"), lines and the catalogue.

Licences have no add or edit form: every change is an action or a small form that calls one
service (buy with a review, remove with a review, terminate, restore, assign, add-ons, extension).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from accounts.selectors import organisation_restriction_reasons
from billing.selectors import organisation_today
from licensing.forms import (
    AddonsForm,
    AssignForm,
    BuyLicencesForm,
    ExtensionForm,
    RemoveLicencesForm,
    TerminateByUuidForm,
)
from licensing.mass_config_admin import mass_config_urls
from licensing.models import (
    Device,
    DevicePrice,
    Licence,
    LicenceKind,
    LicencePrice,
    LicenceStatus,
    LicenceType,
    Line,
)
from licensing.selectors import (
    licence_summary,
    removal_has_taken_effect,
)
from licensing.services import (
    licence_addons_preview,
    licence_assign,
    licence_restore,
    licence_set_addons,
    licence_set_extension,
    licence_terminate,
    licence_termination_quote,
    licence_unassign,
    licences_purchase,
    licences_purchase_quote,
    licences_removal_quote,
    licences_schedule_removal,
    line_create,
    line_delete,
    line_update,
)
from telecom.admin import (
    CatalogueAdmin,
    ReadOnlyInline,
    ServiceRefused,
    TenantAdmin,
    YesNoFilter,
    is_platform_staff,
    organisation_of,
)

# --- licences --------------------------------------------------------------------------------


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
class LicenceAdmin(TenantAdmin):
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
        "number_changes_used",
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
        return ", ".join(sorted(a.licence_type.code for a in obj.addons.all())) or "-"

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

    def _require_manage(self, request) -> None:
        if not self.can_manage(request):
            raise PermissionDenied

    def _page(self, request, template: str, title: str, **context) -> TemplateResponse:
        form = context.get("form")
        media = self.media + (form.media if form is not None else type(self.media)())
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            f"admin/licensing/licence/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "subtitle": None,
                "media": media,
                "changelist_url": reverse("admin:licensing_licence_changelist"),
                **context,
            },
        )

    def _refused(self, request, exc: ServiceRefused) -> None:
        self.message_user(request, exc.message, messages.ERROR)

    def _back_to(self, licence: Licence) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:licensing_licence_change", args=[licence.pk]))

    # Buy (rule 13): form -> review with the exact pro rata -> confirm.

    def buy_view(self, request):
        self._require_manage(request)
        initial = {"licence_type": request.GET.get("licence_type")}
        form = BuyLicencesForm(
            _posted(request), organisation=organisation_of(request), initial=initial
        )
        quote = None
        if request.method == "POST" and form.is_valid():
            organisation = form.target_organisation
            licence_type = form.cleaned_data["licence_type"]
            quantity = form.cleaned_data["quantity"]
            if "_confirm" in request.POST:
                try:
                    result = self.call_service(
                        licences_purchase,
                        organisation=organisation,
                        licence_type=licence_type,
                        quantity=quantity,
                        actor=request.user,
                    )
                except ServiceRefused as exc:
                    self._refused(request, exc)
                else:
                    self.message_user(
                        request, _purchase_message(result, licence_type), messages.SUCCESS
                    )
                    return HttpResponseRedirect(
                        reverse("admin:licensing_licence_changelist")
                        + f"?licence_type__id__exact={licence_type.pk}"
                    )
            try:
                quote = self.call_service(
                    licences_purchase_quote,
                    organisation=organisation,
                    licence_type=licence_type,
                    quantity=quantity,
                )
            except ServiceRefused as exc:
                self._refused(request, exc)
        organisation = organisation_of(request)
        if quote is not None:
            organisation = form.target_organisation
        reasons = organisation_restriction_reasons(organisation) if organisation else []
        return self._page(
            request,
            "buy.html",
            "Review the purchase" if quote else "Buy licences",
            form=form,
            quote=quote,
            restriction_reasons=reasons,
            can_confirm=quote is not None and not (reasons and quote.purchased),
            organisation=organisation,
        )

    # Remove (rule 14): form -> review (licences, effective date, fee) -> confirm.

    def remove_view(self, request):
        self._require_manage(request)
        initial = {"licence_type": request.GET.get("licence_type")}
        form = RemoveLicencesForm(
            _posted(request), organisation=organisation_of(request), initial=initial
        )
        review = None
        if request.method == "POST" and form.is_valid():
            organisation = form.target_organisation
            kwargs = {
                "organisation": organisation,
                "licence_type": form.cleaned_data["licence_type"],
                "quantity": form.cleaned_data["quantity"],
            }
            try:
                if "_confirm" in request.POST:
                    result = self.call_service(
                        licences_schedule_removal, actor=request.user, **kwargs
                    )
                    self.message_user(
                        request,
                        f"Scheduled {len(result.licences)} {kwargs['licence_type'].name} "
                        f"licence(s) for removal on {result.effective_on:%d %b %Y}; they stay "
                        f"billed until then. Termination fee: {result.termination_fee} "
                        f"{organisation.currency}.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:licensing_licence_changelist")
                        + f"?status__exact={LicenceStatus.REMOVAL_SCHEDULED}"
                    )
                review = self.call_service(licences_removal_quote, **kwargs)
            except ServiceRefused as exc:
                self._refused(request, exc)
        return self._page(
            request,
            "remove.html",
            "Review the removal" if review else "Remove licences",
            form=form,
            review=review,
            organisation=form.target_organisation if review else organisation_of(request),
        )

    # Terminate one licence by its UUID (rule 14): find it -> confirm -> licence_terminate.

    def terminate_by_uuid_view(self, request):
        self._require_manage(request)
        form = TerminateByUuidForm(_posted(request), licences=self.get_queryset(request))
        if request.method == "POST" and form.is_valid():
            return HttpResponseRedirect(self._url("terminate", form.licence))
        return self._page(
            request, "terminate_by_uuid.html", "Terminate a licence by UUID", form=form
        )

    def terminate_view(self, request, object_id):
        self._require_manage(request)
        licence, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        if request.method == "POST":
            try:
                licence = self.call_service(licence_terminate, licence=licence, actor=request.user)
            except ServiceRefused as exc:
                self._refused(request, exc)
            else:
                self.message_user(
                    request,
                    f"Licence {licence.pk} terminated: it is removed on "
                    f"{licence.removal_effective_on:%d %b %Y} and stays billed until then. "
                    "It can be restored before that date. Termination fee: "
                    f"{licence.termination_fee} {licence.organisation.currency}.",
                    messages.SUCCESS,
                )
            return self._back_to(licence)
        # The review, as the remove review: when it is removed and the fee it causes (rule 16).
        try:
            review = self.call_service(licence_termination_quote, licence=licence)
        except ServiceRefused as exc:
            self._refused(request, exc)
            return self._back_to(licence)
        return self._page(
            request,
            "confirm.html",
            f"Terminate {licence}",
            original=licence,
            review=review,
            effective_on=review.effective_on,
            organisation=licence.organisation,
            action="terminate",
            button="Yes, terminate this licence",
        )

    def restore_view(self, request, object_id):
        self._require_manage(request)
        licence, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        if request.method == "POST":
            try:
                self.call_service(licence_restore, licence=licence, actor=request.user)
            except ServiceRefused as exc:
                # A sentence for a person: what happened and what to do instead.
                self.message_user(request, _refusal_sentence(exc), messages.ERROR)
            else:
                self.message_user(
                    request, f"Licence {licence.pk} restored at no charge.", messages.SUCCESS
                )
            return self._back_to(licence)
        return self._page(
            request,
            "confirm.html",
            f"Restore {licence}",
            original=licence,
            action="restore",
            button="Yes, restore this licence",
        )

    # Assign / unassign (seed: "Manage user").

    def assign_view(self, request, object_id):
        self._require_manage(request)
        licence, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        form = AssignForm(
            request.POST if "_assign" in request.POST else None,
            licence=licence,
            admin_site=self.admin_site,
        )
        if request.method == "POST":
            try:
                if "_unassign" in request.POST:
                    self.call_service(licence_unassign, licence=licence, actor=request.user)
                    self.message_user(
                        request, f"Licence {licence.pk} unassigned.", messages.SUCCESS
                    )
                    return self._back_to(licence)
                if form.is_valid():
                    assignee = form.cleaned_data["member"] or form.cleaned_data["line"]
                    self.call_service(
                        licence_assign,
                        licence=licence,
                        actor=request.user,
                        member=form.cleaned_data["member"],
                        line=form.cleaned_data["line"],
                    )
                    self.message_user(
                        request, f"Licence {licence.pk} assigned to {assignee}.", messages.SUCCESS
                    )
                    return self._back_to(licence)
            except ServiceRefused as exc:
                self._refused(request, exc)
        return self._page(request, "assign.html", f"Assign {licence}", original=licence, form=form)

    # Add-ons (rule 11; seed: "Manage addons").

    def addons_view(self, request, object_id):
        self._require_manage(request)
        licence, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        form = AddonsForm(_posted(request), licence=licence)
        if request.method == "POST" and form.is_valid():
            try:
                _, invoice = self.call_service(
                    licence_set_addons,
                    licence=licence,
                    codes=form.cleaned_data["codes"],
                    actor=request.user,
                )
            except ServiceRefused as exc:
                self._refused(request, exc)
            else:
                message = f"Add-ons of {licence} saved."
                if invoice is not None:
                    message += (
                        f" Add-on licences were bought on invoice {invoice.number} "
                        f"(total {invoice.total} {invoice.currency})."
                    )
                self.message_user(request, message, messages.SUCCESS)
                return self._back_to(licence)
        checkboxes = {box.data["value"]: box for box in form["codes"]}
        availability = [
            {**row, "checkbox": checkboxes.get(row["type"].code)}
            for row in _addon_availability(licence)
        ]
        return self._page(
            request,
            "addons.html",
            f"Add-ons of {licence}",
            original=licence,
            form=form,
            availability=availability,
        )

    # Extension (rule 11).

    def extension_view(self, request, object_id):
        self._require_manage(request)
        licence, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        form = ExtensionForm(_posted(request), initial={"extension": licence.extension})
        if request.method == "POST" and form.is_valid():
            try:
                licence = self.call_service(
                    licence_set_extension,
                    licence=licence,
                    extension=form.cleaned_data["extension"],
                    actor=request.user,
                )
            except ServiceRefused as exc:
                self._refused(request, exc)
            else:
                self.message_user(
                    request,
                    f"Extension of {licence}: {licence.extension or 'none'}.",
                    messages.SUCCESS,
                )
                return self._back_to(licence)
        return self._page(
            request, "extension.html", f"Extension of {licence}", original=licence, form=form
        )

    # --- list actions (they receive the scoped queryset only) -------------------------------

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


def _refusal_sentence(exc: ServiceRefused) -> str:
    """The refusal's own sentence, without its code (the API gives the code)."""
    detail = getattr(exc.cause, "detail", None)
    return str(detail) if detail else exc.message


def _posted(request):
    """The POST data of a submitted form, even an empty one (every add-on unchecked)."""
    return request.POST if request.method == "POST" else None


def _purchase_message(result, licence_type) -> str:
    parts = []
    if result.restored:
        parts.append(f"restored {len(result.restored)} (no charge)")
    if result.purchased:
        parts.append(f"bought {len(result.purchased)}")
    text = f"{licence_type.name}: {' and '.join(parts)}."
    if result.invoice is not None:
        text += (
            f" Invoice {result.invoice.number}: total {result.invoice.total} "
            f"{result.invoice.currency}."
        )
    return text


_ADDON_NOTES = {
    "attached": "attached",
    "restore": "none free: 1 licence scheduled for removal will be restored, no charge",
    "refused": "none free: cannot be added, the licence policy is to block purchases",
    "purchase": "none free: one will be bought, charged pro rata",
}


def _addon_availability(licence: Licence) -> list[dict]:
    """For each add-on the type accepts: attached?, free licences, and what checking it does
    (`licence_addons_preview`: the decisions of `licence_set_addons`)."""
    return [
        {
            "type": option.licence_type,
            "free": option.free,
            "note": f"uses one of {option.free} free licence(s)"
            if option.source == "free"
            else _ADDON_NOTES[option.source],
            "will_buy": option.source in ("purchase", "refused"),
        }
        for option in licence_addons_preview(licence=licence)
    ]


# --- lines -----------------------------------------------------------------------------------


class LineLicenceInline(HeldLicenceInline):
    fk_name = "line"
    verbose_name = "licence"
    verbose_name_plural = "licences held"


@admin.register(Line)
class LineAdmin(TenantAdmin):
    """Room phones, shared lines, fax lines, voice menus, call groups (non-person assignees)."""

    list_display = ("name", "kind", "licence_count", "created_at", "organisation")
    list_filter = ("kind", "organisation")
    search_fields = ("name",)
    list_select_related = ("organisation",)
    ordering = ("kind", "name")
    fields = ("organisation", "kind", "name", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("organisation",)
    inlines = (LineLicenceInline,)
    delete_confirmation_template = "admin/licensing/line/delete_confirmation.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_licences=Count(
                    "licences", filter=~Q(licences__status=LicenceStatus.TERMINATED)
                )
            )
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and is_platform_staff(request):
            readonly.append("organisation")  # a line never moves between organisations
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "organisation" in form.base_fields:
            form.base_fields["organisation"].required = True
        return form

    @admin.display(description="licences", ordering="active_licences")
    def licence_count(self, obj):
        return obj.active_licences

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            self.call_service(
                line_update, line=obj, actor=request.user, kind=data["kind"], name=data["name"]
            )
            return
        line = self.call_service(
            line_create,
            organisation=data.get("organisation") or request.user.organisation,
            kind=data["kind"],
            name=data["name"],
            actor=request.user,
        )
        obj.pk = line.pk
        obj._state.adding = False

    def get_deleted_objects(self, objs, request):
        # Deleting a line frees its licences instead of deleting or protecting them.
        return [str(obj) for obj in objs], {}, set(), []

    def delete_model(self, request, obj):
        self.call_service(line_delete, line=obj, actor=request.user)


# --- catalogue -------------------------------------------------------------------------------


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
