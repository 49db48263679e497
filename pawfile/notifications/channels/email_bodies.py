"""The text and HTML bodies of a notification mail, rendered once per language and shape
for a batch of mails instead of twice per mail.

``bodies_render(context)`` renders ``notifications/email.txt`` and ``email.html`` for one
mail. A batch (``channels.email.prepare``) makes one :class:`BatchBodies`: for the first mail
of each (language, shape) it renders the two templates once with stand-ins, unique
alphanumeric markers, in place of what differs from mail to mail (each notification's
title, body, link and address, the unsubscribe address), and cuts the result at the
markers; every mail of that language and shape is then the pieces joined with its own
values, put in as the templates put them (as they are in the text, which turns escaping
off; escaped in the HTML, the body through ``linebreaksbr``). The shape is how many
notifications the mail lists and which of them have a body and a link (the templates'
``{% if %}``).

The result is the templates' own, character for character (``tests/notifications/
test_email_bodies.py`` compares the two over awkward values and both languages); keep
the put-in rules above in step with the templates. A template that uses anything else of
a mail (another attribute of a notification or of the recipient) gives a marker this
module does not know: it notices, and renders that shape mail by mail, as does a value
that happens to hold a marker.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from django.template.defaultfilters import linebreaksbr
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.translation import get_language

TEXT, HTML = "notifications/email.txt", "notifications/email.html"
# Per process, so that no stored value can hold it by design.
_MARK = f"pf{secrets.token_hex(6)}"
_SLOT = re.compile(rf"{_MARK}([a-z]+)(\d+)x")
_FIELDS = ("title", "body", "link", "url")
_UNSUBSCRIBE = "unsubscribe"
_UNKNOWN = "unknown"


def bodies_render(context: Mapping[str, Any]) -> tuple[str, str]:
    """The text and the HTML body of one mail (``context``: see ``channels.email``)."""
    return render_to_string(TEXT, context), render_to_string(HTML, context)


def _mark(field: str, index: int) -> str:
    return f"{_MARK}{field}{index}x"


class _StandIn:
    """Stands for a notification (or the recipient) in a skeleton: the fields it knows are
    markers; any other attribute is the unknown marker, which voids the skeleton."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return _mark(_UNKNOWN, 0)

    def __str__(self) -> str:
        return _mark(_UNKNOWN, 0)


class _Skeleton:
    """One template's output cut at the markers: literal pieces and, between them, the
    (field, notification index) whose value goes there."""

    def __init__(self, rendered: str) -> None:
        parts = _SLOT.split(rendered)
        self.literals = parts[0::3]
        self.slots = [(parts[i], int(parts[i + 1])) for i in range(1, len(parts), 3)]

    def fill(self, values: Mapping[tuple[str, int], str]) -> str:
        out = [self.literals[0]]
        for slot, literal in zip(self.slots, self.literals[1:], strict=True):
            out += (values[slot], literal)
        return "".join(out)


def _as_text(field: str, value: str) -> str:
    return value  # the text template turns autoescaping off


def _as_html(field: str, value: str) -> str:
    if field == "body":
        return str(linebreaksbr(value, autoescape=True))
    return str(conditional_escape(value))


class BatchBodies:
    """The skeletons of one batch, by (language, shape); see the module docstring."""

    def __init__(self) -> None:
        self._skeletons: dict[tuple[Any, ...], tuple[_Skeleton, _Skeleton] | None] = {}

    def render(self, context: Mapping[str, Any]) -> tuple[str, str]:
        """What :func:`bodies_render` gives for ``context``, in the active language."""
        notifications = context["notifications"]
        values: dict[tuple[str, int], str] = {(_UNSUBSCRIBE, 0): str(context["unsubscribe_url"])}
        for index, notification in enumerate(notifications):
            for field in _FIELDS:
                values[(field, index)] = str(getattr(notification, field))
        if any(_MARK in value for value in values.values()):
            return bodies_render(context)
        present = tuple((bool(n.body), bool(n.link)) for n in notifications)
        shape = (
            get_language(),
            present,
            *(str(context[k]) for k in sorted(context) if k not in _PER_MAIL),
        )
        if shape not in self._skeletons:
            self._skeletons[shape] = _skeletons(context, present)
        skeletons = self._skeletons[shape]
        if skeletons is None:
            return bodies_render(context)
        text, html = skeletons
        return _filled(text, values, _as_text), _filled(html, values, _as_html)


# What differs from mail to mail in the context (everything else is part of the shape).
_PER_MAIL = frozenset({"recipient", "notifications", "unsubscribe_url"})


def _skeletons(context: Mapping[str, Any], shape: tuple[tuple[bool, bool], ...]) -> Any:
    """The two skeletons of ``shape``, or ``None`` when a template uses what they cannot
    stand for."""
    stand_ins = [
        _StandIn(
            {
                "title": _mark("title", i),
                "body": _mark("body", i) if body else "",
                "link": _mark("link", i) if link else "",
                "url": _mark("url", i),
            }
        )
        for i, (body, link) in enumerate(shape)
    ]
    skeleton_context = {
        **context,
        "recipient": _StandIn({}),
        "notifications": stand_ins,
        "unsubscribe_url": _mark(_UNSUBSCRIBE, 0),
    }
    text, html = bodies_render(skeleton_context)
    unknown = _mark(_UNKNOWN, 0)
    if unknown in text or unknown in html:
        return None
    return _Skeleton(text), _Skeleton(html)


def _filled(
    skeleton: _Skeleton,
    values: Mapping[tuple[str, int], str],
    put: Callable[[str, str], str],
) -> str:
    return skeleton.fill({slot: put(slot[0], values[slot]) for slot in set(skeleton.slots)})
