"""What the QR app tells the apps above it when scans were written, without knowing them.

``scans_recorded_connect(fn)`` registers ``fn(scans)``, called by ``scans.scan_buffer_flush``
after each batch has committed with the scans it wrote: a list of ``RecordedScan`` tuples (the
code's id, the instant in epoch seconds, whether the user agent looked like a bot), plain
tuples as the flush has them, so a batch costs nothing per scan to hand over. A receiver must
be cheap (it runs on the flushing thread, between batches; up to 2,000 scans a batch, most of
them of codes it does not care about: it should pick its codes first and convert only their
scans' instants, ``scan_instant``) and must not raise: an exception is logged and the next
receiver still runs; the scans are written whatever a receiver does. The lost-pet app
connects one from its ``AppConfig.ready`` to alert the owners of a lost pet.

Connecting the same function again (``ready`` may run twice) keeps one registration.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

RecordedScan = tuple[str, float, bool]  # code id, instant (epoch seconds), bot


def scan_instant(at: float) -> dt.datetime:
    """A ``RecordedScan``'s instant as an aware datetime (UTC)."""
    return dt.datetime.fromtimestamp(at, tz=dt.UTC)


Receiver = Callable[[Sequence[RecordedScan]], None]

_receivers: dict[str, Receiver] = {}


def scans_recorded_connect(receiver: Receiver, *, uid: str | None = None) -> None:
    """Call ``receiver(scans)`` after every batch of scans is written (see the module
    docstring). ``uid`` names the registration (default: the function's qualified name)."""
    _receivers[uid or f"{receiver.__module__}.{receiver.__qualname__}"] = receiver


def scans_recorded_disconnect(uid: str) -> None:
    _receivers.pop(uid, None)


def scans_recorded_send(scans: Sequence[RecordedScan]) -> None:
    """Tell every receiver about ``scans`` (nothing to do for an empty batch)."""
    if not scans or not _receivers:
        return
    for uid, receiver in list(_receivers.items()):
        try:
            receiver(scans)
        except Exception:
            log.exception("qr scans: receiver %s failed on %d scans", uid, len(scans))


def has_receivers() -> bool:
    """Whether any app listens (the flush builds the list only then)."""
    return bool(_receivers)
