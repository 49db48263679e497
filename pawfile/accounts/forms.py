"""Forms for preferences, households and the first admin."""

from __future__ import annotations

from functools import cache
from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.auth import password_validation
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from pawfile.accounts.choices import Role
from pawfile.accounts.models import User, zone_name_canonical, zone_names
from pawfile.lib.text import plain_line_problem


@cache
def _zone_options() -> SafeString:
    """Every zone as a ``<datalist>`` option, rendered once per process (the list is the
    same for everyone and for the life of the process)."""
    return mark_safe(  # noqa: S308 - every value is escaped here
        "".join(
            format_html('<option value="{}">{}</option>', name, name.replace("_", " "))
            for name in sorted(zone_names())
        )
    )


class TimeZoneInput(forms.TextInput):
    """A text input with the IANA zones as suggestions (``<input list>`` + ``<datalist>``):
    the browser filters them as the person types, with no script. With
    ``suggest_browser_zone`` the page's script (``pawfile/timezone.js``) fills in the
    browser's own zone and shows the note saying so; nothing is saved until the form is."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.suggest_browser_zone = False

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or name}-zones"
        attrs["list"] = list_id
        note = ""
        if self.suggest_browser_zone:
            attrs["data-browser-zone"] = f"{list_id}-note"
            note = format_html(
                '<small class="helptext" id="{}" hidden>{}</small>',
                f"{list_id}-note",
                _("Filled in from your browser. Save to keep it."),
            )
        field = super().render(name, value, attrs, renderer)
        return format_html(
            '{}<datalist id="{}">{}</datalist>{}', field, list_id, _zone_options(), note
        )


class PreferencesForm(forms.ModelForm):
    """Name, phone, time zone, language and theme. The time zone is typed or picked from
    the suggestions; ``Europe/madrid`` or ``America/New York`` are read as the zone they
    name. A person who never chose one (still ``UTC``) gets the browser's zone filled in."""

    timezone = forms.CharField(label=_("Time zone"), max_length=64, widget=TimeZoneInput())

    class Meta:
        model = User
        fields = ["name", "phone", "timezone", "locale", "theme"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = self.fields["timezone"].widget
        assert isinstance(widget, TimeZoneInput)
        widget.suggest_browser_zone = not self.is_bound and self.instance.timezone == "UTC"

    def clean_timezone(self) -> str:
        typed = str(self.cleaned_data.get("timezone") or "").strip().replace(" ", "_")
        name = zone_name_canonical(typed)
        if name is None:
            raise forms.ValidationError(
                _(
                    "%(value)s is not a known time zone. "
                    "Pick one from the list, such as Europe/Madrid."
                )
                % {"value": typed},
                code="unknown_zone",
            )
        return name


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form (``ACCOUNT_FORMS["signup"]``) with the person's name first,
    optional. ``AccountAdapter.save_user`` saves it before the household is made, so the
    household, greetings and the PDF report use it; and the browser's time zone, hidden."""

    name = forms.CharField(
        label=_("Your name"),
        max_length=150,
        required=False,
        help_text=_("Optional. Shown to the people you share pets with."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    # The browser's zone, filled in by pawfile/timezone.js; kept only when it is a known one.
    timezone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-signup-zone": ""})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["name"])

    def clean_timezone(self) -> str:
        """A known IANA zone, or "" (the account then starts in UTC): never an error, since
        the person did not type it."""
        return zone_name_canonical(str(self.cleaned_data.get("timezone") or "").strip()) or ""

    def clean_name(self) -> str:
        name = str(self.cleaned_data.get("name") or "").strip()
        problem = plain_line_problem(name)
        if problem:
            raise forms.ValidationError(problem, code="not_one_line")
        return name


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(Role.CARETAKER, Role.CARETAKER.label), (Role.VIEWER, Role.VIEWER.label)],
        initial=Role.VIEWER,
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        choices=[(Role.CARETAKER, Role.CARETAKER.label), (Role.VIEWER, Role.VIEWER.label)]
    )


class FirstAdminForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    password2 = forms.CharField(label=_("Password (again)"), widget=forms.PasswordInput)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email already exists."))
        return str(email)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            try:
                password_validation.validate_password(p1, User(email=data.get("email", "")))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data
