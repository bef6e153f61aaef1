"""The member pages gain numbers: the numbers a member holds, on their page, and an action on the
members list that gives each selected member a new number (`numbers_assign`), after a review of
which licences the numbers take and what the ones bought cost. accounts.admin is another app's:
these go on its member pages through `MemberAdmin.extend`, which accounts offers for this."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin.members import MemberAdmin
from numbering.models import NumberAssignment, NumberType
from numbering.phone import SUPPORTED_COUNTRIES
from numbering.services import NumberRequest, numbers_assign, numbers_assign_preview
from telecom.admin import ReadOnlyInline, ServiceRefused, refusal_message

# --- the member's page: the numbers they hold ----------------------------------------------------


class MemberNumberInline(ReadOnlyInline):
    """Numbers a member holds now (their open assignments), on the member's page."""

    model = NumberAssignment
    fk_name = "member"
    verbose_name = "number"
    verbose_name_plural = "numbers held"
    template = "admin/console/tabular_titled.html"
    fields = ("number_link", "number_type", "licence_link", "started_at")
    show_change_link = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(ended_at__isnull=True)
            .select_related("number", "licence__licence_type")
            .order_by("number__e164")
        )

    def has_view_permission(self, request, obj=None):
        # Shown, never posted: the member form's POST carries no management form for it.
        if request.method != "GET" or not request.user.has_perm("numbering.view_phonenumber"):
            return False
        return super().has_view_permission(request, obj)

    @admin.display(description="number")
    def number_link(self, obj):
        url = reverse("admin:numbering_phonenumber_change", args=[obj.number_id])
        return format_html('<a href="{}">{}</a>', url, obj.number)

    @admin.display(description="type")
    def number_type(self, obj):
        return obj.number.get_number_type_display()

    @admin.display(description="licence")
    def licence_link(self, obj):
        url = reverse("admin:licensing_licence_change", args=[obj.licence_id])
        return format_html('<a href="{}">{}</a>', url, obj.licence.title)


# --- the members list: a new number for each selected member ----------------------------------


class GiveNumbersForm(forms.Form):
    country = forms.ChoiceField(choices=[(c, c) for c in SUPPORTED_COUNTRIES])
    number_type = forms.ChoiceField(label="Type", choices=NumberType.choices)


def _batch_statement(preview, count: int) -> str:
    if preview.refusal is not None:
        return refusal_message(preview.refusal)
    sources = preview.sources
    parts = [
        f"{sources[source]} {label}"
        for source, label in (
            ("held", "on a licence the member already holds"),
            ("free", "on a free licence, which becomes the member's"),
            ("restore", "on a licence scheduled for removal, restored at no charge"),
            ("purchase", "on a licence bought now"),
        )
        if sources[source]
    ]
    quote = preview.quote
    restored = f" {quote.restore_note}" if quote and quote.restored else ""
    charged = (
        f" The licences bought are charged pro rata on one invoice: {quote.total} "
        f"{quote.currency} with tax."
        if quote and quote.purchased
        else " No licence is bought: nothing is charged."
    )
    return f"{count} new number{'s' if count != 1 else ''}: {'; '.join(parts)}.{restored}{charged}"


def has_assign_numbers_permission(modeladmin, request) -> bool:
    """Whoever may assign numbers (numbers.manage) sees the action."""
    return request.user.has_perm("numbering.change_phonenumber")


@admin.action(description="Give each selected member a new number", permissions=["assign_numbers"])
def give_numbers(modeladmin, request, queryset):
    """Choose the country and type -> review (licences taken, bought, cost) -> confirm."""
    members = list(queryset.select_related("organisation").order_by("name", "email"))
    if len({member.organisation_id for member in members}) != 1:
        modeladmin.message_user(request, "Select members of one organisation.", messages.ERROR)
        return None
    organisation = members[0].organisation
    submitted = "_review" in request.POST or "_confirm" in request.POST
    form = GiveNumbersForm(
        request.POST if submitted else None,
        initial={"country": organisation.country, "number_type": NumberType.MOBILE},
    )
    preview = None
    if form.is_valid():
        requests = [
            NumberRequest(
                country=form.cleaned_data["country"],
                number_type=form.cleaned_data["number_type"],
                member=member,
            )
            for member in members
        ]
        if "_confirm" in request.POST:
            try:
                results = modeladmin.call_service(
                    numbers_assign, organisation=organisation, actor=request.user, requests=requests
                )
            except ServiceRefused as exc:
                modeladmin.message_user(request, exc.message, messages.ERROR)
            else:
                bought = sum(result.licence_purchased for result in results)
                message = f"Gave {len(results)} member(s) a new number."
                invoice = next((r.invoice for r in results if r.invoice is not None), None)
                restored = sum(result.licence_restored for result in results)
                if restored:
                    message += f" {restored} licence(s) scheduled for removal restored, no charge."
                if invoice is not None:
                    message += (
                        f" {bought} licence(s) bought on invoice {invoice.number}, total "
                        f"{invoice.total} {invoice.currency}."
                    )
                modeladmin.message_user(request, message, messages.SUCCESS)
                return None
        preview = numbers_assign_preview(organisation=organisation, requests=requests)
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(
        request,
        "admin/accounts/user/give_numbers.html",
        {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.opts,
            "title": "Review the new numbers" if preview else "Give each member a new number",
            "subtitle": None,
            "media": modeladmin.media,
            "changelist_url": reverse("admin:accounts_user_changelist"),
            "form": form,
            "members": members,
            "organisation": organisation,
            "preview": preview,
            "statement": _batch_statement(preview, len(members)) if preview else "",
            "can_confirm": preview is not None and preview.refusal is None,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


MemberAdmin.extend(
    inlines=[MemberNumberInline],
    actions=[give_numbers],
    permissions={"assign_numbers": has_assign_numbers_permission},
)
