"""What a phone channel's two-way messages can do, filled in by the apps above notifications.

Notifications sit below reminders, documents and qr in the layers, so the WhatsApp webhook
cannot call them. Those apps register here, from their ``AppConfig.ready``:

* a **reply action** (``reply_action_register``): a button shown under every notification of
  one ``kind`` ("Done", "Snooze 1 h" under a reminder). When the person presses it, the
  webhook calls ``run(user, notification)`` with the user whose *verified* phone sent the
  reply and the notification the button was attached to (only if that user is its
  recipient). ``run`` must check access itself (through its app's selectors, as for any
  request by that user) and return the answer text to send back; it may raise
  ``pawfile.lib.errors.NotFound``/``Forbidden``/``Conflict``, which become a polite answer.
* a **menu item** (``menu_item_register``): an entry of the "menu" a person gets by writing
  *menu*, one per pet they may see ("PDF report", "QR code"). ``build(user, pet_id)`` runs in
  the worker (not in the webhook's request) and returns an ``Attachment`` to send, or raises
  ``NotFound`` (no access, or nothing to send: e.g. a pet without a QR tag) with a message.

Registering the same name again replaces the entry (``ready`` may run twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# WhatsApp's limits: reply buttons have titles of at most 20 characters, three per message;
# a list message has at most 10 rows.
BUTTON_TITLE_MAX = 20
BUTTONS_MAX = 3
MENU_ROWS_MAX = 10


@dataclass(frozen=True)
class ReplyAction:
    name: str  # stable: it is inside the buttons already sent
    kind: str  # the notification kind it is offered under
    label: Any  # lazy text, at most 20 characters once translated
    run: Callable[[Any, Any], str]


@dataclass(frozen=True)
class Attachment:
    """A file to send back: ``media`` is ``document`` (a PDF) or ``image`` (a PNG)."""

    content: bytes
    mime: str
    filename: str
    media: str
    caption: str = ""


@dataclass(frozen=True)
class MenuItem:
    name: str
    label: Any  # lazy text, e.g. "PDF report"
    build: Callable[[Any, int], Attachment]


_ACTIONS: dict[str, ReplyAction] = {}
_MENU: dict[str, MenuItem] = {}


def reply_action_register(
    name: str, *, kind: str, label: Any, run: Callable[[Any, Any], str]
) -> None:
    """Offer button ``name`` (``label``) under notifications of ``kind``; see the module."""
    if ":" in name or "." in name:
        raise ValueError("action names may not contain ':' or '.'")
    _ACTIONS[name] = ReplyAction(name=name, kind=kind, label=label, run=run)


def reply_actions_for(kind: str) -> list[ReplyAction]:
    """The buttons for a notification of ``kind``, in registration order (at most 3)."""
    return [action for action in _ACTIONS.values() if action.kind == kind][:BUTTONS_MAX]


def reply_action_get(name: str) -> ReplyAction | None:
    return _ACTIONS.get(name)


def menu_item_register(name: str, *, label: Any, build: Callable[[Any, int], Attachment]) -> None:
    """Offer ``name`` (``label``) per pet in the WhatsApp menu; see the module."""
    if ":" in name or "." in name:
        raise ValueError("menu item names may not contain ':' or '.'")
    _MENU[name] = MenuItem(name=name, label=label, build=build)


def menu_items() -> list[MenuItem]:
    return list(_MENU.values())


def menu_item_get(name: str) -> MenuItem | None:
    return _MENU.get(name)
