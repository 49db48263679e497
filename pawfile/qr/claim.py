"""Claiming a pre-printed tag, and what its claim page ``/t/{id}`` says.

Scanning a code nobody has linked (a pre-printed tag, or a household's tag unlinked from its
pet) leads to ``/t/{id}`` (the redirect layer). ``tag_state`` says what that page shows:

* ``claimable``: a pre-printed tag of no household: anyone signed in may link it to one of
  their pets (a household where they are owner or caretaker);
* ``unlinked``: a household's tag without a pet: its household's owners and caretakers may
  link it to one of the household's pets; anyone else learns only that it is not linked;
* ``linked``: already leads to a pet (someone claimed it first, or an old link): a claim
  is refused with ``Conflict`` (409), and the page says so;
* an unknown id, or a generic code: ``NotFound``.

``tag_claim`` counts the attempt against ``PAWFILE_QR_CLAIM_RATELIMIT_IP`` (per client
address, trusted-proxy aware) before anything else (``TooMany``, 429), then links through
``services.pet_code_link``, which counts the claim against ``PAWFILE_QR_CLAIM_RATELIMIT_USER``
(so a tag claimed by id from the pet's tags page counts too) and makes the claim one
conditional ``UPDATE``: of two claims at once, one wins and the other gets
``Conflict``. Batch, claimer and time end up on the code (``batch``, ``claimed_by``,
``claimed_at``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from pawfile.accounts.choices import Role
from pawfile.lib.errors import Conflict, NotFound
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_list
from pawfile.qr import services
from pawfile.qr.choices import TargetKind
from pawfile.qr.ids import code_id_valid
from pawfile.qr.models import QRCode

State = Literal["claimable", "unlinked", "linked"]


@dataclass(frozen=True)
class TagState:
    code: QRCode
    state: State
    may_link: bool  # the user may link it now (signed in, with a pet to offer)
    pets: list[Pet] = field(default_factory=list)  # the pets the user may link it to


def _tag(code_id: str) -> QRCode:
    code = (
        QRCode.objects.filter(pk=code_id, owner_user__isnull=True)
        .exclude(target_kind=TargetKind.URL)
        .first()
        if code_id_valid(code_id)
        else None
    )
    if code is None:
        raise NotFound(_("No such tag."))
    return code


def linkable_pets(user: Any, *, household_id: int | None = None) -> QuerySet[Pet]:
    """The pets ``user`` may put a tag on: of households where they are owner or caretaker
    (only ``household_id``'s when given), by name."""
    # ``role`` is pet_list's annotation: the user's own membership (a second filter on
    # the memberships would join them again and match anyone's role)
    pets = pet_list(user=user).filter(role__in=[Role.OWNER, Role.CARETAKER])  # type: ignore[misc]
    if household_id is not None:
        pets = pets.filter(household_id=household_id)
    return pets.order_by("name", "pk")


def tag_state(*, user: Any, code_id: str) -> TagState:
    """What the claim page of ``code_id`` shows to ``user`` (see the module docstring).
    Raises ``NotFound`` for an unknown id or a generic code."""
    code = _tag(code_id)
    if code.target_kind == TargetKind.PET_PAGE:
        return TagState(code, "linked", False)
    signed_in = bool(user is not None and user.is_authenticated)
    if code.household_id is None:
        pets = list(linkable_pets(user)) if signed_in else []
        return TagState(code, "claimable", bool(pets), pets)
    pets = list(linkable_pets(user, household_id=code.household_id)) if signed_in else []
    return TagState(code, "unlinked", bool(pets), pets)


def tag_claim(*, actor: Any, code_id: str, pet_id: int, client_address: str) -> QRCode:
    """Link the tag ``code_id`` to the pet ``pet_id`` for ``actor``: claim a pre-printed
    tag, or relink a household's unlinked one. Raises ``TooMany`` past the limits,
    ``NotFound`` for an unknown tag or a pet the actor cannot see, ``Forbidden`` for a pet
    they may only view, ``Conflict`` for a tag already linked."""
    if not actor.is_authenticated:
        raise NotFound(_("No such tag."))
    services.claim_limit_check(None, client_address)  # the user is counted by the link
    code = _tag(code_id)
    if code.target_kind == TargetKind.PET_PAGE:
        raise Conflict(_("This tag is already linked to a pet. It cannot be claimed again."))
    pet = services.pet_for_tag(actor=actor, pet_id=pet_id)
    return services.pet_code_link(actor=actor, code_id=code.id, pet=pet)
