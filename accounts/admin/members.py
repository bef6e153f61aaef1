"""Members: invitations, roles and removal; the licences each holds."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.lifecycle import member_remove
from accounts.models import MemberStatus, User
from accounts.roles import ASSIGNABLE_ROLES, Role
from accounts.services import (
    member_invitation_resend,
    member_invite,
    member_reactivate,
    member_update,
)
from licensing.models import Licence, LicenceKind, LicenceStatus
from licensing.services import licence_assign
from telecom.admin import (
    ActionPages,
    ReadOnlyInline,
    ServiceRefused,
    TenantAdmin,
    organisation_of,
)


def licence_title(licence: Licence) -> str:
    return licence.title


def _role_choices(actor, current: str | None = None):
    allowed = set(Role) if actor.is_superuser else set(ASSIGNABLE_ROLES[Role(actor.role)])
    if current:
        allowed.add(Role(current))
    return [(role.value, role.value.title()) for role in Role if role in allowed]


class MemberInviteForm(forms.ModelForm):
    """Inviting a member. An address already used in the organisation is answered with a link to
    that member; one used elsewhere on the platform gets a sentence that does not say where."""

    request_organisation = None  # set by MemberAdmin.get_form: the console user's organisation

    class Meta:
        model = User
        fields = ("organisation", "email", "name", "role")

    def clean(self):
        cleaned = super().clean()
        email = (cleaned.get("email") or "").strip().lower()
        organisation = cleaned.get("organisation") or self.request_organisation
        if not email:
            return cleaned
        existing = User.objects.filter(email__iexact=email).first()
        if existing is None:
            return cleaned
        if organisation is not None and existing.organisation_id == organisation.pk:
            url = reverse("admin:accounts_user_change", args=[existing.pk])
            state = {
                MemberStatus.INVITED: "already invited",
                MemberStatus.DEACTIVATED: "a removed member; you can reactivate them",
            }.get(existing.status, "already a member")
            self.add_error(
                "email",
                format_html(
                    '{} is {}: <a href="{}">open {}</a>.',
                    email,
                    state,
                    url,
                    existing.get_full_name(),
                ),
            )
        else:
            # Never say that another organisation uses this address (docs/security.md).
            self.add_error(
                "email",
                "This e-mail address cannot be invited. Check it, or ask the person for another "
                "address.",
            )
        return cleaned

    def validate_unique(self):
        # clean() answers duplicates in sentences; the database constraint (and the service)
        # still guard a concurrent invitation. Django's own message would name the constraint.
        return None


class GiveLicenceForm(forms.Form):
    licence = forms.ModelChoiceField(
        queryset=Licence.objects.none(), label="Licence", empty_label=None
    )

    def __init__(self, *args, member: User, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["licence"]
        field.queryset = (
            Licence.objects.filter(
                organisation_id=member.organisation_id, licence_type__kind=LicenceKind.BASE
            )
            .free()
            .select_related("licence_type")
            .order_by("licence_type__name", "purchased_at", "pk")
        )
        field.label_from_instance = licence_title


class MemberChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("name", "role")


class MemberLicenceInline(ReadOnlyInline):
    model = Licence
    fk_name = "member"
    verbose_name = "licence"
    verbose_name_plural = "licences held"
    template = "admin/console/tabular_titled.html"
    show_change_link = False
    fields = ("title", "status", "extension", "addon_codes", "purchased_at")

    @admin.display(description="licence")
    def title(self, obj):
        url = reverse("admin:licensing_licence_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, licence_title(obj))

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("licence_type")
            .prefetch_related("addons__licence_type")
        )

    @admin.display(description="add-ons")
    def addon_codes(self, obj):
        return ", ".join(sorted(a.licence_type.name for a in obj.addons.all())) or "-"


@admin.register(User)
class MemberAdmin(ActionPages, TenantAdmin):
    """Members: invite (member_invite), change name and role (member_update), remove (rule 9)."""

    list_display = (
        "name",
        "email",
        "role",
        "status",
        "licence_count",
        "date_joined",
        "organisation",
    )
    list_display_links = ("name", "email")
    list_filter = ("role", "status", "organisation")
    search_fields = ("name", "email")
    ordering = ("name", "email")
    list_select_related = ("organisation",)
    readonly_fields = ("email", "status", "date_joined", "organisation")
    autocomplete_fields = ("organisation",)
    inlines = (MemberLicenceInline,)
    delete_confirmation_template = "admin/accounts/user/delete_confirmation.html"
    page_templates = "admin/accounts/user"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(is_superuser=False)  # platform staff are not members of anything
            # A count per row (served by the licence.member_id index), not a join with GROUP BY:
            # the page's count and its ids then read the members alone.
            .annotate(
                active_licences=Coalesce(
                    Subquery(
                        Licence.objects.filter(member=OuterRef("pk"))
                        .exclude(status=LicenceStatus.TERMINATED)
                        .order_by()
                        .values("member")
                        .annotate(n=Count("pk"))
                        .values("n"),
                        output_field=IntegerField(),
                    ),
                    Value(0),
                )
            )
        )

    def get_search_results(self, request, queryset, search_term):
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        if request.resolver_match and request.resolver_match.url_name == "autocomplete":
            # Choosing an assignee: deactivated members cannot receive licences.
            queryset = queryset.exclude(status=MemberStatus.DEACTIVATED)
        return queryset, duplicates

    @admin.display(description="licences", ordering="active_licences")
    def licence_count(self, obj):
        return obj.active_licences

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = MemberChangeForm if obj is not None else MemberInviteForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form.request_organisation = organisation_of(request)
        if "organisation" in form.base_fields:
            form.base_fields["organisation"].required = True  # platform staff pick one
        if "role" in form.base_fields:
            form.base_fields["role"].choices = _role_choices(
                request.user, obj.role if obj is not None else None
            )
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            fields = ["organisation", "email", "name", "role"]
        else:
            fields = ["email", "name", "role", "status", "date_joined", "organisation"]
        return self._strip(request, fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return super().get_readonly_fields(request, obj)

    @classmethod
    def extend(cls, *, inlines=(), actions=(), permissions=None) -> None:
        """Let another app's console add to the member pages: inlines on a member's page, actions
        on the list, and the `has_<name>_permission` checks those actions name (numbering: the
        numbers a member holds, giving members numbers). Called when that console loads; accounts
        imports none of them (docs/architecture.md, "Layers and contracts")."""
        cls.inlines = (*cls.inlines, *(i for i in inlines if i not in cls.inlines))
        cls.actions = (*(cls.actions or ()), *(a for a in actions if a not in (cls.actions or ())))
        for name, check in (permissions or {}).items():
            setattr(cls, f"has_{name}_permission", check)

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == MemberStatus.DEACTIVATED:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            self.call_service(
                member_update,
                member=obj,
                actor=request.user,
                name=data["name"],
                role=data["role"],
            )
            return
        organisation = data.get("organisation") or request.user.organisation
        member = self.call_service(
            member_invite,
            organisation=organisation,
            email=data["email"],
            name=data["name"],
            role=data["role"],
            actor=request.user,
            request=request,
        )
        obj.pk = member.pk
        obj._state.adding = False

    def get_deleted_objects(self, objs, request):
        # Removing a member deletes nothing (rule 9): it deactivates them and frees their
        # licences. The confirmation page says so instead of listing related rows.
        return [str(obj) for obj in objs], {}, set(), []

    def delete_model(self, request, obj):
        self.call_service(member_remove, member=obj, actor=request.user)

    # --- the member's page: resend, reactivate, give a licence, assign a number ----------------

    def _may_manage(self, request, member: User) -> bool:
        return self.has_change_permission(request, member)

    def member_tools(self, request, member: User) -> list[tuple[str, str]]:
        if not self._may_manage(request, member):
            return []
        tools = []
        if member.status == MemberStatus.INVITED:
            tools.append((self._url("resend", member), "Resend invitation"))
        if member.status == MemberStatus.DEACTIVATED:
            tools.append((self._url("reactivate", member), "Reactivate"))
        else:
            if request.user.has_perm("numbering.change_phonenumber"):
                tools.append(
                    (
                        reverse("admin:numbering_phonenumber_assign") + f"?member={member.pk}",
                        "Assign a number",
                    )
                )
            if request.user.has_perm("licensing.change_licence"):
                tools.append((self._url("give_licence", member), "Give a licence"))
        return tools

    def _url(self, name: str, member: User) -> str:
        return reverse(f"admin:accounts_user_{name}", args=[member.pk])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        tools = self.member_tools(request, obj) if obj is not None else []
        return super().change_view(
            request, object_id, form_url, {"member_tools": tools, **(extra_context or {})}
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/resend/", wrap(self.resend_view), name="accounts_user_resend"),
            path(
                "<path:object_id>/reactivate/",
                wrap(self.reactivate_view),
                name="accounts_user_reactivate",
            ),
            path(
                "<path:object_id>/give-licence/",
                wrap(self.give_licence_view),
                name="accounts_user_give_licence",
            ),
            *super().get_urls(),
        ]

    def _member(self, request, object_id):
        member, missing = self.object_or_missing(request, object_id)
        if missing is None and not self._may_manage(request, member):
            raise PermissionDenied
        return member, missing

    def _back_to(self, member: User):
        return HttpResponseRedirect(self._url("change", member))

    def resend_view(self, request, object_id):
        member, missing = self._member(request, object_id)
        if missing:
            return missing
        if request.method == "POST":
            try:
                self.call_service(
                    member_invitation_resend, member=member, actor=request.user, request=request
                )
            except ServiceRefused as exc:
                self.refused(request, exc)
            else:
                self.message_user(
                    request,
                    f"A new invitation was sent to {member.email}. The earlier link no longer "
                    "works.",
                    messages.SUCCESS,
                )
            return self._back_to(member)
        return self.action_page(
            request,
            "member_confirm.html",
            f"Resend the invitation to {member.get_full_name()}",
            member=member,
            statement=(
                f"{member.email} will receive a new invitation link, valid for 7 days. The link "
                "sent before stops working."
            ),
            button="Send a new invitation",
        )

    def reactivate_view(self, request, object_id):
        member, missing = self._member(request, object_id)
        if missing:
            return missing
        if request.method == "POST":
            try:
                member = self.call_service(member_reactivate, member=member, actor=request.user)
            except ServiceRefused as exc:
                self.refused(request, exc)
            else:
                text = (
                    f"{member.get_full_name()} is active again and can sign in."
                    if member.status == MemberStatus.ACTIVE
                    else f"{member.get_full_name()} is invited again: a new invitation was sent "
                    f"to {member.email}."
                )
                self.message_user(request, text, messages.SUCCESS)
            return self._back_to(member)
        return self.action_page(
            request,
            "member_confirm.html",
            f"Reactivate {member.get_full_name()}",
            member=member,
            statement=(
                "They can sign in again (or, if they never accepted their invitation, they are "
                "sent a new one). Their licences stay unassigned: give them one from their page."
            ),
            button="Reactivate",
        )

    def give_licence_view(self, request, object_id):
        member, missing = self._member(request, object_id)
        if missing:
            return missing
        if not request.user.has_perm("licensing.change_licence"):
            raise PermissionDenied
        form = GiveLicenceForm(request.POST if request.method == "POST" else None, member=member)
        if request.method == "POST" and form.is_valid():
            licence = form.cleaned_data["licence"]
            try:
                self.call_service(
                    licence_assign, licence=licence, actor=request.user, member=member
                )
            except ServiceRefused as exc:
                self.refused(request, exc)
            else:
                self.message_user(
                    request,
                    f"{licence_title(licence)} was given to {member.get_full_name()}.",
                    messages.SUCCESS,
                )
                return self._back_to(member)
        return self.action_page(
            request,
            "give_licence.html",
            f"Give a licence to {member.get_full_name()}",
            member=member,
            form=form,
            has_free=form.fields["licence"].queryset.exists(),
            buy_url=reverse("admin:licensing_licence_buy"),
        )

    def response_delete(self, request, obj_display, obj_id):
        self.message_user(
            request,
            f"{obj_display} was removed: deactivated, their licences are now unassigned.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:accounts_user_changelist"))
