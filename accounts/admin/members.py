"""Members: invitations, roles and removal; the licences each holds."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.models import MemberStatus, User
from accounts.roles import ASSIGNABLE_ROLES, Role
from accounts.services import (
    member_invite,
    member_remove,
    member_update,
)
from licensing.models import Licence, LicenceStatus
from telecom.admin import (
    ReadOnlyInline,
    TenantAdmin,
)


def _role_choices(actor, current: str | None = None):
    allowed = set(Role) if actor.is_superuser else set(ASSIGNABLE_ROLES[Role(actor.role)])
    if current:
        allowed.add(Role(current))
    return [(role.value, role.value.title()) for role in Role if role in allowed]


class MemberInviteForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("organisation", "email", "name", "role")


class MemberChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("name", "role")


class MemberLicenceInline(ReadOnlyInline):
    model = Licence
    fk_name = "member"
    verbose_name = "licence"
    verbose_name_plural = "licences held"
    fields = ("licence_type", "status", "extension", "addon_codes", "purchased_at")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("licence_type")
            .prefetch_related("addons__licence_type")
        )

    @admin.display(description="add-ons")
    def addon_codes(self, obj):
        return ", ".join(sorted(a.licence_type.code for a in obj.addons.all())) or "-"


@admin.register(User)
class MemberAdmin(TenantAdmin):
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

    def response_delete(self, request, obj_display, obj_id):
        self.message_user(
            request,
            f"{obj_display} was removed: deactivated, their licences are now unassigned.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:accounts_user_changelist"))
