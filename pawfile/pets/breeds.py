"""Breed suggestions per species, from the list shipped in ``data/breeds.json``.

Suggestions only: the breed field is free text, so a breed missing from the list (or a
description like "terrier mix") is always accepted.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pawfile.pets.choices import Species

BREEDS_FILE = Path(__file__).resolve().parent / "data" / "breeds.json"


@cache
def _breeds() -> dict[str, tuple[str, ...]]:
    data = json.loads(BREEDS_FILE.read_text(encoding="utf-8"))
    return {str(species): tuple(sorted(names)) for species, names in data.items()}


def breed_suggestions(species: str) -> tuple[str, ...]:
    """Common breeds of ``species`` in alphabetical order; empty for unknown species."""
    if species not in Species.values:
        return ()
    return _breeds().get(species, ())
