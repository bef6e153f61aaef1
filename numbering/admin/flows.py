"""The flows that change numbers, each ending in one service call after a page that says what
will happen. Mixed into the numbers admin (numbering.admin.numbers)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse

from licensing.models import Licence
from licensing.selectors import licence_type_price
from numbering.admin.forms import (
    AssigneeForm,
    AssignNumberForm,
    ChangeNumberForm,
    RecoverForm,
    posted_data,
)
from numbering.capacity import has_changes_left
from numbering.carriers import carrier
from numbering.models import NumberStatus, NumberType, PhoneNumber
from numbering.selectors import number_history, number_holder
from numbering.services import (
    number_assign,
    number_assign_preview,
    number_change,
    number_delete,
    number_reassign,
    number_reassign_preview,
    number_recover,
    number_recover_preview,
)
from telecom import errors
from telecom.admin import (
    ActionPages,
    ServiceRefused,
    is_platform_staff,
    organisation_of,
    refusal_message,
)

# --- what a review says --------------------------------------------------------------------------


def _licence_label(licence: Licence) -> str:
    return f"licence {licence.pk} ({licence.licence_type.name})"


def preview_statement(preview, assignee) -> str:
    """One sentence for the review: where the number goes and whether a licence is bought."""
    if preview.refusal is not None:
        return refusal_message(preview.refusal)
    match preview.source:
        case "unchanged":
            return f"The number is already {assignee}'s: nothing changes."
        case "moves":
            return (
                f"The number moves to {assignee} with its {_licence_label(preview.licence)}, "
                "which holds only this number. No licence is bought: nothing is charged."
            )
        case "given":
            return (
                f"The number goes on the {_licence_label(preview.licence)} you chose. "
                "No licence is bought: nothing is charged."
            )
        case "held":
            return (
                f"The number goes on {assignee}'s {_licence_label(preview.licence)}, which has a "
                "free slot. No licence is bought: nothing is charged."
            )
        case "free":
            return (
                f"The number takes the free {_licence_label(preview.licence)}, which becomes "
                f"{assignee}'s. No licence is bought: nothing is charged."
            )
    quote = preview.quote
    if preview.source == "restore":
        return (
            f"No free licence of the type {preview.licence_type.name} is available: "
            f"{quote.restore_note} It becomes {assignee}'s."
        )
    return (
        f"No free licence of the type {preview.licence_type.name} is available: one will be "
        f"bought and charged pro rata, {quote.subtotal} {quote.currency} + "
        f"{quote.tax} {quote.currency} tax = {quote.total} {quote.currency}."
    )


class NumberFlows(ActionPages):
    """Assign, reassign, change, delete and recover: pages and list actions."""

    page_templates = "admin/numbering/phonenumber"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("assign/", wrap(self.assign_view), name="numbering_phonenumber_assign"),
            path(
                "<path:object_id>/reassign/",
                wrap(self.reassign_view),
                name="numbering_phonenumber_reassign",
            ),
            path(
                "<path:object_id>/change-number/",
                wrap(self.change_number_view),
                name="numbering_phonenumber_change_number",
            ),
            path(
                "<path:object_id>/delete-number/",
                wrap(self.delete_number_view),
                name="numbering_phonenumber_delete_number",
            ),
            path(
                "<path:object_id>/recover/",
                wrap(self.recover_view),
                name="numbering_phonenumber_recover",
            ),
            *super().get_urls(),
        ]

    def _require_manage(self, request) -> None:
        if not self.can_manage(request):
            raise PermissionDenied

    def _to_number(self, number: PhoneNumber) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:numbering_phonenumber_change", args=[number.pk]))

    # Assign (rules 1-5 and 18): choose -> review (numbers, licence, price) -> confirm.

    def assign_view(self, request):
        self._require_manage(request)
        organisation = organisation_of(request)
        initial = {key: request.GET[key] for key in ("member", "line") if key in request.GET}
        form = AssignNumberForm(
            posted_data(request),
            organisation=organisation,
            admin_site=self.admin_site,
            initial=initial,
        )
        preview = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            kwargs = {
                "organisation": form.target_organisation,
                "country": data["country"],
                "number_type": data["number_type"],
                "member": data["member"],
                "line": data["line"],
                "licence_type": data["licence_type"],
            }
            if "_confirm" in request.POST:
                try:
                    result = self.call_service(
                        number_assign, actor=request.user, e164=data["e164"] or None, **kwargs
                    )
                except ServiceRefused as exc:
                    self.refused(request, exc)
                else:
                    self.message_user(
                        request, _assigned_message(result, form.assignee), messages.SUCCESS
                    )
                    return self._to_number(result.number)
            try:
                preview = self.call_service(
                    number_assign_preview,
                    e164=data["e164"] or None,
                    contains=data["contains"],
                    **kwargs,
                )
            except ServiceRefused as exc:
                self.refused(request, exc)
        return self.action_page(
            request,
            "assign.html",
            "Review the assignment" if preview else "Assign a number",
            form=form,
            preview=preview,
            statement=preview_statement(preview, form.assignee) if preview else "",
            picked=form.cleaned_data.get("e164", "") if preview else "",
            kind=NumberType(form.cleaned_data["number_type"]).label.lower() if preview else "",
            can_confirm=preview is not None and preview.refusal is None,
            buy_offer=_buy_offer(preview, form.target_organisation) if preview else None,
        )

    # Reassign (rule 7): choose the member or line -> review -> confirm.

    def reassign_view(self, request, object_id):
        self._require_manage(request)
        number, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        form = AssigneeForm(
            posted_data(request), organisation=number.organisation, admin_site=self.admin_site
        )
        preview = None
        if request.method == "POST" and form.is_valid():
            target = {"member": form.cleaned_data["member"], "line": form.cleaned_data["line"]}
            if "_confirm" in request.POST:
                try:
                    self.call_service(number_reassign, number=number, actor=request.user, **target)
                except ServiceRefused as exc:
                    self.refused(request, exc)
                else:
                    self.message_user(
                        request, f"{number} reassigned to {form.assignee}.", messages.SUCCESS
                    )
                    return self._to_number(number)
            try:
                preview = self.call_service(number_reassign_preview, number=number, **target)
            except ServiceRefused as exc:
                self.refused(request, exc)
        return self.action_page(
            request,
            "reassign.html",
            f"Reassign {number}",
            original=number,
            form=form,
            holder=_holder_label(number),
            preview=preview,
            statement=preview_statement(preview, form.assignee) if preview else "",
            can_confirm=preview is not None and preview.refusal is None,
        )

    # Change (rule 8): the numbers available -> confirm.

    def change_number_view(self, request, object_id):
        self._require_manage(request)
        number, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        form = ChangeNumberForm(posted_data(request))
        if request.method == "POST" and form.is_valid():
            try:
                new = self.call_service(
                    number_change,
                    number=number,
                    actor=request.user,
                    e164=form.cleaned_data["e164"] or None,
                )
            except ServiceRefused as exc:
                self.refused(request, exc)
            else:
                old = PhoneNumber.objects.get(pk=number.pk)
                self.message_user(
                    request,
                    f"{old} was changed to {new}, on the same licence. {old} is in quarantine "
                    f"until {old.quarantine_ends_on:%d %b %Y}.",
                    messages.SUCCESS,
                )
                return self._to_number(new)
        licence = number.licence
        changes, changes_refused = (
            _changes_statement(licence) if licence is not None else ("", False)
        )
        available = carrier().search(
            country=number.country, number_type=number.number_type, limit=20
        )
        return self.action_page(
            request,
            "change.html",
            f"Change {number}",
            original=number,
            form=form,
            changes=changes,
            changes_refused=changes_refused,
            available=available,
            can_confirm=number.status == NumberStatus.ASSIGNED,
        )

    # Delete (rule 6): confirm -> quarantine.

    def delete_number_view(self, request, object_id):
        self._require_manage(request)
        number, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        if request.method == "POST":
            try:
                deleted = self.call_service(number_delete, number=number, actor=request.user)
            except ServiceRefused as exc:
                self.refused(request, exc)
                return self._to_number(number)
            self.message_user(
                request,
                f"{deleted} deleted: in quarantine until {deleted.quarantine_ends_on:%d %b %Y}. "
                "Its licence stays assigned and billed until it is removed.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:numbering_phonenumber_changelist"))
        return self.action_page(
            request,
            "delete.html",
            f"Delete {number}",
            original=number,
            holder=_holder_label(number),
        )

    # Recover (rule 6): platform staff, during the quarantine.

    def recover_view(self, request, object_id):
        number, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        if not is_platform_staff(request):
            raise PermissionDenied
        form = RecoverForm(
            posted_data(request), organisation=number.organisation, admin_site=self.admin_site
        )
        preview = None
        if request.method == "POST" and form.is_valid():
            target = {"member": form.cleaned_data["member"], "line": form.cleaned_data["line"]}
            if "_confirm" in request.POST:
                try:
                    recovered = self.call_service(
                        number_recover, number=number, actor=request.user, **target
                    )
                except ServiceRefused as exc:
                    self.refused(request, exc)
                else:
                    self.message_user(
                        request, _recovered_message(recovered, number), messages.SUCCESS
                    )
                    return self._to_number(recovered)
            try:
                preview = self.call_service(number_recover_preview, number=number, **target)
            except ServiceRefused as exc:
                self.refused(request, exc)
        last = number_history(number=number).first()
        last_holder = (last.member or last.line) if last else None
        return self.action_page(
            request,
            "recover.html",
            f"Review the recovery of {number}" if preview else f"Recover {number}",
            original=number,
            form=form,
            last_holder=last_holder,
            preview=preview,
            statement=preview_statement(preview, form.assignee or last_holder) if preview else "",
            can_confirm=preview is not None and preview.refusal is None,
        )

    # --- list actions (they receive the scoped queryset only) -------------------------------

    def _one(self, request, queryset, view: str):
        selected = list(queryset[:2])
        if len(selected) != 1:
            self.message_user(request, "Select exactly one number.", messages.WARNING)
            return None
        return HttpResponseRedirect(self._url(view, selected[0]))

    @admin.action(description="Reassign the selected number", permissions=["change"])
    def reassign_one(self, request, queryset):
        return self._one(request, queryset, "reassign")

    @admin.action(description="Change the selected number", permissions=["change"])
    def change_one(self, request, queryset):
        return self._one(request, queryset, "change_number")

    @admin.action(
        description="Recover the selected number (platform staff)", permissions=["recover"]
    )
    def recover_one(self, request, queryset):
        return self._one(request, queryset, "recover")

    def has_recover_permission(self, request) -> bool:
        return is_platform_staff(request)

    @admin.action(description="Delete selected numbers into quarantine", permissions=["change"])
    def delete_selected_numbers(self, request, queryset):
        if request.POST.get("post") == "yes":
            self.run_on_each(request, queryset, number_delete, arg="number", verb="deleted")
            return None
        return self.action_page(
            request,
            "delete_selected.html",
            "Delete numbers",
            numbers=list(queryset),
            action_name="delete_selected_numbers",
            action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
        )


def _holder_label(number: PhoneNumber) -> str:
    member, line = number_holder(number)
    return str(member or line or "nobody")


def _assigned_message(result, assignee) -> str:
    text = f"{result.number} assigned to {assignee} on {_licence_label(result.licence)}."
    if result.licence_restored:
        text += " The licence was scheduled for removal: it is restored, at no charge."
    if result.invoice is not None:
        text += (
            f" A licence was bought: invoice {result.invoice.number}, total "
            f"{result.invoice.total} {result.invoice.currency}."
        )
    return text


def _recovered_message(recovered: PhoneNumber, before: PhoneNumber) -> str:
    """The recovery, and the licence restored or bought for it (the invoice and its total)."""
    text = f"{recovered} recovered for {_holder_label(recovered)}."
    invoice = getattr(recovered, "purchase_invoice", None)
    if invoice is not None:
        text += (
            f" A licence was bought: invoice {invoice.number}, total {invoice.total} "
            f"{invoice.currency}."
        )
    return text


def _buy_offer(preview, organisation) -> dict | None:
    """When the `block` policy refuses to buy the licence a number needs: "Buy 1 <type>
    (price)", a link to the buy page with the type chosen."""
    if not isinstance(preview.refusal, errors.NoLicenceAvailable) or preview.licence_type is None:
        return None
    licence_type = preview.licence_type
    price = licence_type_price(
        licence_type=licence_type,
        currency=organisation.currency,
        frequency=organisation.billing_frequency,
    )
    period = "a year" if organisation.billing_frequency == "yearly" else "a month"
    return {
        "label": f"Buy 1 {licence_type.name} ({price} {organisation.currency} {period})",
        "url": reverse("admin:licensing_licence_buy") + f"?licence_type={licence_type.pk}",
    }


def _changes_statement(licence: Licence) -> tuple[str, bool]:
    """Rule 8, before a change: how many the licence has used and whether this one is allowed
    (the sentence, and whether the change is refused)."""
    limit = licence.licence_type.max_number_changes
    used = licence.number_changes_used
    if not has_changes_left(
        numbers_received=licence.numbers_received,
        changes_used=used,
        max_changes=limit,
        capacity=licence.licence_type.number_capacity,
    ):
        return (
            f"This licence has used all {limit} of its number changes: the number cannot be "
            "changed. Delete it and assign a new one instead.",
            True,
        )
    return (
        f"This is change {used + 1} of {limit} on {_licence_label(licence)}; it is free. The "
        "current number goes into quarantine.",
        False,
    )
