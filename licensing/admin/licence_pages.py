"""The licence pages beside the list, each a small form that calls one service: buy and remove
with a review, terminate, restore, assign, add-ons and the extension."""

from collections import Counter

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse

from billing.restriction import organisation_restriction_reasons
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
    LicenceType,
    held_numbers,
)
from licensing.selectors import licence_type_prices
from licensing.services import (
    licence_addons_preview,
    licence_addons_quote,
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
    ActionPages,
    ReviewThenConfirm,
    ServiceRefused,
    organisation_of,
    posted,
)

_KINDS = {
    "any": "number",  # of any type
    "landline": "landline",
    "mobile": "mobile",
    "toll_free": "toll-free number",
}


def capacity_in_words(capacity: dict) -> str:
    """A licence type's number capacity as a person reads it: "1 landline and 3 mobiles"."""
    parts = [
        f"{count} {_KINDS.get(kind, kind.replace('_', ' '))}{'s' if count != 1 else ''}"
        for kind, count in sorted(
            (capacity or {}).items(),
            key=lambda item: list(_KINDS).index(item[0]) if item[0] in _KINDS else len(_KINDS),
        )
        if count
    ]
    if not parts:
        return "No numbers"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def numbers_on(licence: Licence) -> list:
    """The numbers a licence holds, on it and on its add-ons (held: assigned or porting in)."""
    return list(
        held_numbers()
        .filter(Q(licence=licence) | Q(licence__base_licence=licence))
        .order_by("e164")
    )


def termination_blocked(licence: Licence) -> str:
    """Why terminating this licence is not offered, or "" (assigned, or holding numbers or
    add-ons: unassign it and move them first)."""
    if licence.member_id or licence.line_id:
        return "it is assigned; unassign it first."
    if licence.base_licence_id:
        return "it is attached to a base licence as an add-on; detach it first."
    if numbers_on(licence):
        return "it holds numbers; reassign or delete them first."
    if licence.addons.exists():
        return "it has add-ons; detach them first."
    return ""


def _refusal_sentence(exc: ServiceRefused) -> str:
    """The refusal's own sentence, without its code (the API gives the code)."""
    detail = getattr(exc.cause, "detail", None)
    return str(detail) if detail else exc.message


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


_ADDON_SOURCES = {
    "free": "uses a free licence you already pay for: no charge",
    "restore": "a licence scheduled for removal will be restored, no charge",
    "purchase": "a licence will be bought, charged pro rata",
}


def _addons_message(licence: Licence, invoice) -> str:
    message = f"Add-ons of {licence} saved."
    if invoice is not None:
        message += (
            f" Add-on licences were bought on invoice {invoice.number}, total "
            f"{invoice.total} {invoice.currency}."
        )
    return message


def _licence_form_kwargs(model_admin, request) -> dict:
    return {
        "organisation": organisation_of(request),
        "initial": {"licence_type": request.GET.get("licence_type")},
    }


def _licences_of_type(form) -> dict:
    return {
        "organisation": form.target_organisation,
        "licence_type": form.cleaned_data["licence_type"],
        "quantity": form.cleaned_data["quantity"],
    }


def _price_list(organisation) -> list[dict]:
    """Each type's price in the organisation's currency and billing frequency, and how many
    of its licences are free now (active, nobody's, not an add-on attached)."""
    prices = licence_type_prices(
        currency=organisation.currency, frequency=organisation.billing_frequency
    )
    free = Counter(
        Licence.objects.filter(organisation=organisation)
        .free()
        .values_list("licence_type_id", flat=True)
    )
    return [
        {"type": t, "price": prices[t.code], "free": free[t.pk]}
        for t in LicenceType.objects.order_by("kind", "sort_order", "code")
        if t.code in prices
    ]


def _buy_context(request, form, quote) -> dict:
    organisation = form.target_organisation if quote else organisation_of(request)
    reasons = organisation_restriction_reasons(organisation) if organisation else []
    price_list = _price_list(organisation) if organisation else []
    free_now = 0
    if quote is not None:
        chosen = form.cleaned_data["licence_type"]
        free_now = next((row["free"] for row in price_list if row["type"] == chosen), 0)
    return {
        "quote": quote,
        "restriction_reasons": reasons,
        "can_confirm": quote is not None and not (reasons and quote.purchased),
        "organisation": organisation,
        "price_list": price_list,
        "frequency": (organisation.get_billing_frequency_display().lower() if organisation else ""),
        "free_now": free_now,
        "free_url": (
            reverse("admin:licensing_licence_changelist")
            + f"?licence_type__id__exact={form.cleaned_data['licence_type'].pk}"
            + "&assignment=unassigned"
            if quote is not None
            else ""
        ),
    }


