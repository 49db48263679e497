"""Where a pet's tag leads: the path of the pet's public page, named by a higher app.

The public page of a pet (``/p/{slug}``) belongs to the lost-pet app, which sits above QR
codes in the layers: qr must not import it. So the lost-pet app registers, from its
``AppConfig.ready``, one function ``resolver(pet) -> str`` giving the path (or absolute URL)
of the pet's public page; ``pet_page_path(pet)`` calls it. The path is stored on the code
(``target_url``) when the code is made or linked, so the redirect layer never calls out.

A pet whose page path changes (a new slug) has its codes re-pointed by
``services.pet_codes_retarget(pet)``, which the lost-pet app calls after the change.

Without a registered resolver (lost-pet app not installed) a pet code leads to the pet's
page inside the app (``/pets/{id}/``), which only its household can open.

The returned value must be a path starting with a single ``/`` or an http(s) address, made
only of printable ASCII (it goes into a ``Location`` header as it is).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Resolver = Callable[[Any], str]

_resolver: list[Resolver] = []
_SAFE = re.compile(r"^(/(?![/\\])|https?://)[\x21-\x7e]*$")


def pet_page_path_register(resolver: Resolver) -> None:
    """Make ``resolver(pet)`` the one that names a pet's public page (replaces any earlier
    one: ``ready`` may run twice)."""
    _resolver[:] = [resolver]


def pet_page_path_unregister() -> None:
    """Forget the resolver (tests)."""
    _resolver.clear()


def pet_page_path_resolver() -> Resolver | None:
    """The resolver registered now, if any (tests put it back after replacing it)."""
    return _resolver[0] if _resolver else None


def pet_page_path(pet: Any) -> str:
    """The path (or address) a tag of ``pet`` leads to. Raises ``ValueError`` if the
    resolver returns something not fit for a ``Location`` header."""
    path = _resolver[0](pet) if _resolver else f"/pets/{pet.pk}/"
    if not isinstance(path, str) or not _SAFE.match(path) or len(path) > 2000:
        raise ValueError(f"pet page path {path!r} is not a safe path or http(s) address")
    return path
