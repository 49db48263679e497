"""Forms of the QR codes app: a generic code (create and edit), a batch of pre-printed
tags, and the claim of a tag."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pawfile.qr.choices import ErrorLevel
from pawfile.qr.models import FRAME_TEXT_MAX_LENGTH, TARGET_MAX_LENGTH, QRCode
from pawfile.qr.style import MODULE_SIZES, QUIET_ZONES


class CodeForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    target_url = forms.CharField(
        label=_("Leads to"),
        max_length=TARGET_MAX_LENGTH,
        help_text=_("A full web address starting with https://"),
        widget=forms.URLInput(attrs={"inputmode": "url", "autocomplete": "off"}),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    expires_at = forms.DateTimeField(
        label=_("Expires at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    scan_limit = forms.IntegerField(label=_("Scan limit"), required=False, min_value=1)
    fg_color = forms.CharField(
        label=_("Code colour"), initial="#000000", widget=forms.TextInput(attrs={"type": "color"})
    )
    bg_color = forms.CharField(
        label=_("Background colour"),
        initial="#ffffff",
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    module_size = forms.IntegerField(
        label=_("Module size (pixels)"),
        initial=10,
        min_value=MODULE_SIZES[0],
        max_value=MODULE_SIZES[1],
    )
    quiet_zone = forms.IntegerField(
        label=_("Quiet zone (modules)"),
        initial=4,
        min_value=QUIET_ZONES[0],
        max_value=QUIET_ZONES[1],
    )
    error_level = forms.ChoiceField(
        label=_("Error correction"), choices=ErrorLevel.choices, initial=ErrorLevel.M
    )
    frame_text = forms.CharField(
        label=_("Frame text"),
        required=False,
        max_length=FRAME_TEXT_MAX_LENGTH,
        help_text=_("Printed under the code, e.g. IF FOUND, SCAN ME"),
    )
    logo = forms.ImageField(
        label=_("Centre logo"),
        required=False,
        help_text=_("Optional. Error correction is then set to High."),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    @staticmethod
    def initial_for(code: QRCode) -> dict[str, Any]:
        names = (
            "title",
            "target_url",
            "is_active",
            "expires_at",
            "scan_limit",
            "fg_color",
            "bg_color",
            "module_size",
            "quiet_zone",
            "error_level",
            "frame_text",
        )
        return {name: getattr(code, name) for name in names}

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("logo", None)
        data.pop("remove_logo", None)
        return data


class BatchForm(forms.Form):
    """A batch of pre-printed tags: how many, a note, and their style (no logo)."""

    count = forms.IntegerField(label=_("Number of tags"), min_value=1, max_value=2000, initial=100)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=200,
        help_text=_("For you: the order, the printer, the event."),
    )
    fg_color = CodeForm.base_fields["fg_color"]
    bg_color = CodeForm.base_fields["bg_color"]
    module_size = CodeForm.base_fields["module_size"]
    quiet_zone = CodeForm.base_fields["quiet_zone"]
    error_level = CodeForm.base_fields["error_level"]
    frame_text = CodeForm.base_fields["frame_text"]


class ClaimForm(forms.Form):
    """Which of the user's pets a tag is for."""

    pet = forms.TypedChoiceField(
        label=_("Which pet wears this tag?"), coerce=int, widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, pets: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["pet"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(pet.pk, pet.name) for pet in pets]
        if len(pets) == 1:
            field.initial = pets[0].pk
