"""Which backup archives to keep: the newest of each of the last N hours, days and weeks."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

ARCHIVE = re.compile(r"^pawfile-backup-(\d{8}T\d{6}Z)\.tar(\.age)?$")


def archives(directory: Path) -> list[tuple[datetime, Path]]:
    """The archives Pawfile wrote in ``directory``, newest first (other files are ignored)."""
    found = []
    for path in directory.glob("pawfile-backup-*"):
        match = ARCHIVE.match(path.name)
        if match and path.is_file():
            when = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            found.append((when, path))
    return sorted(found, reverse=True)


def archives_to_keep(
    stamps: list[datetime], *, hourly: int, daily: int, weekly: int
) -> set[datetime]:
    """Of ``stamps``, those kept: the newest always, and the newest of each of the ``hourly``
    most recent hours that have one, likewise of days and of ISO weeks (a stamp can count
    for all three)."""
    ordered = sorted(stamps, reverse=True)
    keep = set(ordered[:1])
    periods = (
        (hourly, lambda t: (t.year, t.month, t.day, t.hour)),
        (daily, lambda t: (t.year, t.month, t.day)),
        (weekly, lambda t: tuple(t.isocalendar())[:2]),
    )
    for count, period in periods:
        seen: set[tuple[int, ...]] = set()
        for stamp in ordered:
            key = period(stamp)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.add(key)
            keep.add(stamp)
    return keep


def archives_prune(directory: Path, *, hourly: int, daily: int, weekly: int) -> list[Path]:
    """Delete the archives ``archives_to_keep`` does not keep; the paths deleted."""
    found = archives(directory)
    keep = archives_to_keep([when for when, _ in found], hourly=hourly, daily=daily, weekly=weekly)
    deleted = []
    for when, path in found:
        if when not in keep:
            path.unlink(missing_ok=True)
            deleted.append(path)
    return deleted
