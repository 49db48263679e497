"""People who reach alice's household through grants, not memberships (for the access tests).

``grantees_make`` adds, next to the cast (alice owns, bob cares, carol views, charlie is a
stranger), one user per kind of grant:

| who   | grant                                              | on                 |
|-------|----------------------------------------------------|--------------------|
| dana  | ``summary``, live (a booking: staff see the summary) | ``pet`` only     |
| erin  | ``view``, ended an hour ago                        | ``pet`` only       |
| fred  | ``view``, live                                     | ``other_pet`` only |
| gina  | ``view,write``, live (a sitter for the week)       | the household      |
| hugo  | ``view``, starts tomorrow                          | ``pet`` only       |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from pawfile.accounts import services
from pawfile.accounts.models import User
from pawfile.pets.models import Pet
from tests.conftest import Cast, make_user


@dataclass
class Grantees:
    dana: User  # live summary grant on the pet
    erin: User  # expired view grant on the pet
    fred: User  # live view grant on another pet of the household
    gina: User  # live view+write grant on the whole household
    hugo: User  # view grant on the pet that has not started yet


def grantees_make(cast: Cast, pet: Pet, other_pet: Pet) -> Grantees:
    now = timezone.now()
    hour, week = dt.timedelta(hours=1), dt.timedelta(days=7)
    people = Grantees(*(make_user(f"{n}@example.org", n.title()) for n in Grantees.__annotations__))

    def grant(user: User, actions: list[str], start: dt.datetime, pet_id: int | None) -> None:
        services.grant_create(
            user=user, household=cast.household, pet_id=pet_id, actions=actions,
            starts_at=start, ends_at=start + week, source=f"test:{user.email}",
        )  # fmt: skip

    grant(people.dana, ["summary"], now - hour, pet.pk)
    grant(people.erin, ["view"], now - week - hour, pet.pk)
    grant(people.fred, ["view"], now - hour, other_pet.pk)
    grant(people.gina, ["view", "write"], now - hour, None)
    grant(people.hugo, ["view"], now + dt.timedelta(days=1), pet.pk)
    return people
