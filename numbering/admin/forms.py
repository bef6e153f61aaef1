"""Forms of the number flows. They parse input; the services decide."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect

from accounts.models import MemberStatus, User
from accounts.selectors import active_members
from licensing.models import Licence, LicenceKind, LicenceType
from licensing.selectors import line_list
from numbering.models import NumberType
from numbering.phone import SUPPORTED_COUNTRIES

# --- forms: they parse; the services decide ------------------------------------------------------


class AssigneeForm(forms.Form):
    """One member or one line. Choices come from the organisation's own (all of them for
    platform staff assigning), so another organisation's id is "Select a valid choice"."""

    member = forms.ModelChoiceField(queryset=None, required=False)
    line = forms.ModelChoiceField(queryset=None, required=False)
    assignee_required = True

    def __init__(self, *args, organisation, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        if organisation is None:  # platform staff: the member's organisation is the one
            members = User.objects.filter(is_superuser=False).exclude(
                status=MemberStatus.DEACTIVATED
            )
        else:
            members = active_members(organisation=organisation)
        for name, queryset in (
            ("member", members),
            ("line", line_list(organisation=organisation)),
        ):
            field = self.fields[name]
            field.widget = AutocompleteSelect(Licence._meta.get_field(name), admin_site)
            field.queryset = queryset
        self.fields["member"].help_text = "An active or invited member."
        self.fields["line"].help_text = "Or a line: room phone, shared line, fax, ..."

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        chosen = [name for name in ("member", "line") if data.get(name)]
        if len(chosen) > 1 or (self.assignee_required and not chosen):
            raise forms.ValidationError("Choose a member or a line (exactly one).", code="invalid")
        return data

    @property
    def assignee(self):
        return self.cleaned_data.get("member") or self.cleaned_data.get("line")


class AssignNumberForm(AssigneeForm):
    country = forms.ChoiceField(choices=[(c, c) for c in SUPPORTED_COUNTRIES], initial="FR")
    number_type = forms.ChoiceField(label="Type", choices=NumberType.choices)
    licence_type = forms.ModelChoiceField(
        queryset=LicenceType.objects.filter(kind=LicenceKind.BASE).order_by("sort_order", "code"),
        required=False,
        empty_label="The organisation's default",
        help_text="The type of licence to take, or to buy when none is free.",
    )
    contains = forms.CharField(
        required=False, max_length=20, help_text="Optional: digits the number should contain."
    )
    e164 = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)

    def __init__(self, *args, organisation, admin_site, **kwargs):
        super().__init__(*args, organisation=organisation, admin_site=admin_site, **kwargs)
        if organisation is not None and organisation.country in SUPPORTED_COUNTRIES:
            self.fields["country"].initial = organisation.country

    @property
    def target_organisation(self):
        return self.assignee.organisation


class RecoverForm(AssigneeForm):
    assignee_required = False  # the last holder by default

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].help_text = "Leave both empty to give it back to its last holder."


class ChangeNumberForm(forms.Form):
    e164 = forms.CharField(required=False, max_length=32)


def posted_data(request):
    return request.POST if request.method == "POST" else None
