import zoneinfo

import phonenumbers
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8, max_length=128)
    workspace_name = forms.CharField(max_length=120, label="Workspace name")

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class SignupConfirmForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput,
        max_length=128,
        help_text="The password you chose when signing up.",
    )


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=120)
    timezone = forms.ChoiceField(
        choices=[(tz, tz) for tz in sorted(zoneinfo.available_timezones())], initial="UTC"
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=50, help_text="What uses this key, e.g. 'CRM sync'.")


class EmailLoginForm(AuthenticationForm):
    """Accounts are e-mail addresses (the username is the e-mail), so the form says so."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "inputmode": "email"})


class InvitationForm(forms.Form):
    email = forms.EmailField(max_length=150, label="Email")
    role = forms.ChoiceField(
        choices=[("agent", "Agent: answers conversations"), ("admin", "Admin: also manages")]
    )


class InvitationAccountForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput, min_length=8, max_length=128, label="Choose a password"
    )

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


def _country_choices() -> list[tuple[str, str]]:
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    return [("", "None: numbers always need their country code")] + [
        (code, f"{code} (+{phonenumbers.country_code_for_region(code)})") for code in regions
    ]


class WorkspaceSettingsForm(WorkspaceForm):
    default_country = forms.ChoiceField(
        choices=_country_choices,
        required=False,
        label="Default country",
        help_text='Numbers typed without "+" and a country code are read as numbers of this country.',
    )
