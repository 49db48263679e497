"""Rich text from the note editor, made safe: nh3 keeps a small set of tags and nothing that
runs (no script, no event handlers, no ``javascript:`` links)."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "a",
    "h2", "h3", "h4", "blockquote", "code", "pre",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def html_sanitize(value: str) -> str:
    """Return ``value`` with only the allowed tags and attributes; links get ``rel``."""
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


_BLOCK = re.compile(r"</(p|li|h[2-4]|blockquote|pre)>|<br\s*/?>", re.I)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(value: str) -> str:
    """Plain text of sanitised HTML, one line per block (for search and previews)."""
    text = _TAG.sub("", _BLOCK.sub("\n", value))
    lines = (line.strip() for line in html.unescape(text).splitlines())
    return "\n".join(line for line in lines if line)
