"""The activity log: the audit trail, read-only, in sentences ("Alice Martin bought User licence ·
2fbeee4e"), filterable by member, object and dates, exported as CSV. And the platform-level
models Django and DRF register, which the console leaves out."""

import contextvars
import csv
import datetime as dt
import json
import re

from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from rest_framework.authtoken.models import TokenProxy

from accounts.models import AuditEvent, User
from billing.exports import neutralise
from licensing.models import LicenceType
from numbering.phone import format_for_people
from telecom.admin import (
    TenantAdmin,
    organisation_of,
)

# --- sentences -----------------------------------------------------------------------------------

OBJECT_KINDS = {
    "user": "Member",
    "licence": "Licence",
    "phonenumber": "Number",
    "organisation": "Organisation",
    "invoice": "Invoice",
    "line": "Line",
    "commitment": "Commitment",
    "charge": "Device order",
    "portingrequest": "Porting request",
    "billingdetails": "Billing details",
}

# action -> the predicate after the actor's name; {target} is the object in product words.
VERBS = {
    "member.invited": "invited {target}",
    "member.invitation_resent": "sent a new invitation to {target}",
    "member.reactivated": "reactivated {target}",
    "member.removed": "removed {target}",
    "member.updated": "changed the name or role of {target}",
    "member.joined": "accepted the invitation and joined",
    "member.profile_updated": "updated their profile",
    "member.password_changed": "changed their password",
    "licence.purchased": "bought {target}",
    "licence.assigned": "assigned {target}",
    "licence.unassigned": "unassigned {target}",
    "licence.terminated": "removed {target}",
    "licence.terminated_at_end": "removed {target} at the end of the billing period",
    "licence.removal_scheduled": "scheduled {target} for removal",
    "licence.restored": "restored {target}",
    "licence.extension_set": "set the extension of {target}",
    "licence.addons_set": "changed the add-ons of {target}",
    "number.assigned": "assigned the number {target}",
    "number.released": "released the number {target}",
    "number.reassigned": "moved the number {target}",
    "number.recovered": "recovered the number {target}",
    "number.changed": "changed the number {target}",
    "number.deleted": "deleted the number {target}",
    "organisation.created": "created the organisation {target}",
    "organisation.updated": "changed the organisation's settings",
    "organisation.payment_method_set": "registered a payment method",
    "organisation.limits_updated": "changed the calling-credit cap or the tax rate",
    "organisation.mass_configured": "applied a mass configuration",
    "organisation.close_requested": "asked to close the organisation",
    "organisation.closed": "closed the organisation",
    "invoice.issued": "issued invoice {target}",
    "invoice.paid": "recorded a payment of invoice {target}",
    "invoice.voided": "voided invoice {target}",  # before credit notes (billing migration 0010)
    "credit_note.issued": "issued credit note {target}",
    "invoice.overdue": "marked invoice {target} overdue",
    "line.created": "created the line {target}",
    "line.updated": "changed the line {target}",
    "line.deleted": "deleted the line {target}",
    "device.ordered": "ordered {target}",
    "commitment.created": "made the commitment {target}",
    "commitment.updated": "changed the commitment {target}",
    "commitment.deleted": "ended the commitment {target}",
    "billing_details.changed": "changed the billing details",
    "vat_number.checked": "checked the VAT number",
}

_LICENCE_LABEL = re.compile(r"^(?P<code>[a-z0-9_]+) (?P<short>[0-9a-f]{8})$")
_EMAIL_TAIL = re.compile(r"\s*<[^>]*>$")


def person(label: str) -> str:
    """ "Alice Martin <alice@example.com>" -> "Alice Martin"; no actor: "The system"."""
    if not label or label == "system":
        return "The system"
    return _EMAIL_TAIL.sub("", label) or label


def target_words(event: AuditEvent, type_names: dict[str, str]) -> str:
    label = event.target_label or event.target_id
    if event.target_type == "licence":
        match = _LICENCE_LABEL.match(label)
        if match:
            name = type_names.get(match["code"], match["code"].replace("_", " ").capitalize())
            if not name.lower().endswith("licence"):
                name = f"{name} licence"
            return f"{name} · {match['short']}"
    if event.target_type == "phonenumber":
        return format_for_people(label)
    if event.target_type == "user":
        return person(label)
    return label


def _details(event: AuditEvent) -> str:
    changes = event.changes if isinstance(event.changes, dict) else {}
    if event.action == "licence.purchased" and changes.get("invoice"):
        return f" on invoice {changes['invoice']}"
    if event.action in ("licence.assigned", "number.assigned"):
        holder = changes.get("member") or changes.get("line")
        if holder:
            return f" to {person(str(holder))}"
    if event.action == "member.updated":
        before, after = changes.get("before") or {}, changes.get("after") or {}
        if before.get("role") and after.get("role") and before["role"] != after["role"]:
            return f": role {before['role']} → {after['role']}"
    if event.action == "licence.extension_set" and changes.get("after"):
        return f" to {changes['after']}"
    return ""


def sentence(event: AuditEvent, type_names: dict[str, str]) -> str:
    """Who did what, as a sentence. An action without its own words still reads as one."""
    actor = person(event.actor_label)
    target = target_words(event, type_names)
    verb = VERBS.get(event.action)
    if verb is None:
        subject, _, what = event.action.partition(".")
        kind = OBJECT_KINDS.get(event.target_type, subject.replace("_", " "))
        verb = f"{what.replace('_', ' ') or 'changed'}: {kind.lower()} {{target}}"
    return f"{actor} {verb.format(target=target)}{_details(event)}."


