"""The reminder form (phone-friendly: native date, time and select inputs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pawfile.reminders import recurrence
from pawfile.reminders.choices import LEAD_CHOICES, Frequency, MonthlyBy, SnoozeFor, Weekday

WEEKDAY_INDEX = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ENDS = [("never", _("Never")), ("until", _("On a date")), ("count", _("After a number of times"))]


class ReminderForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    start_date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}))
    frequency = forms.ChoiceField(label=_("Repeat"), choices=Frequency.choices)
    interval = forms.IntegerField(
        label=_("Every how many (days, weeks...)"), min_value=1, max_value=999, initial=1
    )
    weekdays = forms.MultipleChoiceField(
        label=_("On these days (weekly)"),
        choices=Weekday.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    monthly_by = forms.ChoiceField(
        label=_("Monthly"), choices=MonthlyBy.choices, initial=MonthlyBy.DAY
    )
    ends = forms.ChoiceField(label=_("Ends"), choices=ENDS, initial="never")
    until = forms.DateField(
        label=_("Last date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    count = forms.IntegerField(
        label=_("Number of times"), min_value=1, max_value=10_000, required=False
    )
    lead_minutes = forms.TypedChoiceField(
        label=_("Remind me"), choices=LEAD_CHOICES, coerce=int, initial=0
    )
    channels = forms.MultipleChoiceField(
        label=_("Send by"), required=False, widget=forms.CheckboxSelectMultiple
    )
    assignee_id = forms.TypedChoiceField(
        label=_("Who does it"), required=False, coerce=int, empty_value=None
    )
    timezone = forms.CharField(label=_("Time zone"), max_length=64)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args: Any,
        members: list[tuple[int, str]],
        channels: list[tuple[str, str]],
        automatic: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee_id"]
        assert isinstance(assignee, forms.TypedChoiceField)
        assignee.choices = [("", _("Anyone in the household")), *members]
        sent_by = self.fields["channels"]
        assert isinstance(sent_by, forms.MultipleChoiceField)
        sent_by.choices = channels
        self.automatic = automatic
        if automatic:  # the date and the repetition follow the health record
            for name in ("start_date", "frequency", "interval", "weekdays", "monthly_by",
                         "ends", "until", "count", "timezone"):  # fmt: skip
                del self.fields[name]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.automatic or self.errors:
            return data
        if data.get("ends") == "until" and not data.get("until"):
            self.add_error("until", _("Choose the last date."))
        if data.get("ends") == "count" and not data.get("count"):
            self.add_error("count", _("Say how many times."))
        return data

    def rule(self) -> str:
        """The RRULE value the choices make (``""`` once); ``RuleError`` if they make none."""
        data = self.cleaned_data
        start: dt.date = data["start_date"]
        month_weekday = ""
        if data["frequency"] == Frequency.MONTHLY and data["monthly_by"] != MonthlyBy.DAY:
            place = (
                "-1"
                if data["monthly_by"] == MonthlyBy.LAST_WEEKDAY
                else str((start.day - 1) // 7 + 1)
            )
            month_weekday = place + WEEKDAY_INDEX[start.weekday()]
        return recurrence.rule_build(
            recurrence.Recurrence(
                frequency=data["frequency"],
                interval=data["interval"] or 1,
                weekdays=data.get("weekdays") or (),
                month_weekday=month_weekday,
                until=data["until"] if data["ends"] == "until" else None,
                count=data["count"] if data["ends"] == "count" else None,
            )
        )

    def service_fields(self) -> dict[str, Any]:
        """What ``reminders.services`` takes, from the cleaned form."""
        data = self.cleaned_data
        fields = {
            "title": data["title"],
            "notes": data["notes"],
            "start_time": data["start_time"],
            "lead_minutes": data["lead_minutes"],
            "channels": list(data["channels"]),
            "assignee_id": data["assignee_id"],
        }
        if not self.automatic:
            fields.update(
                start_date=data["start_date"], timezone=data["timezone"], rule=self.rule()
            )
        return fields


def form_initial(reminder: Any) -> dict[str, Any]:
    """The form's values for an existing reminder (the rule read back into choices)."""
    parts = recurrence.rule_describe_parts(reminder.rule)
    freq = parts.get("FREQ", "").lower() or Frequency.ONCE
    byday = parts.get("BYDAY", "")
    monthly_by = MonthlyBy.DAY
    if freq == Frequency.MONTHLY and byday:
        monthly_by = MonthlyBy.LAST_WEEKDAY if byday.startswith("-1") else MonthlyBy.WEEKDAY
    until = parts.get("UNTIL")
    return {
        "title": reminder.title,
        "notes": reminder.notes,
        "start_date": reminder.start_date,
        "start_time": reminder.start_time,
        "frequency": freq if freq in Frequency.values else Frequency.DAILY,
        "interval": int(parts.get("INTERVAL", "1") or 1),
        "weekdays": byday.split(",") if freq == Frequency.WEEKLY and byday else [],
        "monthly_by": monthly_by,
        "ends": "until" if until else "count" if parts.get("COUNT") else "never",
        "until": dt.datetime.strptime(until[:8], "%Y%m%d").date() if until else None,
        "count": int(parts["COUNT"]) if parts.get("COUNT") else None,
        "lead_minutes": reminder.lead_minutes,
        "channels": reminder.channels,
        "assignee_id": reminder.assignee_id,
        "timezone": reminder.timezone,
    }


class SnoozeForm(forms.Form):
    snooze_for = forms.ChoiceField(choices=SnoozeFor.choices)
    until = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
