"""``/api/v1`` endpoints for reminders.

``GET /reminders`` lists every reminder of the caller's households (filters: ``pet_id``,
``due_after``/``due_before`` on the next occurrence), ``GET /pets/{pet_id}/reminders`` one
pet's; both include the automatic ones that follow health records (``source`` other than
``manual``, ``automatic: true``). Writes: create, PATCH, DELETE, and the actions done,
snooze, skip, pause, resume as POSTs. Access is the one rule (``accounts.access``):
strangers 404, viewers read but get 403 on writes. Bad input is 422 naming the field; what
the clock or the reminder's state refuses is 409 (a one-off whose time has passed, a snooze
beyond 30 days, changing the date of a reminder that follows a health record).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import BeforeValidator, ConfigDict, PlainValidator, WithJsonSchema

from pawfile.accounts.apiauth import acting_user
from pawfile.accounts.models import Household, zone_names
from pawfile.lib.api import Date, Id, InputSchema, optional, responses, set_fields, unset
from pawfile.lib.errors import Invalid
from pawfile.lib.pagination import Page, PageQuery, paginate
from pawfile.reminders import recurrence, selectors, services
from pawfile.reminders.choices import (
    LEAD_MAX,
    Frequency,
    MonthlyBy,
    OccurrenceStatus,
    SnoozeFor,
    Source,
    Weekday,
)
from pawfile.reminders.models import Occurrence, Reminder

router = Router(tags=["reminders"])

NO_CONTENT = responses({204: None})
_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
# An ISO 8601 date and time, as text (pydantic alone would take a number as a timestamp).
Instant = Annotated[
    dt.datetime,
    BeforeValidator(lambda value: _iso_instant(value)),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` with an offset; one sent without is in the caller's zone (active)."""
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value)


def _iso_instant(value: Any) -> Any:
    if isinstance(value, dt.datetime) or (isinstance(value, str) and _ISO_INSTANT.fullmatch(value)):
        return value
    raise ValueError(_("Give a date and time such as 2026-12-03T20:00:00+01:00."))


# A wall-clock time without an offset (JSON Schema's "time" format requires one).
LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
LocalTime = Annotated[
    dt.time,
    PlainValidator(lambda value: _local_time(value)),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME, "examples": ["20:00"]}),
]


def _local_time(value: Any) -> dt.time:
    if isinstance(value, str) and re.match(LOCAL_TIME, value):
        return dt.time.fromisoformat(value)
    raise ValueError(_("Give the time as HH:MM."))


WEEKDAY_INDEX = {0: "MO", 1: "TU", 2: "WE", 3: "TH", 4: "FR", 5: "SA", 6: "SU"}


# --- Schemas -----------------------------------------------------------------------------------


