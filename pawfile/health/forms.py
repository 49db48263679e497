"""Forms for health records and their attachments.

``RecordForm`` is one class for every kind: it offers the date, the kind's own fields
(``choices.FIELDS``) and notes, nothing else. A weight is typed in the pet's unit (kg or lb)
and handed to the service in grams. The services stay the judges of what is valid: their
refusals come back onto the form's fields through ``pawfile.lib.webforms`` (``ERROR_FIELD``
names the form field of a service's field where the two differ).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pawfile.health import services
from pawfile.health.choices import FIELDS, NAME_LABEL, OPTIONAL_FIELDS, REQUIRED, Kind
from pawfile.health.models import HealthRecord
from pawfile.lib.numbers import DecimalInputField

ACCEPTED_UPLOADS = "application/pdf,image/jpeg,image/png,image/webp,.pdf,.jpg,.jpeg,.png,.webp"
# Service error keys that belong to a differently named form field.
ERROR_FIELD = {"weight_grams": "weight", "unit": "weight"}
WEIGHT_PLACES = {"kg": 3, "lb": 2}  # both about a gram, so a value survives the round trip


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class RecordForm(forms.Form):
    """The fields of one ``kind`` of record; ``unit`` is the pet's weight unit."""

    def __init__(
        self,
        data: Any = None,
        *,
        kind: str,
        unit: str = "kg",
        record: HealthRecord | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.kind, self.unit = kind, unit
        self.fields["date"] = forms.DateField(
            label=_("Date"),
            initial=timezone.localdate,
            widget=DateInput(attrs={"max": (timezone.localdate() + dt.timedelta(1)).isoformat()}),
        )
        for name in FIELDS[kind]:
            self.fields["weight" if name == "weight_grams" else name] = self._field(name)
        self.fields["notes"] = forms.CharField(
            label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
        )
        if record is not None:
            self.initial.update(self._initial(record))

    def _field(self, name: str) -> forms.Field:
        required = name in REQUIRED[self.kind]
        if name == "weight_grams":
            return DecimalInputField(
                label=_("Weight (%(unit)s)") % {"unit": self.unit},
                max_digits=10,
                decimal_places=WEIGHT_PLACES.get(self.unit, 3),
            )
        model_field = HealthRecord._meta.get_field(name)
        assert isinstance(model_field, models.Field)
        extra: dict[str, Any] = {"required": required}
        if name in ("next_due", "end_date"):
            extra["widget"] = DateInput()
        elif name in ("diagnosis", "result"):
            extra["widget"] = forms.Textarea(attrs={"rows": 3})
        elif name == "cost":
            extra["form_class"] = DecimalInputField
        elif name == "currency":
            extra["widget"] = forms.TextInput(
                attrs={"size": 3, "placeholder": "EUR", "autocapitalize": "characters"}
            )
        field = model_field.formfield(**extra)
        assert field is not None
        if name == "name":
            field.label = NAME_LABEL.get(Kind(self.kind), field.label)
        return field

    def _initial(self, record: HealthRecord) -> dict[str, Any]:
        initial: dict[str, Any] = {"date": record.date, "notes": record.notes}
        for name in FIELDS[self.kind]:
            if name == "weight_grams":
                if record.weight_grams:
                    initial["weight"] = services.weight_from_grams(
                        record.weight_grams, self.unit, places=WEIGHT_PLACES.get(self.unit, 3)
                    )
            else:
                initial[name] = getattr(record, name)
        return initial

    def clean(self) -> dict[str, Any]:
        """Refuse fields of other kinds: a browser never sends them, a crafted request might,
        and silently dropping them would hide the mistake from whoever built it."""
        cleaned = super().clean() or {}
        foreign = sorted(
            name
            for name in OPTIONAL_FIELDS
            if name not in self.fields and name in self.data and self.data.get(name) not in ("",)
        )
        if foreign:
            raise ValidationError(
                _("These fields do not apply to a %(kind)s record: %(fields)s.")
                % {"kind": Kind(self.kind).label.lower(), "fields": ", ".join(foreign)},
                code="foreign_fields",
            )
        return cleaned

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as the record services take them (a weight in grams).

        Raises ``Invalid`` when the weight is not sensible (see ``weight_to_grams``).
        """
        fields = dict(self.cleaned_data)
        if "weight" in fields:
            weight = fields.pop("weight")
            fields["weight_grams"] = services.weight_to_grams(weight, self.unit)
        return fields


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("A PDF or an image (JPEG, PNG, WebP), up to 15 MB."),
        widget=forms.FileInput(attrs={"accept": ACCEPTED_UPLOADS}),
    )
