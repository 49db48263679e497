"""Reminder pages: the reminders of a pet (and of all one's households), the form, the
history, and the buttons (done, snooze, skip, pause, resume, delete) as POSTs.

Every page asks the gate (``reminders.selectors``); refusals from services are shown by
``lib.webforms.service_refusals``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pawfile.accounts.access import Action, access_of
from pawfile.accounts.models import Membership, User
from pawfile.lib.dates import user_zone
from pawfile.lib.webforms import service_refusals
from pawfile.notifications.channels import channels_enabled
from pawfile.pets.models import Pet
from pawfile.reminders import recurrence, selectors, services
from pawfile.reminders.forms import ReminderForm, SnoozeForm, form_initial
from pawfile.reminders.models import Reminder

PANEL_ROWS = 5
ACTIONS = ("done", "skip", "pause", "resume", "snooze")
# Service field names that the form calls otherwise.
RENAME = {"rule": "frequency", "recurrence": "frequency"}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _can_write(pet: Pet) -> bool:
    access = access_of(pet)
    return access is not None and access.allows(Action.WRITE)


def pet_panel_context(request: HttpRequest, pet: Pet) -> Mapping[str, Any]:
    """The pet page's reminders card: the next few reminders of ``pet`` (read only; the
    buttons are on the reminders page, so the card holds no session and may be cached)."""
    user = _user(request)
    reminders = list(selectors.reminder_list(user=user, pet=pet)[:PANEL_ROWS])
    return {"reminders_rows": reminders, "reminders_can_write": _can_write(pet)}


def _form(
    request: HttpRequest, household_id: int, *, reminder: Reminder | None = None
) -> ReminderForm:
    members = [
        (m.user_id, m.user.name or m.user.email)
        for m in Membership.objects.filter(household_id=household_id)
        .select_related("user")
        .order_by("pk")
    ]
    channels = [(c.name, str(c.label)) for c in channels_enabled()]
    initial: dict[str, Any] = {"timezone": str(user_zone(_user(request)))}
    if reminder is not None:
        initial = form_initial(reminder)
    data = request.POST if request.method == "POST" else None
    return ReminderForm(
        data, initial=initial, members=members, channels=channels,
        automatic=bool(reminder and reminder.automatic),
    )  # fmt: skip


def _back(reminder: Reminder) -> HttpResponse:
    if reminder.pet_id is not None:
        return redirect("reminders:pet_list", pet_id=reminder.pet_id)
    return redirect("reminders:list")


@login_required
@require_GET
def reminder_list(request: HttpRequest) -> HttpResponse:
    """Every reminder of the households one belongs to, soonest first."""
    reminders = selectors.reminder_list(user=_user(request)).select_related("household")
    return render(request, "reminders/reminder_list.html", {"reminders": reminders})


@login_required
@require_GET
def pet_reminder_list(request: HttpRequest, pet_id: int) -> HttpResponse:
    user = _user(request)
    pet = selectors.pet_gate(user=user, pet_id=pet_id)
    reminders = selectors.reminder_list(user=user, pet=pet)
    context = {"pet": pet, "reminders": reminders, "can_write": _can_write(pet)}
    return render(request, "reminders/pet_reminders.html", context)


def _fields(form: ReminderForm) -> dict[str, Any] | None:
    """The service's fields from a valid form; ``None`` (with the error on the form) when
    the repetition chosen makes no rule."""
    try:
        return form.service_fields()
    except recurrence.RuleError:
        form.add_error("frequency", _("This repetition is not one we understand."))
        return None


@login_required
@require_http_methods(["GET", "POST"])
def reminder_create(request: HttpRequest, pet_id: int) -> HttpResponse:
    user = _user(request)
    pet = selectors.pet_gate(user=user, pet_id=pet_id, action=Action.WRITE)
    form = _form(request, pet.household_id)
    if request.method == "POST" and form.is_valid() and (fields := _fields(form)) is not None:
        with service_refusals(request, form=form, rename=RENAME) as outcome:
            services.reminder_create(actor=user, pet=pet, **fields)
        if outcome.ok:
            messages.success(request, _("The reminder was saved."))
            return redirect("reminders:pet_list", pet_id=pet.pk)
    status = 400 if request.method == "POST" else 200
    context = {"pet": pet, "form": form, "reminder": None}
    return render(request, "reminders/reminder_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def reminder_edit(request: HttpRequest, reminder_id: int) -> HttpResponse:
    user = _user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id, action=Action.WRITE)
    form = _form(request, reminder.household_id, reminder=reminder)
    if request.method == "POST" and form.is_valid() and (fields := _fields(form)) is not None:
        with service_refusals(request, form=form, rename=RENAME) as outcome:
            services.reminder_update(actor=user, reminder=reminder, **fields)
        if outcome.ok:
            messages.success(request, _("The reminder was saved."))
            return _back(reminder)
    status = 400 if request.method == "POST" else 200
    context = {"pet": reminder.pet, "form": form, "reminder": reminder}
    return render(request, "reminders/reminder_form.html", context, status=status)


@login_required
@require_GET
def reminder_detail(request: HttpRequest, reminder_id: int) -> HttpResponse:
    """The reminder and its history (who marked what done, when)."""
    user = _user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id)
    access = access_of(reminder)
    context = {
        "reminder": reminder,
        "pet": reminder.pet,
        "occurrences": selectors.occurrence_list(user=user, reminder=reminder)[:100],
        "can_write": access is not None and access.allows(Action.WRITE),
        "snooze_form": SnoozeForm(),
    }
    return render(request, "reminders/reminder_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def reminder_delete(request: HttpRequest, reminder_id: int) -> HttpResponse:
    user = _user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id, action=Action.WRITE)
    if request.method == "POST":
        with service_refusals(request) as outcome:
            services.reminder_delete(actor=user, reminder=reminder)
        if outcome.ok:
            messages.success(request, _("The reminder was deleted."))
        return _back(reminder)
    return render(request, "reminders/reminder_confirm_delete.html", {"reminder": reminder})


@login_required
@require_POST
def reminder_action(request: HttpRequest, reminder_id: int, action: str) -> HttpResponse:
    """Done, skip, pause, resume or snooze (``snooze_for``: 1h, tomorrow, until)."""
    if action not in ACTIONS:
        raise Http404
    user = _user(request)
    reminder = selectors.reminder_get(user=user, reminder_id=reminder_id, action=Action.WRITE)
    with service_refusals(request) as outcome:
        if action == "snooze":
            form = SnoozeForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Choose how long to snooze."))
                return _back(reminder)
            services.reminder_snooze(
                actor=user, reminder=reminder, snooze_for=form.cleaned_data["snooze_for"],
                until=form.cleaned_data["until"],
            )  # fmt: skip
        else:
            act = {
                "done": services.reminder_done,
                "skip": services.reminder_skip,
                "pause": services.reminder_pause,
                "resume": services.reminder_resume,
            }[action]
            act(actor=user, reminder=reminder)
    if outcome.ok:
        messages.success(request, DONE_MESSAGES[action]())
    return _back(reminder)


DONE_MESSAGES = {
    "done": lambda: _("Marked done."),
    "skip": lambda: _("The next time was skipped."),
    "pause": lambda: _("Paused: nothing is sent until you resume."),
    "resume": lambda: _("Resumed."),
    "snooze": lambda: _("Snoozed."),
}
