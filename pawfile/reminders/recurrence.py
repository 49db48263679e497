"""When a reminder's occurrences fall: an RFC 5545 RRULE expanded in an IANA zone.

A reminder keeps its first occurrence as a local date and time (``start``, naive: "09:00 on
3 March") plus the zone it lives in, and its recurrence as the value of an RRULE line
without ``DTSTART`` (``FREQ=DAILY;INTERVAL=1``; ``""`` for a one-off). The rule is expanded
by python-dateutil on *local wall-clock* times, and each local time is then turned into an
instant in the zone, so "every day at 09:00" stays at 09:00 on both sides of a DST change:

* a local time that does not exist (the clock jumps from 02:00 to 03:00, or Lord Howe's
  02:00 to 02:30) becomes the first valid instant after the gap (the jump itself), once;
* a local time that happens twice (the clock falls back) is the first of the two, once.

Everything here is pure: no database, no clock (callers pass ``after``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil import rrule as du

UTC = dt.UTC
# Frequencies a person can choose (HOURLY only for medication schedules such as "every 8
# hours"; MINUTELY and SECONDLY are refused: a reminder is not an alarm clock).
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
RULE_MAX = 500
# How far ahead an expansion looks before deciding a rule has no more occurrences (a rule
# such as "29 February every 4 years" still finds one).
HORIZON_YEARS = 30


class RuleError(ValueError):
    """The recurrence text is not a rule we accept; ``str(error)`` says why (in English, for
    logs; services show their own message)."""


@dataclass(frozen=True)
class Recurrence:
    """What a form or an API client chooses, turned into rule text by ``rule_build``.

    ``frequency``: ``once`` or one of ``daily|weekly|monthly|yearly``; ``interval`` ≥ 1;
    ``weekdays`` (weekly): ``MO``..``SU``; ``month_weekday`` (monthly on "the last Friday"):
    ``-1FR``, ``2TU``...; else monthly repeats on the start's day of the month. ``until`` (a
    local date, inclusive) or ``count``, not both.
    """

    frequency: str = "once"
    interval: int = 1
    weekdays: Sequence[str] = ()
    month_weekday: str = ""
    until: dt.date | None = None
    count: int | None = None


def rule_build(recurrence: Recurrence) -> str:
    """The RRULE value for ``recurrence`` (``""`` for once). Raises ``RuleError``."""
    r = recurrence
    if r.frequency == "once":
        return ""
    freq = r.frequency.upper()
    if freq not in FREQUENCIES or freq == "HOURLY":
        raise RuleError(f"unknown frequency {r.frequency!r}")
    if not 1 <= r.interval <= 999:
        raise RuleError("interval must be 1 to 999")
    parts = [f"FREQ={freq}", f"INTERVAL={r.interval}"]
    if freq == "WEEKLY" and r.weekdays:
        days = [d.upper() for d in r.weekdays]
        if any(d not in WEEKDAYS for d in days):
            raise RuleError("weekdays are MO, TU, WE, TH, FR, SA, SU")
        parts.append("BYDAY=" + ",".join(sorted(set(days), key=WEEKDAYS.index)))
    if freq == "MONTHLY" and r.month_weekday:
        parts.append("BYDAY=" + r.month_weekday.upper())
    if r.until is not None and r.count is not None:
        raise RuleError("give an end date or a number of times, not both")
    if r.until is not None:
        parts.append("UNTIL=" + r.until.strftime("%Y%m%dT235959"))
    if r.count is not None:
        if not 1 <= r.count <= 10_000:
            raise RuleError("count must be 1 to 10000")
        parts.append(f"COUNT={r.count}")
    text = ";".join(parts)
    rule_parse(text, start=dt.datetime(2000, 1, 1, 9, 0))  # checks BYDAY=-1FR and friends
    return text


def rule_parse(text: str, *, start: dt.datetime) -> du.rrule | None:
    """The dateutil rule for ``text`` starting at the naive local ``start``; ``None`` for a
    one-off (``""``). Raises ``RuleError`` for text that is not an RRULE value we accept
    (``DTSTART`` inside, ``MINUTELY``/``SECONDLY``, a zoned ``UNTIL``, too long)."""
    text = text.strip()
    if not text:
        return None
    if len(text) > RULE_MAX:
        raise RuleError("rule too long")
    upper = text.upper()
    if upper.startswith("RRULE:"):
        text, upper = text[6:], upper[6:]
    if "DTSTART" in upper or "\n" in text or "\r" in text:
        raise RuleError("give the rule without DTSTART, on one line")
    fields = dict(part.split("=", 1) for part in upper.split(";") if "=" in part)
    if fields.get("FREQ") not in FREQUENCIES:
        raise RuleError("FREQ must be DAILY, WEEKLY, MONTHLY, YEARLY or HOURLY")
    if fields.get("UNTIL", "").endswith("Z"):
        raise RuleError("UNTIL is a local time here (no Z)")
    try:
        rule = du.rrulestr(text, dtstart=start)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RuleError(f"not a valid RRULE: {exc}") from None
    if not isinstance(rule, du.rrule):
        raise RuleError("one RRULE only")
    return rule


def local_to_instant(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of the naive wall-clock time ``local`` in ``zone``.

    A time inside a spring-forward gap gives the first valid instant after it (the moment
    the clock jumps); a time that happens twice gives the first (``fold=0``)."""
    first = local.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant
    # In a gap: fold=0 reads it with the offset from before the jump, fold=1 with the one
    # after; the jump lies between the two readings. Find it to the second.
    low = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = instant
    if low > high:
        low, high = high, low
    before = low.astimezone(zone).utcoffset()
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def occurrences(
    *, start: dt.datetime, rule: str, zone: ZoneInfo, after: dt.datetime, inclusive: bool = False
) -> Iterator[dt.datetime]:
    """The occurrence instants (UTC, ascending) later than ``after`` (or equal, with
    ``inclusive``), for the naive local ``start`` and ``rule`` in ``zone``.

    Ends when the rule ends (``COUNT``, ``UNTIL``) or nothing falls within
    ``HORIZON_YEARS`` after ``after``. Raises ``RuleError`` for a bad rule."""
    parsed = rule_parse(rule, start=start)
    if parsed is None:
        instant = local_to_instant(start, zone)
        if instant > after or (inclusive and instant == after):
            yield instant
        return
    # Local times a day before ``after`` are enough to cover any offset (at most ±26 h
    # apart across zones, one zone here); instants are then compared exactly. COUNT needs
    # the walk from the start, which dateutil's iterator does by itself.
    local_after = after.astimezone(zone).replace(tzinfo=None) - dt.timedelta(days=2)
    horizon = after + dt.timedelta(days=366 * HORIZON_YEARS)
    last: dt.datetime | None = None
    for local in parsed.xafter(local_after, inc=True) if hasattr(parsed, "xafter") else parsed:
        if local < local_after:
            continue
        instant = local_to_instant(local, zone)
        if instant > horizon:
            return
        if last is not None and instant <= last:
            continue  # two local times in one gap land on the same instant: once
        last = instant
        if instant > after or (inclusive and instant == after):
            yield instant


def next_occurrence(
    *, start: dt.datetime, rule: str, zone: ZoneInfo, after: dt.datetime, inclusive: bool = False
) -> dt.datetime | None:
    """The first occurrence instant after ``after`` (see ``occurrences``), or ``None``."""
    return next(
        occurrences(start=start, rule=rule, zone=zone, after=after, inclusive=inclusive), None
    )


def rule_describe_parts(rule: str) -> dict[str, str]:
    """The rule's ``NAME=value`` parts (upper-case names), for display and the API."""
    return dict(part.split("=", 1) for part in rule.upper().split(";") if "=" in part)
