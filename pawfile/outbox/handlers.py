"""Who delivers each kind of outbox message: a small registry filled from ``AppConfig.ready``.

A handler is one function that takes the claimed :class:`~pawfile.outbox.models.OutboxMessage`
and delivers it. It returns normally when the provider accepted the message, and raises
:class:`DeliveryError` when it did not: ``permanent=True`` when trying again cannot help
(the address does not exist, the provider refused the content), else the message is retried
with backoff. Any other exception counts as a temporary failure. A provider that said when
to come back (``Retry-After``) is honoured by passing ``retry_after`` (seconds): the next
attempt is then not before it (capped, see ``outbox.services.retry_delay``). Handlers
should pass ``message.key`` to providers that take an idempotency key, and keep their
network timeouts well under ``PAWFILE_OUTBOX_LEASE``.

A handler may also have a ``prepare`` function: ``outbox_deliver_many`` calls it once with
all the claimed messages of its kind before delivering them one by one, so that it can read
what they all need in a few queries and keep it on each message (an attribute of the
instance). ``deliver`` must still work for a message that was not prepared (one delivered
alone, or one whose preparation raised).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pawfile.outbox.models import OutboxMessage


class DeliveryError(Exception):
    """The provider did not take the message; ``permanent`` says whether retrying can help,
    ``retry_after`` how many seconds the provider asked us to wait (``None``: not said)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Handler:
    kind: str
    deliver: Callable[[OutboxMessage], None]
    # For sensitive messages, the payload keys kept once the message is sent.
    keep_when_sent: tuple[str, ...] = ()
    # Optional: called with a batch's messages of this kind before they are delivered.
    prepare: Callable[[Sequence[OutboxMessage]], None] | None = None


_HANDLERS: dict[str, Handler] = {}


def register_handler(
    kind: str,
    deliver: Callable[[OutboxMessage], None],
    *,
    keep_when_sent: tuple[str, ...] = (),
    prepare: Callable[[Sequence[OutboxMessage]], None] | None = None,
) -> None:
    """Make ``deliver`` the handler of ``kind`` (with its batch ``prepare``, if any).

    Registering the same function again is allowed (``ready`` may run more than once);
    a second, different handler for a kind raises ``ValueError``.
    """
    existing = _HANDLERS.get(kind)
    if existing is not None and existing.deliver is not deliver:
        raise ValueError(f"outbox kind {kind!r} already has a handler")
    _HANDLERS[kind] = Handler(kind, deliver, tuple(keep_when_sent), prepare)


def handler_get(kind: str) -> Handler | None:
    """The handler registered for ``kind``, or ``None``."""
    return _HANDLERS.get(kind)


def handler_kinds() -> list[str]:
    """Every kind that has a handler, sorted."""
    return sorted(_HANDLERS)