BUY = ReviewThenConfirm(
    form=BuyLicencesForm,
    form_kwargs=_licence_form_kwargs,
    arguments=_licences_of_type,
    preview=licences_purchase_quote,
    service=licences_purchase,
    message=lambda result, form: _purchase_message(result, form.cleaned_data["licence_type"]),
    success_url=lambda result, form: (
        reverse("admin:licensing_licence_changelist")
        + f"?licence_type__id__exact={form.cleaned_data['licence_type'].pk}"
    ),
    template="buy.html",
    title="Buy licences",
    review_title="Review the purchase",
    context=_buy_context,
)

REMOVE = ReviewThenConfirm(
    form=RemoveLicencesForm,
    form_kwargs=_licence_form_kwargs,
    arguments=_licences_of_type,
    preview=licences_removal_quote,
    service=licences_schedule_removal,
    message=lambda result, form: (
        f"Scheduled {len(result.licences)} {form.cleaned_data['licence_type'].name} "
        f"licence(s) for removal on {result.effective_on:%d %b %Y}; they stay "
        f"billed until then. Termination fee: {result.termination_fee} "
        f"{form.target_organisation.currency}."
    ),
    success_url=lambda result, form: (
        reverse("admin:licensing_licence_changelist")
        + f"?status__exact={LicenceStatus.REMOVAL_SCHEDULED}"
    ),
    template="remove.html",
    title="Remove licences",
    review_title="Review the removal",
    context=lambda request, form, review: {
        "organisation": form.target_organisation if review else organisation_of(request)
    },
    review_after_refusal=False,
)


class LicencePages(ActionPages):
    """The licence pages beside the list: buy and remove with a review, terminate, restore,
    assign, add-ons and the extension. Mixed into `LicenceAdmin`."""

    page_templates = "admin/licensing/licence"

    def _require_manage(self, request) -> None:
        if not self.can_manage(request):
            raise PermissionDenied

    def _back_to(self, licence: Licence) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:licensing_licence_change", args=[licence.pk]))

    # Buy (rule 13): form -> review with the exact pro rata -> confirm.

    def buy_view(self, request):
        self._require_manage(request)
        return BUY(self, request)

    # Remove (rule 14): form -> review (licences, effective date, fee) -> confirm.

    def remove_view(self, request):
        self._require_manage(request)
        return REMOVE(self, request)

    # Terminate one licence by its UUID (rule 14): find it -> confirm -> licence_terminate.

    def terminate_by_uuid_view(self, request):
        self._require_manage(request)
        form = TerminateByUuidForm(posted(request), licences=self.get_queryset(request))
        if request.method == "POST" and form.is_valid():
            return HttpResponseRedirect(self._url("terminate", form.licence))
        return self.action_page(
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
                self.refused(request, exc)
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
            self.refused(request, exc)
            return self._back_to(licence)
        return self.action_page(
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
        return self.action_page(
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
                self.refused(request, exc)
        return self.action_page(
            request,
            "assign.html",
            f"Assign {licence}",
            original=licence,
            form=form,
            numbers=numbers_on(licence),
        )

    # Add-ons (rule 11; seed: "Manage addons").

    def addons_view(self, request, object_id):
        """Check the add-ons -> review (what is attached, restored or bought and its price,
        what is detached and stays billed) -> confirm (`licence_set_addons`)."""
        self._require_manage(request)
        licence, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        form = AddonsForm(posted(request), licence=licence)
        review = None
        if request.method == "POST" and form.is_valid():
            codes = form.cleaned_data["codes"]
            try:
                if "_confirm" in request.POST:
                    _, invoice = self.call_service(
                        licence_set_addons, licence=licence, codes=codes, actor=request.user
                    )
                    self.message_user(request, _addons_message(licence, invoice), messages.SUCCESS)
                    return self._back_to(licence)
                review = self.call_service(licence_addons_quote, licence=licence, codes=codes)
            except ServiceRefused as exc:
                self.refused(request, exc)
        if review is not None:
            return self.action_page(
                request,
                "addons_review.html",
                f"Review the add-ons of {licence}",
                original=licence,
                form=form,
                review=review,
                attach=[
                    {"type": addon_type, "note": _ADDON_SOURCES[source], "source": source}
                    for addon_type, source in review.attach
                ],
                remove_url=reverse("admin:licensing_licence_remove"),
            )
        checkboxes = {box.data["value"]: box for box in form["codes"]}
        availability = [
            {**row, "checkbox": checkboxes.get(row["type"].code)}
            for row in _addon_availability(licence)
        ]
        return self.action_page(
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
        form = ExtensionForm(posted(request), initial={"extension": licence.extension})
        if request.method == "POST" and form.is_valid():
            try:
                licence = self.call_service(
                    licence_set_extension,
                    licence=licence,
                    extension=form.cleaned_data["extension"],
                    actor=request.user,
                )
            except ServiceRefused as exc:
                self.refused(request, exc)
            else:
                self.message_user(
                    request,
                    f"Extension of {licence}: {licence.extension or 'none'}.",
                    messages.SUCCESS,
                )
                return self._back_to(licence)
        return self.action_page(
            request, "extension.html", f"Extension of {licence}", original=licence, form=form
        )