class RecurrenceIn(InputSchema):
    """How the reminder repeats. ``monthly_by``: on the start's day of the month, on the
    same weekday at the same place ("2nd Tuesday") or the last such weekday ("last
    Friday"). End with ``until`` (a local date, inclusive) or ``count``, not both, or
    neither (for ever)."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["until", "count"]}})

    frequency: Frequency = Frequency.ONCE
    interval: int = Field(1, ge=1, le=999)
    weekdays: list[Weekday] = Field(default_factory=list, max_length=7)
    monthly_by: MonthlyBy = MonthlyBy.DAY
    until: Date = unset()
    count: int = unset(ge=1, le=10_000)


RECURRENCE_DEFAULTS = {
    name: field.get_default(call_default_factory=True)
    for name, field in RecurrenceIn.model_fields.items()
}
# One line with something in it (``lib.text``).
_ON_A_LINE = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
TITLE_PATTERN = rf"^{_ON_A_LINE}*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]{_ON_A_LINE}*$"
ChannelName = Annotated[str, Field(pattern=services.CHANNEL_NAME.pattern)]


def _zone_enum(schema: dict[str, Any]) -> None:
    schema.pop("default", None)
    schema["enum"] = ["", *sorted(zone_names())]


ZONE_DESCRIPTION = "IANA zone; empty or left out: the caller's own zone."


class ReminderIn(InputSchema):
    title: str = Field(max_length=120, pattern=TITLE_PATTERN)
    notes: str = Field("", max_length=5000)
    start_date: Date = Field(description="The first occurrence's local date.")
    start_time: LocalTime = Field(description="Local time of day in `timezone`, `HH:MM`.")
    timezone: str = Field("", description=ZONE_DESCRIPTION, json_schema_extra=_zone_enum)
    recurrence: RecurrenceIn | None = None
    lead_minutes: int = Field(0, ge=0, le=LEAD_MAX, description="Send this long before.")
    channels: list[ChannelName] = Field(default_factory=list, max_length=10)
    assignee_id: Id | None = Field(None, description="A member of the household.")


class ReminderCreate(ReminderIn):
    """For a pet (``pet_id``) or a whole household (``household_id``): one of the two."""

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["pet_id"]}, {"required": ["household_id"]}]}
    )

    pet_id: Id = unset(description="The pet; leave out for the household.")
    household_id: Id = unset(description="Needed when there is no `pet_id`.")


class ReminderPatch(InputSchema):
    title: str = unset(max_length=120, pattern=TITLE_PATTERN)
    notes: str = unset(max_length=5000)
    start_date: Date = unset()
    start_time: LocalTime = unset()
    timezone: str = Field(
        None,  # type: ignore[assignment]  # left out: unchanged; null is refused
        description=ZONE_DESCRIPTION,
        json_schema_extra=_zone_enum,
    )
    recurrence: RecurrenceIn = unset()
    lead_minutes: int = unset(ge=0, le=LEAD_MAX)
    channels: list[ChannelName] = unset(max_length=10)
    assignee_id: Id | None = unset()


class SnoozeIn(InputSchema):
    # ``until`` is needed exactly when ``snooze_for`` is ``until``.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"snooze_for": {"const": "until"}}, "required": ["snooze_for"]},
            "then": {"required": ["until"], "properties": {"until": {"type": "string"}}},
        }
    )

    snooze_for: SnoozeFor = Field(
        description="`1h`, `tomorrow` (09:00 in the reminder's zone) or `until`."
    )
    until: Instant | None = Field(
        None,
        description="With `until`: a time in the next 30 days (else 409); without an offset "
        "it is local to the reminder.",
    )


class ReminderOut(Schema):
    @staticmethod
    def resolve_start_time(obj: Reminder) -> str:
        return obj.start_time.strftime("%H:%M")

    id: int
    household_id: int
    pet_id: int | None
    title: str
    notes: str
    source: Source
    automatic: bool = Field(description="Follows a health record (`record_id`).")
    record_id: int | None
    start_date: dt.date
    start_time: str = Field(description="Local time of day, `HH:MM`.")
    timezone: str
    rule: str = Field(description="RRULE value without DTSTART; empty: once.")
    lead_minutes: int
    channels: list[str]
    assignee_id: int | None
    paused: bool
    next_due_at: dt.datetime | None = Field(description="The next occurrence (UTC).")
    next_fire_at: dt.datetime | None = Field(description="When it will be sent (UTC).")
    snoozed_until: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class OccurrenceOut(Schema):
    id: int
    due_at: dt.datetime
    status: OccurrenceStatus
    fired_at: dt.datetime | None
    snoozed_until: dt.datetime | None
    by_id: int | None
    at: dt.datetime


class ReminderFilters(PageQuery):
    pet_id: Id | None = optional(description="Only this pet's reminders.")
    due_after: Instant | None = optional(
        description="Next occurrence at or after (without an offset: in your own zone)."
    )
    due_before: Instant | None = optional(description="Next occurrence before (idem).")


# --- Helpers -----------------------------------------------------------------------------------


def _rule_of(data: dict[str, Any]) -> dict[str, Any]:
    """``recurrence`` of a body as the service's ``rule`` (RRULE value)."""
    given = data.pop("recurrence", None)
    if given is None:
        return data
    given = {**RECURRENCE_DEFAULTS, **given}  # what was left out: the defaults
    start = data.get("start_date")
    month_weekday = ""
    if given["frequency"] == Frequency.MONTHLY and given["monthly_by"] != MonthlyBy.DAY:
        if start is None:
            raise Invalid(
                _("Give the start date too: the monthly weekday is taken from it."),
                field="start_date",
            )
        day = WEEKDAY_INDEX[start.weekday()]
        place = (
            "-1" if given["monthly_by"] == MonthlyBy.LAST_WEEKDAY else str((start.day - 1) // 7 + 1)
        )
        month_weekday = place + day
    try:
        data["rule"] = recurrence.rule_build(
            recurrence.Recurrence(
                frequency=str(given["frequency"]),
                interval=given["interval"],
                weekdays=[str(d) for d in given["weekdays"]],
                month_weekday=month_weekday,
                until=given.get("until"),
                count=given.get("count"),
            )
        )
    except recurrence.RuleError:
        raise Invalid(_("This repetition is not one we understand."), field="recurrence") from None
    return data


# --- Endpoints ---------------------------------------------------------------------------------


@router.get(
    "/reminders", response=responses({200: Page[ReminderOut]}), summary="Reminders I may see"
)
def reminder_list(request: HttpRequest, filters: Query[ReminderFilters]) -> dict[str, Any]:
    user = acting_user(request)
    pet = selectors.pet_gate(user=user, pet_id=filters.pet_id) if filters.pet_id else None
    reminders = selectors.reminder_list(
        user=user,
        pet=pet,
        due_after=_aware(filters.due_after),
        due_before=_aware(filters.due_before),
    )
    return paginate(reminders, filters, order=("id",))


@router.get(
    "/pets/{pet_id}/reminders",
    response=responses({200: Page[ReminderOut]}),
    summary="A pet's reminders",
)
def pet_reminder_list(
    request: HttpRequest, pet_id: Id, filters: Query[ReminderFilters]
) -> dict[str, Any]:
    user = acting_user(request)
    pet = selectors.pet_gate(user=user, pet_id=pet_id)
    reminders = selectors.reminder_list(
        user=user,
        pet=pet,
        due_after=_aware(filters.due_after),
        due_before=_aware(filters.due_before),
    )
    return paginate(reminders, filters, order=("id",))


@router.post("/reminders", response=responses({201: ReminderOut}), summary="Add a reminder")
def reminder_create(request: HttpRequest, payload: ReminderCreate) -> Status[Reminder]:
    user = acting_user(request)
    data = _rule_of(set_fields(payload))
    pet_id, household_id = data.pop("pet_id", None), data.pop("household_id", None)
    pet = selectors.pet_gate(user=user, pet_id=pet_id) if pet_id else None
    household = Household(pk=household_id) if household_id and pet is None else None
    if pet is None and household is None:
        raise Invalid(fields={"pet_id": [_("Give a pet_id or a household_id.")]})
    reminder = services.reminder_create(actor=user, pet=pet, household=household, **data)
    return Status(201, reminder)


@router.post(
    "/pets/{pet_id}/reminders",
    response=responses({201: ReminderOut}),
    summary="Add a reminder for a pet",
)
def pet_reminder_create(request: HttpRequest, pet_id: Id, payload: ReminderIn) -> Status[Reminder]:
    user = acting_user(request)
    data = _rule_of(set_fields(payload))
    pet = selectors.pet_gate(user=user, pet_id=pet_id)
    return Status(201, services.reminder_create(actor=user, pet=pet, **data))


@router.get(
    "/reminders/{reminder_id}", response=responses({200: ReminderOut}), summary="A reminder"
)
def reminder_detail(request: HttpRequest, reminder_id: Id) -> Reminder:
    return selectors.reminder_get(user=acting_user(request), reminder_id=reminder_id)


@router.patch(
    "/reminders/{reminder_id}", response=responses({200: ReminderOut}), summary="Change a reminder"
)
def reminder_update(request: HttpRequest, reminder_id: Id, payload: ReminderPatch) -> Reminder:
    user = acting_user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id)
    data = set_fields(payload)
    if "recurrence" in data and "start_date" not in data:
        data["start_date"] = reminder.start_date
    return services.reminder_update(actor=user, reminder=reminder, **_rule_of(data))


