"""The addresses a public page holds (its finder form, its photo), without a ``reverse()`` per draw.

``reverse()`` walks the URL resolver and checks the candidate against the route's pattern:
some 30 µs each, a tenth of a fresh draw of ``/p/{slug}``. Here a route is reversed once
(per script prefix and URL configuration) with sample values, then split where the samples
went; an address is the pieces joined around the real values. That is what ``reverse()``
gives for values made only of characters a URL keeps as they are (``[0-9a-z-]``: the
slug's alphabet, a UUID), the only ones taken here; any other value goes through
``reverse()`` itself. The routes stay where they are (``lostpet/urls.py``): nothing here
knows their shape, and ``tests/lostpet/test_public_fast.py`` compares the two answers.
"""

from __future__ import annotations

import re
from functools import cache

from django.urls import get_script_prefix, get_urlconf, reverse

# One sample per parameter that varies, each matching its pattern in lostpet/urls.py.
SAMPLES = {"slug": "pawfilesampleslug", "key": "fedcba98-7654-3210-fedc-ba9876543210"}
PLAIN = re.compile(r"[0-9a-z-]+")
Params = tuple[tuple[str, str], ...]


@cache
def _pieces(
    name: str, varying: tuple[str, ...], fixed: Params, prefix: str, urlconf: str | None
) -> tuple[str, ...] | None:
    """The text around the ``varying`` parameters (in that order) in ``name``'s address, or
    ``None`` when a sample does not appear exactly once, in that order."""
    samples = {param: SAMPLES[param] for param in varying}
    address = reverse(name, urlconf=urlconf, kwargs={**dict(fixed), **samples})
    pieces, rest = [], address
    for sample in samples.values():
        if address.count(sample) != 1 or sample not in rest:
            return None
        before, rest = rest.split(sample)
        pieces.append(before)
    return (*pieces, rest)


def _address(name: str, values: Params, fixed: Params = ()) -> str:
    """``reverse(name, kwargs=values + fixed)``; ``values`` in their order in the address."""
    varying = tuple(param for param, _value in values)
    pieces = _pieces(name, varying, fixed, get_script_prefix(), get_urlconf())
    if pieces is None or not all(PLAIN.fullmatch(value) for _param, value in values):
        return reverse(name, kwargs={**dict(fixed), **dict(values)})
    out = [pieces[0]]
    for (_param, value), piece in zip(values, pieces[1:], strict=True):
        out += [value, piece]
    return "".join(out)


def finder_url(slug: str) -> str:
    """``/p/{slug}/found/``: the finder's form of a page."""
    return _address("lostpet:finder", (("slug", slug),))


def photo_url(slug: str, key: str, variant: str = "card") -> str:
    """``/p/{slug}/photo/{key}-{variant}.webp``: the public address of a page's photo."""
    values = (("slug", slug), ("key", key))
    return _address("lostpet:public_photo", values, (("variant", variant), ("fmt", "webp")))
