"""The finder's form on a pet's public page, and the owner's reply form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pawfile.lostpet.sightings import MESSAGE_MAX, REPLY_MAX, FinderReport

# The honeypot: a field people never see (hidden by CSS and aria-hidden) but form-filling
# bots do; anything in it drops the report silently.
HONEYPOT = "website"


class FinderForm(forms.Form):
    message = forms.CharField(
        label=_("What did you see?"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "placeholder": _("e.g. He is with me, safe, near the bakery on Main Street."),
            }
        ),
    )
    place_text = forms.CharField(
        label=_("Where (if you do not share your location)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    latitude = forms.DecimalField(
        required=False, min_value=-90, max_value=90, widget=forms.HiddenInput
    )
    longitude = forms.DecimalField(
        required=False, min_value=-180, max_value=180, widget=forms.HiddenInput
    )
    photo = forms.FileField(
        label=_("A photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    name = forms.CharField(label=_("Your name (optional)"), max_length=120, required=False)
    phone = forms.CharField(
        label=_("Your phone (optional)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label=_("Your email (optional)"),
        required=False,
        help_text=_("The owner's answer is sent here. It is not shown to them unless you say so."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    shares_contact = forms.BooleanField(
        label=_("Share my name, phone and email with the owner"), required=False
    )
    website = forms.CharField(
        label=_("Leave this empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Coordinates arrive as text from the browser (many decimals): keep 5 (about 1 m).
        for name in ("latitude", "longitude"):
            self.fields[name].localize = False

    def clean_latitude(self) -> Decimal | None:
        value = self.cleaned_data.get("latitude")
        return None if value is None else value.quantize(Decimal("0.00001"))

    def clean_longitude(self) -> Decimal | None:
        value = self.cleaned_data.get("longitude")
        return None if value is None else value.quantize(Decimal("0.00001"))

    def is_bot(self) -> bool:
        """True when the honeypot was filled (read before or after validation)."""
        return bool(str(self.data.get(HONEYPOT, "")).strip())

    def report(self) -> FinderReport:
        data = self.cleaned_data
        return FinderReport(
            message=data["message"], name=data.get("name") or "", phone=data.get("phone") or "",
            email=data.get("email") or "", shares_contact=bool(data.get("shares_contact")),
            latitude=data.get("latitude"), longitude=data.get("longitude"),
            place_text=data.get("place_text") or "", photo=data.get("photo"),
        )  # fmt: skip


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your answer"),
        max_length=REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
