"""The data ``bench/api.py`` loads: a user with pets and records, and a pool of access tokens.

Run as a subprocess with the benchmark's environment (the mode's database and cache):

    python bench/apidata.py [--tokens N --tokens-file FILE]

makes the user with a verified email and a household of ``PETS`` pets with three health
records each, prints ``{"pet_ids": [...]}``, and with ``--tokens`` writes N access tokens to
FILE, one a line. Each token hangs on a session of its own, made as a headless login makes
one (the user's id, backend and password hash in the session engine of the mode), so a
server that meets a token from the pool has never seen its signature nor its session: no
in-process token memory helps it.

Not part of the product.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent

EMAIL = "bench@example.org"
PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - a throwaway account in a temp dir
PETS = 20
RECORD_BODY = {"kind": "vaccination", "name": "Rabies", "date": "2025-03-01"}


def seed() -> dict[str, Any]:
    """A user with a verified email and a household of ``PETS`` pets with three records each."""
    from allauth.account.models import EmailAddress
    from django.utils import timezone

    from pawfile.accounts.models import Household
    from pawfile.accounts.services import user_create
    from pawfile.health.services import record_create, weight_record
    from pawfile.pets.services import pet_create

    user = user_create(email=EMAIL, password=PASSWORD, name="Bench Owner")
    EmailAddress.objects.create(user=user, email=EMAIL, primary=True, verified=True)
    household = Household.objects.get(memberships__user=user)
    today = timezone.localdate()
    pet_ids = []
    for n in range(PETS):
        pet = pet_create(
            actor=user, household=household, name=f"Pet {n:02d}",
            species="dog" if n % 2 else "cat", breed="Mixed", microchip=f"9410000{n:08d}",
        )  # fmt: skip
        record_create(
            actor=user, pet=pet, kind="vaccination", name="Rabies",
            date=today - dt.timedelta(days=100), next_due=today + dt.timedelta(days=265),
        )  # fmt: skip
        record_create(actor=user, pet=pet, kind="deworming", name="Milbemax", date=today)
        weight_record(actor=user, pet=pet, value="12.5", unit="kg", date=today)
        pet_ids.append(pet.pk)
    return {"pet_ids": pet_ids}


def tokens_mint(*, email: str, count: int) -> Iterator[str]:
    """``count`` access tokens of the user ``email``, each on a new session of its own."""
    from importlib import import_module

    from allauth.headless.tokens.strategies.jwt import internal as jwt_internal
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import transaction

    from pawfile.accounts.models import User
    from pawfile.accounts.tokens import PawfileJWTStrategy

    user = User.objects.get(email=email)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    claims = PawfileJWTStrategy().get_claims(user)
    with transaction.atomic():
        for _ in range(count):
            session = store()
            session[SESSION_KEY] = user._meta.pk.value_to_string(user)  # as auth.login does
            session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.save()
            yield jwt_internal.create_access_token(user, session, claims)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=0, help="access tokens to mint")
    parser.add_argument("--tokens-file", type=Path, help="where to write them, one a line")
    parser.add_argument("--no-seed", action="store_true", help="only mint tokens")
    args = parser.parse_args(argv)
    if str(REPO_DIR) not in sys.path:  # this checkout's pawfile
        sys.path.insert(0, str(REPO_DIR))
    import django

    django.setup()
    made = {} if args.no_seed else seed()
    if args.tokens:
        if args.tokens_file is None:
            parser.error("--tokens needs --tokens-file")
        with args.tokens_file.open("w", encoding="ascii") as out:
            for token in tokens_mint(email=EMAIL, count=args.tokens):
                out.write(token + "\n")
    print(json.dumps(made))
    return 0


if __name__ == "__main__":
    sys.exit(main())
