"""The "QR code" entry of the WhatsApp menu (``notifications.actions``), registered from
``QrConfig.ready``: the image of the pet's tag (its newest active code leading to the pet's
page), drawn as for a download on the site. Anyone who may see the pet may get it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pawfile.lib.errors import NotFound
from pawfile.notifications import actions
from pawfile.pets.selectors import pet_get
from pawfile.qr.choices import TargetKind
from pawfile.qr.images import code_png
from pawfile.qr.models import QRCode


def build(user: Any, pet_id: int) -> actions.Attachment:
    """The PNG of ``pet_id``'s tag; ``NotFound`` when ``user`` may not see the pet or it
    has no active tag."""
    pet = pet_get(user=user, pet_id=pet_id)
    code = (
        QRCode.objects.filter(
            target_kind=TargetKind.PET_PAGE,
            target_ref=pet.pk,
            household_id=pet.household_id,
            is_active=True,
        )
        .order_by("-created_at", "id")
        .first()
    )
    if code is None:
        raise NotFound(
            _("%(pet)s has no QR tag yet. Make one on the site first.") % {"pet": pet.name}
        )
    return actions.Attachment(
        content=code_png(code),
        mime="image/png",
        filename=f"qr-{code.pk}.png",
        media="image",
        caption=_("QR tag of %(pet)s") % {"pet": pet.name},
    )


def register() -> None:
    actions.menu_item_register("qr", label=gettext_lazy("QR code"), build=build)
