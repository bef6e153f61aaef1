"""The console's porting requests (rule 20): list, new request, request page, cancel, document.

Thin: the form parses, `numbering.porting` decides. A new request's field errors (`rio_required`,
`invalid_rio`, `document_required`, `porting_date_too_soon`, `invalid_number`,
`number_already_active`...) are shown on the form's fields; rule refusals (409 in the API) as a
message. The request page shows every transition (PortingEvent) and links the document, which
only the request's organisation can download.

Not registered on import of this module: `register(site)` does it, called at the end of
`numbering.admin` (the admin tenancy walker's worlds each hold a porting request).
Permissions come from the role matrix (numbers.read_all to read, numbers.manage to request
and cancel), since accounts.roles' MODEL_PERMISSIONS does not name this model.
"""

import re
import secrets

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.models import MemberStatus, Organisation, User
from accounts.roles import Cap, has_capability
from numbering import porting
from numbering.admin.flows import preview_statement
from numbering.models import OPEN_PORTING_STATUSES, NumberType, PortingRequest
from telecom.admin import ServiceRefused, TenantAdmin, call_service, organisation_of

DRAFTS = "porting-drafts"  # documents kept between the review and the confirm step
_DRAFT_TOKEN = re.compile(r"[0-9a-f]{32}")


class PortingRequestForm(forms.Form):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"),
        help_text="Platform staff: the organisation to act for.",
    )
    e164 = forms.CharField(label="Number", max_length=32, help_text="E.g. +33612345678.")
    type = forms.ChoiceField(choices=NumberType.choices)
    member = forms.ModelChoiceField(queryset=User.objects.none())
    porting_date = forms.DateField(
        label="Wished porting date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=f"At least {porting.min_working_days()} working days ahead.",
    )
    rio = forms.CharField(
        label="RIO",
        required=False,
        max_length=32,
        help_text="French mobiles: 12 characters (call 3179 from the line to get it).",
    )
    document = forms.FileField(
        required=False,
        allow_empty_file=True,
        help_text="Other numbers: a recent bill or a signed mandate (PDF or image).",
    )

    def __init__(self, *args, organisation: Organisation | None, **kwargs):
        super().__init__(*args, **kwargs)
        self._organisation = organisation
        members = User.objects.filter(is_superuser=False).exclude(status=MemberStatus.DEACTIVATED)
        if organisation is not None:
            del self.fields["organisation"]
            members = members.filter(organisation=organisation)
        self.fields["member"].queryset = members.order_by("name", "email")

    document_draft = forms.CharField(required=False, widget=forms.HiddenInput)

    def document_file(self):
        """The document uploaded now, else the one kept from the review step (the browser does
        not send a file twice), else None."""
        uploaded = self.cleaned_data.get("document")
        if uploaded is not None:
            return uploaded
        name = self._draft_name()
        if name and default_storage.exists(name):
            with default_storage.open(name) as stored:
                filename = self.cleaned_data["document_draft"].partition("/")[2] or "document"
                return ContentFile(stored.read(), name=filename)
        return None

    def _draft_name(self) -> str | None:
        """The kept document's storage name: the organisation's folder and a random token."""
        token = (self.cleaned_data.get("document_draft") or "").split("/")[0]
        if not _DRAFT_TOKEN.fullmatch(token):
            return None
        return f"{DRAFTS}/{self.target_organisation.pk}/{token}"

    def keep_draft(self, document) -> None:
        """Keep an uploaded document for the confirm step; its token rides in a hidden field."""
        if document is None or self._draft_name():
            return
        token = secrets.token_hex(16)
        document.seek(0)
        default_storage.save(
            f"{DRAFTS}/{self.target_organisation.pk}/{token}", ContentFile(document.read())
        )
        filename = re.sub(r"[^A-Za-z0-9._-]", "_", getattr(document, "name", "") or "document")
        self.data = self.data.copy()
        self.data["document_draft"] = f"{token}/{filename[-80:]}"

    def discard_draft(self) -> None:
        name = self._draft_name()
        if name:
            default_storage.delete(name)

    def clean(self):
        cleaned = super().clean()
        member = cleaned.get("member")
        target = self._organisation or cleaned.get("organisation")
        if member is not None and target is not None and member.organisation_id != target.pk:
            self.add_error("member", "This member is not in the organisation.")
        return cleaned

    @property
    def target_organisation(self) -> Organisation:
        return self._organisation or self.cleaned_data["organisation"]

    def add_service_errors(self, exc: ValidationError) -> None:
        """The service's field errors onto the form's fields (`type` and `e164` included)."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for field, errors in exc.error_dict.items():
            target = field if field in self.fields else None
            for error in errors:
                # The sentence for people; the code stays on the error (and in the API).
                self.add_error(target, ValidationError(" ".join(error.messages), code=error.code))


class PortingRequestAdmin(TenantAdmin):
    list_display = (
        "e164",
        "number_type",
        "member_label",
        "porting_date",
        "status",
        "created_at",
        "organisation",
    )
    list_filter = ("status", "number_type")
    search_fields = ("e164", "member__name", "member__email")
    ordering = ("-created_at", "-id")
    list_select_related = ("member", "organisation")

    # --- permissions: the role matrix ---------------------------------------------------------

    def has_module_permission(self, request):
        return has_capability(request.user, Cap.NUMBERS_READ_ALL)

    def has_view_permission(self, request, obj=None):
        return has_capability(request.user, Cap.NUMBERS_READ_ALL)

    def has_add_permission(self, request):
        return has_capability(request.user, Cap.NUMBERS_MANAGE)

    def has_change_permission(self, request, obj=None):
        return False  # a request changes only by its transitions

    def has_delete_permission(self, request, obj=None):
        return False

    def can_manage(self, request) -> bool:
        return has_capability(request.user, Cap.NUMBERS_MANAGE)

    @admin.display(description="member", ordering="member__name")
    def member_label(self, obj):
        return obj.member.name or obj.member.email

    # --- routes -------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/cancel/",
                wrap(self.cancel_view),
                name="numbering_portingrequest_cancel",
            ),
            path(
                "<path:object_id>/document/",
                wrap(self.document_view),
                name="numbering_portingrequest_document",
            ),
            *super().get_urls(),
        ]

    def _page(self, request, template: str, title: str, **context) -> TemplateResponse:
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            f"admin/porting/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "subtitle": None,
                "changelist_url": reverse("admin:numbering_portingrequest_changelist"),
                **context,
            },
        )

    # --- new request: form -> priced review -> confirm ----------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        """A porting request reserves a licence slot, which may restore or buy a licence: the
        review shows where the slot is taken and what it costs (`porting_request_preview`, the
        service's own decisions read-only) before anything changes."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        posted = request.method == "POST"
        form = PortingRequestForm(
            request.POST if posted else None,
            request.FILES if posted else None,
            organisation=organisation_of(request),
        )
        preview = None
        if posted and form.is_valid():
            data = form.cleaned_data
            document = form.document_file()
            arguments = {
                "organisation": form.target_organisation,
                "e164": data["e164"],
                "number_type": data["type"],
                "member": data["member"],
                "porting_date": data["porting_date"],
                "rio": data.get("rio") or None,
                "document": document,
            }
            try:
                if "_confirm" in request.POST:
                    created = call_service(
                        porting.porting_request_create, actor=request.user, **arguments
                    )
                    form.discard_draft()
                    self.message_user(request, _submitted_message(created), messages.SUCCESS)
                    return HttpResponseRedirect(
                        reverse("admin:numbering_portingrequest_change", args=[created.pk])
                    )
                preview = call_service(porting.porting_request_preview, **arguments)
                form.keep_draft(document)
            except ServiceRefused as exc:
                if isinstance(exc.cause, ValidationError):
                    form.add_service_errors(exc.cause)
                else:
                    self.message_user(request, exc.message, messages.ERROR)
        if preview is not None:
            return self._page(
                request,
                "review.html",
                "Review the porting request",
                form=form,
                preview=preview,
                statement=preview_statement(preview, form.cleaned_data["member"]),
            )
        return self._page(request, "add.html", "New porting request", form=form)

    # --- the request's page ---------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj, missing = self.object_or_missing(request, object_id)
        if missing is not None:
            return missing
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return self._page(
            request,
            "request.html",
            f"Porting {obj.e164}",
            original=obj,
            events=porting.porting_events(porting_request=obj),
            can_cancel=self.can_manage(request) and obj.status in OPEN_PORTING_STATUSES,
            document_url=(
                reverse("admin:numbering_portingrequest_document", args=[obj.pk])
                if obj.document
                else None
            ),
        )

    def cancel_view(self, request, object_id):
        obj, missing = self.object_or_missing(request, object_id)
        if missing is not None:
            return missing
        if not self.can_manage(request):
            raise PermissionDenied
        page = reverse("admin:numbering_portingrequest_change", args=[obj.pk])
        if request.method == "POST":
            try:
                call_service(
                    porting.porting_request_cancel, porting_request=obj, actor=request.user
                )
            except ServiceRefused as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Porting request for {obj.e164} cancelled; its licence slot is free again.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(page)
        return self._page(request, "cancel.html", f"Cancel porting {obj.e164}", original=obj)

    def document_view(self, request, object_id):
        obj, missing = self.object_or_missing(request, object_id)
        if missing is not None:
            return missing
        try:
            document = porting.porting_document_open(
                organisation=organisation_of(request), porting_request_id=obj.pk
            )
        except ObjectDoesNotExist as exc:
            raise Http404("This porting request has no document.") from exc
        return FileResponse(
            document.file,
            as_attachment=True,
            filename=document.filename,
            content_type=document.content_type,
        )


def _submitted_message(created: PortingRequest) -> str:
    """What the submission did, and the invoice of a licence bought for it, with its total."""
    text = (
        f"Porting request for {created.e164} submitted; a slot is reserved on "
        f"licence {created.licence_id}."
    )
    invoice = created.purchase_invoice
    if invoice is not None:
        text += (
            f" A licence was bought: invoice {invoice.number}, total {invoice.total} "
            f"{invoice.currency}."
        )
    return text


def register(site: admin.AdminSite | None = None) -> None:
    """Put the porting requests into the console (see the module's docstring)."""
    (site or admin.site).register(PortingRequest, PortingRequestAdmin)
