"""The console's mass configuration page (rule 23), reached from the licences list.

Download the sample, upload a filled file, see the dry-run report (every error with its row,
column and sentence; or every change, the licences it buys and their cost), then confirm: the
apply validates again under the organisation's lock and writes every row or none
(`licensing.mass_config`). The reviewed file waits in storage under a token that only the
reviewing session can confirm, once, so what is applied is exactly what was reviewed.

Hooked into `LicenceAdmin.get_urls` (`mass_config_urls`); the page needs licences.manage.
"""

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.models import Organisation
from licensing.forms import _OrganisationScopedForm
from licensing.mass_config import (
    MassConfigurationInvalid,
    mass_config_apply,
    mass_config_validate,
    sample_csv,
    sample_csv_for,
)
from licensing.mass_config.checks import checked_in_background, mass_config_check_start
from licensing.mass_config.reading import max_bytes
from licensing.mass_config.reviewed import reviewed_path
from licensing.models import MassConfigurationCheck, MassConfigurationCheckStatus
from telecom.admin import organisation_of
from telecom.celery import app as celery_app

CHECK_TASK = "licensing.mass_config_check"  # licensing/tasks.py, which renders with this module


class MassConfigurationUploadForm(_OrganisationScopedForm):
    file = forms.FileField(
        label="CSV file",
        allow_empty_file=True,  # reported by the dry run as `empty_file`
        help_text="Columns Ext Key, Number, User, Addon license 1 … N (see the sample).",
    )


class MassConfigurationConfirmForm(forms.Form):
    """The reviewed file's token: the file itself waits in storage (a 5 MB file would not fit
    in a form field under DATA_UPLOAD_MAX_MEMORY_SIZE once encoded)."""

    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)


def _session_key(token: str) -> str:
    return f"mass_config:{token}"


def _keep_for_confirm(
    request,
    organisation: Organisation,
    data: bytes | None,
    filename: str,
    *,
    token: str | None = None,
) -> str:
    """Store the reviewed bytes (a background check has stored them under its own id, the
    token); only this session may confirm them, once."""
    if token is None:
        token = uuid.uuid4().hex
        default_storage.save(reviewed_path(token), ContentFile(data))
    request.session[_session_key(token)] = {
        "organisation": str(organisation.pk),
        "filename": filename,
    }
    return token


def _take_reviewed(request, token: str) -> tuple[Organisation, bytes, str] | None:
    reviewed = request.session.pop(_session_key(token), None)
    if reviewed is None or not default_storage.exists(reviewed_path(token)):
        return None
    with default_storage.open(reviewed_path(token), "rb") as stored:
        data = stored.read()
    default_storage.delete(reviewed_path(token))
    own = organisation_of(request)
    if own is not None and str(own.pk) != reviewed["organisation"]:
        return None
    organisation = Organisation.objects.filter(pk=reviewed["organisation"]).first()
    if organisation is None:
        return None
    return organisation, data, reviewed["filename"]


def _page(model_admin, request, title: str, **context) -> TemplateResponse:
    return model_admin.action_page(
        request,
        "admin/mass_config/mass_configuration.html",
        title,
        sample_url=reverse("admin:licensing_licence_mass_configuration_sample"),
        page_url=reverse("admin:licensing_licence_mass_configuration"),
        max_megabytes=max_bytes() // (1024 * 1024),
        **context,
    )


def _require_manage(model_admin, request) -> None:
    if not model_admin.can_manage(request):
        raise PermissionDenied


def mass_configuration_view(model_admin, request):
    """Upload → dry-run report → confirm → apply."""
    _require_manage(model_admin, request)
    organisation = organisation_of(request)
    if request.method == "POST" and "_confirm" in request.POST:
        return _confirm(model_admin, request)
    form = MassConfigurationUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        organisation=organisation,
    )
    if request.method != "POST" or not form.is_valid():
        return _page(model_admin, request, "Mass configuration", form=form)
    upload = form.cleaned_data["file"]
    data = upload.read(max_bytes() + 1) if upload.size <= max_bytes() else upload
    target = form.target_organisation
    if isinstance(data, bytes) and checked_in_background(data):
        return _check_in_background(request, target, data, upload.name)
    report = mass_config_validate(organisation=target, file_bytes=data)
    return _review(model_admin, request, target, report, data, upload.name)


def _check_in_background(request, organisation: Organisation, data: bytes, filename: str):
    """A large file: stored and checked by a job; the check's page follows it."""
    with transaction.atomic():
        check = mass_config_check_start(
            organisation=organisation, actor=request.user, data=data, filename=filename
        )
        _keep_for_confirm(request, organisation, None, filename, token=check.pk.hex)
        transaction.on_commit(
            lambda: celery_app.send_task(CHECK_TASK, args=[str(check.pk)], ignore_result=True)
        )
    return HttpResponseRedirect(
        reverse("admin:licensing_licence_mass_configuration_check", args=[check.pk])
    )


