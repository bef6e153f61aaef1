"""The licence pages beside the list, each a small form that calls one service: buy and remove
with a review, terminate, restore, assign, add-ons and the extension."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.models import LicencePolicy
from accounts.selectors import organisation_restriction_reasons
from licensing.forms import (
    AddonsForm,
    AssignForm,
    BuyLicencesForm,
    ExtensionForm,
    RemoveLicencesForm,
    TerminateByUuidForm,
)
from licensing.models import (
    Licence,
    LicenceStatus,
)
from licensing.selectors import (
    free_licences,
    restorable_licences,
)
from licensing.services import (
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
)
from telecom.admin import (
    ServiceRefused,
    organisation_of,
)


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


def _addon_availability(licence: Licence) -> list[dict]:
    """For each add-on the type accepts: attached?, free licences, and what checking it does."""
    organisation = licence.organisation
    attached = {a.licence_type.code for a in licence.addons.select_related("licence_type")}
    rows = []
    for addon_type in licence.licence_type.addons.order_by("sort_order", "code"):
        free = free_licences(organisation=organisation, licence_type=addon_type).count()
        restorable = (
            not free
            and restorable_licences(organisation=organisation, licence_type=addon_type).exists()
        )
        if addon_type.code in attached:
            note = "attached"
        elif free:
            note = f"uses one of {free} free licence(s)"
        elif restorable:  # rule 13, as licence_set_addons does it
            note = "none free: 1 licence scheduled for removal will be restored, no charge"
        elif organisation.licence_policy == LicencePolicy.BLOCK:
            note = "none free: cannot be added, the licence policy is to block purchases"
        else:
            note = "none free: one will be bought, charged pro rata"
        rows.append(
            {
                "type": addon_type,
                "free": free,
                "note": note,
                "will_buy": not free and not restorable and addon_type.code not in attached,
            }
        )
    return rows


class LicencePages:
    """The licence pages beside the list: buy and remove with a review, terminate, restore,
    assign, add-ons and the extension. Mixed into `LicenceAdmin`."""

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
