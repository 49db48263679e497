"""``{% shell_cached a b c %}…{% endshell_cached %}``: a part of the page shell drawn once
per process for each distinct value of what it shows.

The header (brand, tab bar, menus) is the same markup on every page a person opens, yet it
cost more than half of a cached page's time to draw (tens of ``{% url %}``, ``{% translate %}``
and ``{% if %}`` nodes). This tag keeps the drawn markup in a small per-process LRU keyed by
*everything it shows*: the values passed to the tag (the caller lists each one: user id,
name, e-mail, staff flag, the households' ids and names, the path, the language, the
theme…). The key is the content, so no change anywhere needs to invalidate it, and nothing
is shared between processes (no cache round trip); a new value simply draws a new entry and
the least recently used one goes.

Contract for the caller: every variable the block reads must be among the tag's arguments,
except ``csrf_token``, which the block may use freely: it is drawn as a placeholder and the
request's own token is put in on every use (so one person's token is never shown to another
session of theirs). No ``{% block %}`` goes inside (a child template could not override it).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.utils.safestring import SafeString, mark_safe

from pawfile.lib.lru import LRU

register = template.Library()

MAX_ENTRIES = 512  # about 6 KB each: a few MB at most, nothing at idle
CSRF_PLACEHOLDER = "__pawfile_shell_csrf__"

_entries: LRU[str] = LRU(MAX_ENTRIES)


def shell_cache_clear() -> None:
    """Forget every drawn part (tests; a new release reloads the process anyway)."""
    _entries.clear()


def _key(values: list[Any]) -> str:
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


class ShellCachedNode(template.Node):
    # ``{% extends %}`` looks for blocks through every node of the base template on every
    # render; it need not walk the drawn parts (a block in one would be drawn once anyway).
    child_nodelists: tuple[str, ...] = ()

    def __init__(self, nodelist: NodeList, vary_on: list[FilterExpression]) -> None:
        self.nodelist = nodelist
        self.vary_on = vary_on

    def render(self, context: Context) -> SafeString:
        values: list[Any] = []
        for expression in self.vary_on:
            value = expression.resolve(context)
            if hasattr(value, "all"):  # a related manager or queryset: its rows, as data
                value = [(row.pk, str(row)) for row in value.all()]
            values.append(value)
        key = _key(values)
        html = _entries.get(key)
        if html is None:
            with context.push(csrf_token=CSRF_PLACEHOLDER):
                html = self.nodelist.render(context)
            _entries.put(key, html)
        if CSRF_PLACEHOLDER in html:
            html = html.replace(CSRF_PLACEHOLDER, str(context.get("csrf_token", "")))
        return mark_safe(html)  # noqa: S308 - drawn by the template engine, escaped there


@register.tag
def shell_cached(parser: Parser, token: Token) -> ShellCachedNode:
    """``{% shell_cached var1 var2 … %}`` … ``{% endshell_cached %}`` (see the module)."""
    bits = token.split_contents()[1:]
    nodelist = parser.parse(("endshell_cached",))
    parser.delete_first_token()
    return ShellCachedNode(nodelist, [parser.compile_filter(bit) for bit in bits])
