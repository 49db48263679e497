"""The notification settings form: a checkbox per kind x channel, quiet hours, digest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pawfile.notifications.channels.base import Channel
from pawfile.notifications.choices import Kind


def field_name(kind: str, channel: str) -> str:
    return f"on__{kind}__{channel}"


class SettingsForm(forms.Form):
    quiet_start = forms.TimeField(
        label=_("Quiet from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(
        label=_("Quiet until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    digest = forms.BooleanField(
        label=_("Send me one daily digest instead of each message"), required=False
    )

    def __init__(self, *args: Any, channels: list[Channel], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channels = channels
        for kind in Kind:
            for channel in channels:
                self.fields[field_name(kind.value, channel.name)] = forms.BooleanField(
                    label=f"{kind.label}: {channel.label}", required=False
                )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
            raise forms.ValidationError(
                _("Give both the start and the end of the quiet hours, or neither.")
            )
        return data

    def rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        """One row per kind: its label and one checkbox per channel."""
        return [
            (str(kind.label), [self[field_name(kind.value, c.name)] for c in self.channels])
            for kind in Kind
        ]

    def off(self) -> set[tuple[str, str]]:
        return {
            (kind.value, c.name)
            for kind in Kind
            for c in self.channels
            if not self.cleaned_data.get(field_name(kind.value, c.name))
        }
