"""Web forms for pets, photos, notes and contacts.

The forms only shape what a person typed; the services validate and store it (microchip
numbers, duplicates, sanitising of note HTML); a service's refusal comes back onto the form,
next to the field it is about, through ``pawfile.lib.webforms``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pawfile.lib.ids import IdModelMultipleChoiceField
from pawfile.lib.images import MAX_BYTES, CropBox
from pawfile.pets.models import Contact, Note, Pet
from pawfile.pets.services import CONTACT_FIELDS, NOTE_FIELDS, PET_FIELDS

IMAGE_TYPES = "image/jpeg,image/png,image/webp,image/gif"


def _field(model: type[Pet | Contact | Note], name: str, **kwargs: Any) -> forms.Field:
    """The form field Django derives from the model field (label, length, choices)."""
    field = model._meta.get_field(name).formfield(**kwargs)  # type: ignore[union-attr]
    assert field is not None
    return field


def approximate_birth_date(years: int, months: int, today: dt.date | None = None) -> dt.date:
    """The date ``years`` and ``months`` before ``today`` (day clamped to the month's end)."""
    today = today or timezone.localdate()
    index = today.year * 12 + (today.month - 1) - (years * 12 + months)
    year, month0 = divmod(index, 12)
    day = min(today.day, calendar.monthrange(year, month0 + 1)[1])
    return dt.date(year, month0 + 1, day)


class PetForm(forms.Form):
    """Every field of ``Pet``; a birth date, or an approximate age that estimates one."""

    name = _field(Pet, "name")
    species = _field(Pet, "species")
    breed = _field(
        Pet,
        "breed",
        widget=forms.TextInput(attrs={"list": "breed-options", "autocomplete": "off"}),
        help_text=_("Pick a suggestion or type any breed, or “mixed”."),
    )
    sex = _field(Pet, "sex")
    birth_date = _field(
        Pet, "birth_date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    birth_date_estimated = _field(Pet, "birth_date_estimated")
    age_years = forms.IntegerField(
        label=_("Or approximate age: years"), min_value=0, max_value=60, required=False
    )
    age_months = forms.IntegerField(
        label=_("Months"),
        min_value=0,
        max_value=11,
        required=False,
        help_text=_("Without a birth date, the age sets an estimated one."),
    )
    neutered = _field(Pet, "neutered")
    # Longer than the stored 15 characters: people type spaces and dashes between groups,
    # which the service removes before it validates.
    microchip = forms.CharField(
        label=_("microchip number"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("15 digits, or 9–10 characters on older chips."),
    )
    colour = _field(Pet, "colour")
    size = _field(Pet, "size")
    weight_unit = _field(Pet, "weight_unit")
    allergies = _field(Pet, "allergies", widget=forms.Textarea(attrs={"rows": 2}))
    special_needs = _field(Pet, "special_needs", widget=forms.Textarea(attrs={"rows": 2}))
    about = _field(Pet, "about", widget=forms.Textarea(attrs={"rows": 3}))
    vet_name = _field(Pet, "vet_name")
    vet_phone = _field(Pet, "vet_phone", widget=forms.TextInput(attrs={"type": "tel"}))
    vet_clinic = _field(Pet, "vet_clinic")

    def __init__(self, *args: Any, breed_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if breed_url:
            # HTMX refills the breed <datalist> when the species changes.
            self.fields["species"].widget.attrs.update(
                {
                    "hx-get": breed_url,
                    "hx-target": "#breed-options",
                    "hx-trigger": "change",
                    "hx-swap": "innerHTML",
                }
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        years, months = data.get("age_years"), data.get("age_months")
        if years is None and months is None:
            return data
        if data.get("birth_date"):
            self.add_error(
                "age_years", _("Give either a birth date or an approximate age, not both.")
            )
            return data
        data["birth_date"] = approximate_birth_date(years or 0, months or 0)
        data["birth_date_estimated"] = True
        return data

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments for ``pet_create`` / ``pet_update``."""
        return {name: self.cleaned_data.get(name) for name in PET_FIELDS}

    @staticmethod
    def initial_for(pet: Pet) -> dict[str, Any]:
        return {name: getattr(pet, name) for name in PET_FIELDS}


class PhotoForm(forms.Form):
    """An image file, an optional caption and the square crop chosen in the browser.

    The crop box is in pixels of the image as displayed (EXIF orientation applied), which
    is how ``image_square_open`` reads it too. Without a crop box the centre square is kept.
    """

    image = forms.FileField(
        label=_("Photo"),
        widget=forms.FileInput(attrs={"accept": IMAGE_TYPES}),
        help_text=_("JPEG, PNG, WebP or GIF, up to 15 MB."),
        error_messages={"empty": _("The file is empty."), "required": _("Choose a photo.")},
    )
    caption = forms.CharField(label=_("Caption"), max_length=200, required=False)
    crop_left = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    crop_top = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    crop_size = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def clean_image(self) -> Any:
        upload = self.cleaned_data["image"]
        # Django caps form fields in memory, not file sizes: refuse before anyone reads it.
        if upload.size > MAX_BYTES:
            raise ValidationError(
                _("The file is larger than %(mb)s MB.") % {"mb": MAX_BYTES // (1024 * 1024)}
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The crop fields are hidden: their own messages would show nowhere, so say it once.
        if any(self.errors.pop(name, None) for name in ("crop_left", "crop_top", "crop_size")):
            self.add_error(
                None, _("The chosen square is not valid. Choose it again, or upload without one.")
            )
        return data

    def crop_box(self) -> CropBox | None:
        left, top, size = (self.cleaned_data.get(n) for n in ("crop_left", "crop_top", "crop_size"))
        if left is None or top is None or size is None:
            return None
        return CropBox(left=int(left), top=int(top), size=int(size))


class NoteForm(forms.Form):
    """A note: the editor in the browser writes HTML into ``body_html`` (sanitised on save)."""

    title = _field(Note, "title")
    body_html = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 6, "data-rich-editor": "true"}),
    )
    pinned = _field(Note, "pinned")

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in NOTE_FIELDS}


class ContactForm(forms.Form):
    """A household contact and the pets it is for."""

    name = _field(Contact, "name")
    relation = _field(
        Contact, "relation", help_text=_("For example: owner, neighbour, dog sitter.")
    )
    phone = _field(Contact, "phone", widget=forms.TextInput(attrs={"type": "tel"}))
    whatsapp = _field(Contact, "whatsapp")
    email = _field(Contact, "email")
    order = _field(Contact, "order", help_text=_("Contacts are listed from the lowest number."))
    show_on_public_page = _field(
        Contact,
        "show_on_public_page",
        help_text=_("Finders of a lost pet see this contact on its public page."),
    )
    pets = IdModelMultipleChoiceField(
        label=_("For these pets"),
        queryset=Pet.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, pets: QuerySet[Pet], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["pets"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = pets

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in CONTACT_FIELDS}

    def pet_ids(self) -> list[int]:
        return [pet.pk for pet in self.cleaned_data.get("pets", [])]

    @staticmethod
    def initial_for(contact: Contact) -> dict[str, Any]:
        initial = {name: getattr(contact, name) for name in CONTACT_FIELDS}
        initial["pets"] = [pet.pk for pet in contact.pets.all()]
        return initial
