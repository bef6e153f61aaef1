"""Forms of the console's licence actions. They parse input; the services decide.

Every choice a form offers (organisations, members, lines, licences) comes from querysets already
scoped to the signed-in member's organisation, so a posted id of another organisation fails as
"Select a valid choice", exactly like an id that does not exist.
"""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect

from accounts.models import Organisation
from accounts.selectors import active_members
from licensing.models import Licence, LicenceKind, LicenceStatus, LicenceType
from licensing.selectors import line_list
from telecom.quantities import MAX_QUANTITY, AsciiIntegerFormField


class _OrganisationScopedForm(forms.Form):
    """A form acting on one organisation: the member's own, or one platform staff pick."""

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"),
        help_text="Platform staff: the organisation to act for.",
    )

    def __init__(self, *args, organisation: Organisation | None, **kwargs):
        super().__init__(*args, **kwargs)
        self._organisation = organisation
        if organisation is not None:
            del self.fields["organisation"]

    @property
    def target_organisation(self) -> Organisation:
        return self._organisation or self.cleaned_data["organisation"]


class LicenceQuantityForm(_OrganisationScopedForm):
    licence_type = forms.ModelChoiceField(
        queryset=LicenceType.objects.order_by("kind", "sort_order", "code"),
        label="Licence type",
        help_text="Base licences and add-ons alike.",
    )
    quantity = AsciiIntegerFormField(min_value=1, max_value=MAX_QUANTITY, initial=1)


class BuyLicencesForm(LicenceQuantityForm):
    """Rule 13: licences of the type scheduled for removal are restored first, at no charge."""


class RemoveLicencesForm(LicenceQuantityForm):
    """Rule 14: schedules unassigned licences for removal at the end of the billing period."""


class TerminateByUuidForm(forms.Form):
    uuid = forms.UUIDField(
        label="Licence UUID", help_text="The licence's full UUID, as shown on its page."
    )

    def __init__(self, *args, licences, **kwargs):
        super().__init__(*args, **kwargs)
        self._licences = licences  # the member's scoped licences
        self.licence: Licence | None = None

    def clean_uuid(self):
        value = self.cleaned_data["uuid"]
        self.licence = self._licences.filter(pk=value).first()
        if self.licence is None:
            # The same answer for another organisation's licence and for no licence at all.
            raise forms.ValidationError("No licence has this UUID.", code="not_found")
        return value


class AssignForm(forms.Form):
    """Choose one member or one line of the licence's organisation."""

    member = forms.ModelChoiceField(queryset=None, required=False)
    line = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, licence: Licence, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        organisation = licence.organisation
        for name, queryset in (
            ("member", active_members(organisation=organisation)),
            ("line", line_list(organisation=organisation)),
        ):
            field = self.fields[name]
            field.widget = AutocompleteSelect(Licence._meta.get_field(name), admin_site)
            field.queryset = queryset  # also gives the widget its (scoped) choices
        self.fields["member"].help_text = "An active or invited member."
        self.fields["line"].help_text = "Or a line: room phone, shared line, fax, ..."

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if bool(data.get("member")) == bool(data.get("line")):
            raise forms.ValidationError("Choose a member or a line (exactly one).", code="invalid")
        return data


class AddonsForm(forms.Form):
    """Rule 11: the add-on codes the licence's type accepts, as checkboxes."""

    codes = forms.MultipleChoiceField(
        label="Add-ons", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, licence: Licence, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = licence.licence_type.addons.filter(kind=LicenceKind.ADDON).order_by(
            "sort_order", "code"
        )
        self.fields["codes"].choices = [(t.code, f"{t.name} ({t.code})") for t in allowed]
        if not self.is_bound:
            self.initial["codes"] = [
                addon.licence_type.code
                for addon in licence.addons.select_related("licence_type")
                if addon.status == LicenceStatus.ACTIVE
            ]


class ExtensionForm(forms.Form):
    extension = forms.CharField(
        required=False,
        max_length=8,
        help_text="2 to 8 digits, unique in the organisation. Empty removes it.",
    )
