"""Forms of the owner's screens: what finders see, and lost mode."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pawfile.lostpet.choices import ContactMode
from pawfile.lostpet.models import PublicProfile
from pawfile.lostpet.services import PROFILE_FIELDS, VISIBILITY_FIELDS


class PublicSettingsForm(forms.Form):
    show_photo = forms.BooleanField(label=_("Photo"), required=False)
    show_species = forms.BooleanField(label=_("Species and breed"), required=False)
    show_sex = forms.BooleanField(label=_("Sex"), required=False)
    show_age = forms.BooleanField(label=_("Age"), required=False)
    show_allergies = forms.BooleanField(label=_("Allergies"), required=False)
    show_medication = forms.BooleanField(label=_("Current medication"), required=False)
    show_special_needs = forms.BooleanField(label=_("Special needs"), required=False)
    contact_mode = forms.ChoiceField(
        label=_("How finders reach you"),
        choices=ContactMode.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Contacts are shown only if you ticked “show on the public page” on the contact."
        ),
    )
    public_message = forms.CharField(
        label=_("Message to finders"),
        required=False,
        max_length=280,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: he is friendly, give him water."),
    )

    @staticmethod
    def initial_for(profile: PublicProfile) -> dict[str, Any]:
        return {name: getattr(profile, name) for name in PROFILE_FIELDS}

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in PROFILE_FIELDS}

    def applied_to(self, profile: PublicProfile) -> PublicProfile:
        """An unsaved copy of ``profile`` with the submitted choices (the live preview);
        values that do not validate keep the profile's own."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        preview = PublicProfile(
            **{f.attname: getattr(profile, f.attname) for f in PublicProfile._meta.concrete_fields}
        )
        for name in VISIBILITY_FIELDS:
            if name in data:
                setattr(preview, name, bool(data[name]))
        if data.get("contact_mode") in ContactMode.values:
            preview.contact_mode = data["contact_mode"]
        if "public_message" in data:
            preview.public_message = data["public_message"].strip()
        return preview


class LostForm(forms.Form):
    last_seen_at = forms.DateTimeField(
        label=_("Last seen when"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("In your time zone."),
    )
    last_seen_place = forms.CharField(
        label=_("Last seen where"),
        required=False,
        max_length=200,
        help_text=_("A street, a park, a neighbourhood: what a neighbour would recognise."),
    )
    reward = forms.CharField(label=_("Reward"), required=False, max_length=120)
    lost_message = forms.CharField(
        label=_("Message while lost"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    @staticmethod
    def initial_for(profile: PublicProfile) -> dict[str, Any]:
        names = ("last_seen_at", "last_seen_place", "reward", "lost_message")
        return {name: getattr(profile, name) for name in names}

    def service_fields(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
