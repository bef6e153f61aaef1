"""Lines (rooms, shared phones) and the licences they hold."""

from django.contrib import admin
from django.db.models import Count, Q

from licensing.admin.licences import HeldLicenceInline
from licensing.models import (
    LicenceStatus,
    Line,
)
from licensing.services import (
    line_create,
    line_delete,
    line_update,
)
from telecom.admin import (
    TenantAdmin,
    is_platform_staff,
)


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