def mass_configuration_check_view(model_admin, request, check_id):
    """A background check's page: its progress, then the review and the confirmation. Only the
    session that uploaded the file sees it (another organisation's check is a 404 too)."""
    _require_manage(model_admin, request)
    reviewed = request.session.get(_session_key(check_id.hex))
    own = organisation_of(request)
    check = MassConfigurationCheck.objects.select_related("organisation").filter(pk=check_id)
    check = check.filter(organisation=own).first() if own is not None else check.first()
    if reviewed is None or check is None:
        raise Http404
    confirm = None
    if check.status == MassConfigurationCheckStatus.DONE and check.ok:
        confirm = MassConfigurationConfirmForm(initial={"token": check.pk.hex})
    title = {
        MassConfigurationCheckStatus.DONE: (
            "Review the mass configuration" if check.ok else "The file has errors"
        ),
        MassConfigurationCheckStatus.FAILED: "The file could not be checked",
    }.get(check.status, "Checking the file")
    return _page(
        model_admin,
        request,
        title,
        form=MassConfigurationUploadForm(organisation=own),
        check=check,
        confirm_form=confirm,
        filename=check.filename,
        organisation=check.organisation,
    )


def render_review(check: MassConfigurationCheck, report) -> str:
    """The review of a background check, rendered once for its page (licensing.tasks)."""
    return render_to_string(
        "admin/mass_config/review.html",
        {
            "report": report,
            "summary": report.summary if report.ok else None,
            "filename": check.filename,
            "organisation": check.organisation,
            "console_is_platform_staff": bool(
                check.requested_by_id and check.requested_by.is_superuser
            ),
        },
    )


def _review(model_admin, request, organisation: Organisation, report, data, filename: str):
    confirm = None
    if report.ok:
        token = _keep_for_confirm(request, organisation, data, filename)
        confirm = MassConfigurationConfirmForm(initial={"token": token})
    return _page(
        model_admin,
        request,
        "Review the mass configuration" if report.ok else "The file has errors",
        form=MassConfigurationUploadForm(organisation=organisation_of(request)),
        report=report,
        summary=report.summary if report.ok else None,
        confirm_form=confirm,
        filename=filename,
        organisation=organisation,
    )


def _confirm(model_admin, request):
    form = MassConfigurationConfirmForm(request.POST)
    reviewed = _take_reviewed(request, form.cleaned_data["token"]) if form.is_valid() else None
    if reviewed is None:
        model_admin.message_user(
            request, "The reviewed file is no longer available; upload it again.", messages.ERROR
        )
        return HttpResponseRedirect(reverse("admin:licensing_licence_mass_configuration"))
    target, data, filename = reviewed
    try:
        summary = mass_config_apply(organisation=target, actor=request.user, file_bytes=data)
    except MassConfigurationInvalid as exc:
        # Something changed since the review (a number taken, an extension set): the apply
        # validated again and wrote nothing; show its errors.
        model_admin.message_user(
            request, "Nothing was applied: the file no longer validates.", messages.ERROR
        )
        return _review(model_admin, request, target, exc.report, data, filename)
    bought = (
        f" Bought {summary.licences_purchased} licence(s) for {summary.total} "
        f"{summary.currency} (invoice {summary.invoice.number})."
        if summary.invoice is not None
        else ""
    )
    restored = (
        f" Restored {summary.licences_restored} licence(s) scheduled for removal, no charge."
        if summary.licences_restored
        else ""
    )
    model_admin.message_user(
        request,
        f"Applied {filename}: {summary.extensions} extension(s), "
        f"{summary.numbers_assigned} number(s) assigned, {summary.addons_attached} add-on(s) "
        f"attached, {summary.addons_detached} detached.{restored}{bought}",
        messages.SUCCESS,
    )
    return HttpResponseRedirect(reverse("admin:licensing_licence_changelist"))


def mass_configuration_sample_view(model_admin, request):
    _require_manage(model_admin, request)
    organisation = organisation_of(request)
    # The organisation's own members, free numbers and add-ons: uploaded as it is, it validates.
    # Platform staff (no organisation of their own) get the generic example.
    data = sample_csv_for(organisation) if organisation is not None else sample_csv()
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="mass-configuration-sample.csv"'
    return response


def mass_config_urls(model_admin) -> list:
    """The page's routes, for `LicenceAdmin.get_urls` (before its `<path:object_id>/` routes)."""
    wrap = model_admin.admin_site.admin_view
    return [
        path(
            "mass-configuration/",
            wrap(lambda request: mass_configuration_view(model_admin, request)),
            name="licensing_licence_mass_configuration",
        ),
        path(
            "mass-configuration/checks/<uuid:check_id>/",
            wrap(
                lambda request, check_id: mass_configuration_check_view(
                    model_admin, request, check_id
                )
            ),
            name="licensing_licence_mass_configuration_check",
        ),
        path(
            "mass-configuration/sample/",
            wrap(lambda request: mass_configuration_sample_view(model_admin, request)),
            name="licensing_licence_mass_configuration_sample",
        ),
    ]
