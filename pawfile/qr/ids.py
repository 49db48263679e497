"""Short ids of QR codes: random, unguessable, easy to read aloud or type.

``ALPHABET`` leaves out the characters people confuse (0/o, 1/l/i) and upper case (a code's
address is typed in lower case). ``ID_LENGTH`` characters give 31^10 ≈ 8·10^14 ids (49 bits):
guessing a live one among a million takes some 800 million tries on average.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ID_LENGTH = 10
ID_PATTERN = re.compile(f"^[{ALPHABET}]{{{ID_LENGTH}}}$")


def code_id_new() -> str:
    """A fresh random id (the caller checks it is free)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))


def code_id_valid(value: str) -> bool:
    """Whether ``value`` has the shape of an id (says nothing of whether it exists)."""
    return bool(ID_PATTERN.match(value))
