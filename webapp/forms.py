import zoneinfo
from functools import cache

from django import forms
from django.contrib.auth import forms as auth_forms

from accounts.models import MemberStatus, User
from accounts.services import invited_member_for_email, member_invitation_resend
from numbering.phone import SMS
from webapp.services import MESSAGE_MAX_LENGTH


class SignInForm(auth_forms.AuthenticationForm):
    """E-mail and password; addresses are stored lower-case, so they are compared that way."""

    username = auth_forms.UsernameField(
        label="E-mail address",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": "That e-mail address and password do not match an active account.",
    }

    def clean(self):
        if self.cleaned_data.get("username"):
            self.cleaned_data["username"] = self.cleaned_data["username"].strip().lower()
        return super().clean()


class PasswordResetForm(auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def get_users(self, email):
        """Active members with a password. (`is_active` is a property here, not a column.)

        Invited members have no password yet: their way in is the invitation link.
        """
        users = User.objects.filter(email__iexact=email.strip(), status=MemberStatus.ACTIVE)
        return (user for user in users if user.has_usable_password())

    def save(self, *args, request=None, **kwargs):
        """Reset links for active members; an invited member is sent their invitation again (a
        new link, the earlier one withdrawn). The page answers the same either way."""
        super().save(*args, request=request, **kwargs)
        invited = invited_member_for_email(self.cleaned_data["email"])
        if invited is not None:
            member_invitation_resend(member=invited, actor=None, request=request)


class InvitationAcceptForm(auth_forms.SetPasswordForm):
    name = forms.CharField(
        label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    field_order = ["name", "new_password1", "new_password2"]

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["name"].initial = user.name

    def save(self, commit=True):  # the view calls webapp.services.invitation_accept instead
        raise NotImplementedError


@cache
def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(
        zone
        for zone in zoneinfo.available_timezones()
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "posix/", "right/", "US/"))
    )
    return [("UTC", "UTC"), *((zone, zone.replace("_", " ")) for zone in zones)]


class ProfileForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    timezone = forms.ChoiceField(
        label="Time zone for dates and times",
        required=False,
        help_text="Dates and times in the webapp are shown in this time zone.",
    )

    def __init__(self, *args, organisation_timezone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [
            ("", f"The organisation's ({organisation_timezone})"),
            *timezone_choices(),
        ]


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # It shares the profile page: the page's first field, not this one, takes the focus.
        self.fields["old_password"].widget.attrs.pop("autofocus", None)

    def save(self, commit=True):  # the view calls webapp.services.password_change instead
        raise NotImplementedError


class _NumberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} ({obj.get_number_type_display().lower()})"


class MessageSendForm(forms.Form):
    """New text message. Only numbers that can send SMS are offered (rule 10); the service
    refuses the others anyway, so a tampered form gets `capability_missing`, not a send."""

    from_number = _NumberChoiceField(queryset=None, label="From", empty_label=None)
    to = forms.CharField(
        label="To",
        max_length=32,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "+33 6 12 34 56 78"}
        ),
        help_text="International format, or national for the sending number's country.",
    )
    body = forms.CharField(
        label="Message",
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, numbers, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["from_number"]
        field.queryset = numbers
        field.widget.choices = [
            (number.pk, field.label_from_instance(number))
            for number in numbers
            if SMS in number.capabilities
        ]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Reply",
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