def licence_type_names() -> dict[str, str]:
    return dict(LicenceType.objects.values_list("code", "name"))


# The licence type names of the page being drawn: read once per page, not once per row.
_page_type_names: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "activity_type_names", default=None
)


# --- filters -------------------------------------------------------------------------------------


class _ReadableFilter(admin.SimpleListFilter):
    """A sidebar filter over a code column that shows people's words, never the codes."""

    field = ""

    def label(self, code: str) -> str:
        return code

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).order_by().values_list(self.field, flat=True)
        return sorted(((code, self.label(code)) for code in set(codes)), key=lambda kv: kv[1])

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class ActionFilter(_ReadableFilter):
    title = "what happened"
    parameter_name = "action__exact"
    field = "action"

    def label(self, code: str) -> str:
        # "licence.addons_set" -> "Licence: add-ons set"
        subject, _, verb = code.partition(".")
        words = verb.replace("addons", "add-ons").replace("_", " ")
        return f"{subject.replace('_', ' ').capitalize()}: {words}" if verb else code


class ObjectFilter(_ReadableFilter):
    title = "object"
    parameter_name = "target_type__exact"
    field = "target_type"

    def label(self, code: str) -> str:
        return OBJECT_KINDS.get(code, code.replace("_", " ").capitalize())


class ActivityFilterForm(forms.Form):
    """Member, object and dates, posted as the list's own lookups so the list and the CSV
    export read the same rows."""

    actor__id__exact = forms.ChoiceField(label="Member", required=False)
    target_type__exact = forms.ChoiceField(
        label="Object",
        required=False,
        choices=[("", "All objects"), *sorted(OBJECT_KINDS.items(), key=lambda kv: kv[1])],
    )
    created_at__date__gte = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_at__date__lte = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor__id__exact"].choices = [
            ("", "All members"),
            *((str(pk), name or email) for pk, name, email in members),
        ]


# --- the page ------------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


@admin.register(AuditEvent)
class AuditEventAdmin(TenantAdmin):
    """Who changed what and when (docs/architecture.md), written by the services. Read-only."""

    list_display = (
        "created_at",
        "what",
        "object_kind",
        "organisation",
    )
    list_filter = (ActionFilter, ObjectFilter, "created_at", "organisation")
    search_fields = ("actor_label", "action", "target_label", "target_id")
    date_hierarchy = "created_at"
    list_select_related = ("organisation",)
    change_list_template = "admin/accounts/auditevent/change_list.html"
    fields = (
        "created_at",
        "organisation",
        "actor_label",
        "what",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "changes_pretty",
        "client_address",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="what happened")
    def what(self, obj):
        names = _page_type_names.get()
        return sentence(obj, names if names is not None else licence_type_names())

    @admin.display(description="object", ordering="target_type")
    def object_kind(self, obj):
        return OBJECT_KINDS.get(obj.target_type, obj.target_type)

    @admin.display(description="changes")
    def changes_pretty(self, obj):
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.changes, indent=2, sort_keys=True, default=str)
        )

    def _members(self, request):
        members = User.objects.filter(is_superuser=False)
        organisation = organisation_of(request)
        if organisation is not None:
            members = members.filter(organisation=organisation)
        return members.order_by("name", "email").values_list("pk", "name", "email")

    def changelist_view(self, request, extra_context=None):
        empty = [name for name in ActivityFilterForm.base_fields if request.GET.get(name) == ""]
        if empty:  # the filter form sends its blank fields: drop them ("all")
            query = request.GET.copy()
            for name in empty:
                del query[name]
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        form = ActivityFilterForm(request.GET or None, members=self._members(request))
        query = request.GET.urlencode()
        export_url = reverse("admin:accounts_auditevent_export") + (f"?{query}" if query else "")
        token = _page_type_names.set(licence_type_names())
        try:
            response = super().changelist_view(
                request,
                {
                    "title": "Activity log",
                    "activity_filter": form,
                    "export_url": export_url,
                    **(extra_context or {}),
                },
            )
            if hasattr(response, "render"):
                response.render()  # while the names are set
            return response
        finally:
            _page_type_names.reset(token)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export.csv", wrap(self.export_view), name="accounts_auditevent_export"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The rows the list shows with the same filters, as CSV, streamed; every text cell is
        made safe to open in a spreadsheet (billing/exports.py `neutralise`)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        events = changelist.get_queryset(request).select_related(None).order_by("-created_at")
        names = licence_type_names()
        writer = csv.writer(_Echo())
        zone = timezone.get_current_timezone()

        def rows():
            yield writer.writerow(["When", "Member", "What happened", "Object", "Action"])
            for event in events.iterator(chunk_size=500):
                when = event.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
                yield writer.writerow(
                    [
                        neutralise(when),
                        neutralise(person(event.actor_label)),
                        neutralise(sentence(event, names)),
                        neutralise(OBJECT_KINDS.get(event.target_type, event.target_type)),
                        neutralise(event.action),
                    ]
                )

        stamp = dt.date.today().isoformat()
        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="activity-{stamp}.csv"'
        return response


# Permissions come from roles (accounts.roles), never from groups; the page would only mislead.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


# DRF's token page lists every member's API token in clear: credentials have no place in the
# console. Tokens are obtained through the API and revoked when a member is removed (rule 9).
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