@router.delete("/reminders/{reminder_id}", response=NO_CONTENT, summary="Delete a reminder")
def reminder_delete(request: HttpRequest, reminder_id: Id) -> Status[None]:
    user = acting_user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id)
    services.reminder_delete(actor=user, reminder=reminder)
    return Status(204, None)


@router.get(
    "/reminders/{reminder_id}/occurrences",
    response=responses({200: Page[OccurrenceOut]}),
    summary="A reminder's history",
)
def occurrence_list(
    request: HttpRequest, reminder_id: Id, filters: Query[PageQuery]
) -> dict[str, Any]:
    user = acting_user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id)
    return paginate(
        selectors.occurrence_list(user=user, reminder=reminder), filters, order=("-id",)
    )


@router.post(
    "/reminders/{reminder_id}/done",
    response=responses({200: OccurrenceOut}),
    summary="Mark the waiting (or next) occurrence done",
)
def reminder_done(request: HttpRequest, reminder_id: Id) -> Occurrence:
    user = acting_user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id)
    return services.reminder_done(actor=user, reminder=reminder)


@router.post(
    "/reminders/{reminder_id}/skip",
    response=responses({200: OccurrenceOut}),
    summary="Skip the next occurrence",
)
def reminder_skip(request: HttpRequest, reminder_id: Id) -> Occurrence:
    user = acting_user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id)
    return services.reminder_skip(actor=user, reminder=reminder)


@router.post(
    "/reminders/{reminder_id}/snooze",
    response=responses({200: OccurrenceOut}),
    summary="Send the waiting occurrence again later",
)
def reminder_snooze(request: HttpRequest, reminder_id: Id, payload: SnoozeIn) -> Occurrence:
    user = acting_user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id)
    return services.reminder_snooze(
        actor=user, reminder=reminder, snooze_for=payload.snooze_for, until=payload.until
    )


@router.post(
    "/reminders/{reminder_id}/pause", response=responses({200: ReminderOut}), summary="Pause"
)
def reminder_pause(request: HttpRequest, reminder_id: Id) -> Reminder:
    user = acting_user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id)
    return services.reminder_pause(actor=user, reminder=reminder)


@router.post(
    "/reminders/{reminder_id}/resume", response=responses({200: ReminderOut}), summary="Resume"
)
def reminder_resume(request: HttpRequest, reminder_id: Id) -> Reminder:
    user = acting_user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id)
    return services.reminder_resume(actor=user, reminder=reminder)
