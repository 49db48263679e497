"""``/api/v1`` endpoints for pets, their photos and notes, and the household's contacts.

Handlers only translate HTTP to the services and selectors, which decide access (stranger
404, role too low 403) and validate; nothing here reads or writes a model directly.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import BaseModel, ConfigDict, StrictInt

from pawfile.accounts.access import Action
from pawfile.accounts.apiauth import acting_user
from pawfile.accounts.selectors import household_get
from pawfile.lib.api import (
    AS_INTEGER,
    LINE_PATTERN,
    Date,
    FormBool,
    Id,
    InputSchema,
    JsonBool,
    JsonId,
    fields_renamed,
    form_unknown_refuse,
    optional,
    responses,
    set_fields,
    unset,
)
from pawfile.lib.errors import Invalid
from pawfile.lib.images import CropBox
from pawfile.lib.openapi import file_response
from pawfile.lib.pagination import Page, PageQuery, cursor_decode, page_of, paginate
from pawfile.lib.renderer import JSONRenderer, json_bytes
from pawfile.pets import photos, selectors, services
from pawfile.pets.choices import PHOTO_SIZES, Sex, Size, Species, WeightUnit
from pawfile.pets.models import Contact, Note, Pet, Photo
from pawfile.pets.validators import MICROCHIP_PATTERN

router = Router(tags=["pets"])

NO_CONTENT = responses({204: None})

# --- Schemas -------------------------------------------------------------------------------


class PetOut(BaseModel):
    """A plain pydantic model (not a ninja ``Schema``): validated in pydantic's core, from a
    ``Pet`` or from a row of ``selectors.pet_rows``."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    household_id: int
    role: str = Field(description="Your role in the pet's household.")
    name: str
    species: str
    breed: str
    sex: str
    birth_date: dt.date | None
    birth_date_estimated: bool
    neutered: bool | None
    microchip: str
    colour: str
    size: str
    weight_unit: str
    allergies: str
    special_needs: str
    about: str
    vet_name: str
    vet_phone: str
    vet_clinic: str
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime


class PetPatch(InputSchema):
    """Fields left out are not changed."""

    name: str = unset(min_length=1, max_length=80, pattern=LINE_PATTERN)
    species: Species = unset()
    breed: str = unset(max_length=80, pattern=LINE_PATTERN)
    sex: Sex = unset()
    birth_date: Date | None = unset()
    birth_date_estimated: JsonBool = unset()
    neutered: JsonBool | None = unset()
    microchip: str = unset(
        max_length=40,
        pattern=MICROCHIP_PATTERN,
        description=(
            "15 digits (ISO 11784/11785, not starting 000) or 9–10 hex characters (older "
            "chips); spaces, dots and dashes are dropped. Empty for none. One pet per number "
            "on the site (409 when another pet has it)."
        ),
    )
    colour: str = unset(max_length=120, pattern=LINE_PATTERN)
    size: Size = unset()
    weight_unit: WeightUnit = unset()
    allergies: str = unset(max_length=5000)
    special_needs: str = unset(max_length=5000)
    about: str = unset(max_length=5000)
    vet_name: str = unset(max_length=120, pattern=LINE_PATTERN)
    vet_phone: str = unset(max_length=32, pattern=LINE_PATTERN)
    vet_clinic: str = unset(max_length=120, pattern=LINE_PATTERN)


class PetCreate(PetPatch):
    household_id: JsonId = Field(description="A household where you are owner or caretaker.")
    name: str = Field(min_length=1, max_length=80, pattern=LINE_PATTERN)
    species: Species


class PetFilters(PageQuery):
    household_id: Id | None = optional()
    q: str = Field("", max_length=100, description="Name, breed or microchip contains this.")


class PhotoOut(Schema):
    id: int
    pet_id: int
    caption: str
    is_primary: bool
    width: int
    height: int
    created_at: dt.datetime
    urls: dict[str, str] = Field(description="WebP variants by name (thumb, card, full).")

    @staticmethod
    def resolve_urls(obj: Photo) -> dict[str, str]:
        return {variant: photos.photo_url(obj, variant) for variant in PHOTO_SIZES}


class PhotoForm(InputSchema):
    caption: str = Field("", max_length=200, pattern=LINE_PATTERN)
    primary: FormBool | None = optional(description="Default: primary if it is the first.")
    crop_left: int | None = optional(ge=0, le=100_000)
    crop_top: int | None = optional(ge=0, le=100_000)
    crop_size: int | None = optional(ge=1, le=100_000)


class PhotoFileQuery(Schema):
    variant: Literal["thumb", "card", "full"] = "card"
    format: Literal["webp", "jpeg"] = "webp"


class ContactOut(Schema):
    id: int
    household_id: int
    name: str
    relation: str
    phone: str
    whatsapp: bool
    email: str
    order: int
    show_on_public_page: bool
    pet_ids: list[int]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_pet_ids(obj: Contact) -> list[int]:
        return sorted(p.pk for p in obj.pets.all())


def _email_or_empty(schema: dict[str, Any]) -> None:
    # An address (the service checks it as Django's validator does) or "" for none.
    schema.pop("default", None)
    schema["anyOf"] = [{"maxLength": 0}, {"format": "email"}]


def _email_field() -> Any:
    """Like ``unset``: may be left out; when sent, an address or ""."""
    return Field(default=None, max_length=254, json_schema_extra=_email_or_empty)


class ContactPatch(InputSchema):
    name: str = unset(min_length=1, max_length=120, pattern=LINE_PATTERN)
    relation: str = unset(max_length=60, pattern=LINE_PATTERN)
    phone: str = unset(max_length=32, pattern=LINE_PATTERN)
    whatsapp: JsonBool = unset()
    email: str = _email_field()
    order: Annotated[StrictInt, Field(ge=0, le=32767), AS_INTEGER] = unset()
    show_on_public_page: JsonBool = unset()
    pet_ids: list[JsonId] = unset(max_length=500, description="Pets of this household.")


class ContactCreate(ContactPatch):
    name: str = Field(min_length=1, max_length=120, pattern=LINE_PATTERN)


class NoteOut(Schema):
    id: int
    pet_id: int
    author_id: int | None
    author_name: str
    title: str
    body_html: str = Field(description="Sanitised HTML.")
    pinned: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_author_name(obj: Note) -> str:
        return obj.author.get_full_name() if obj.author else ""


# Some text outside the tags: a note whose text is empty once sanitised is refused.
NOTE_BODY_PATTERN = r"^(?:<[^>]*>|\s)*[^<\s]"
NOTE_BODY = "HTML; unsafe markup is removed. Needs some text, not only tags or spaces."


class NotePatch(InputSchema):
    title: str = unset(max_length=120, pattern=LINE_PATTERN)
    body_html: str = unset(max_length=100_000, pattern=NOTE_BODY_PATTERN, description=NOTE_BODY)
    pinned: JsonBool = unset()


class NoteCreate(NotePatch):
    body_html: str = Field(max_length=100_000, pattern=NOTE_BODY_PATTERN, description=NOTE_BODY)


class NoteFilters(PageQuery):
    q: str = Field("", max_length=100, description="Title or text contains this.")


def _query_text(value: str) -> str:
    return value.replace("\x00", "").strip()


# --- Pets ----------------------------------------------------------------------------------


PetPage = Page[PetOut]


# The answer's fields, in the schema's order, and its type as the API's renderer gives it.
PET_OUT_FIELDS = tuple(PetOut.model_fields)
JSON_CONTENT_TYPE = f"{JSONRenderer.media_type}; charset={JSONRenderer.charset}"


def pet_page_body(page: dict[str, Any]) -> bytes:
    """The JSON body of a ``PetPage`` from ``page_of`` over ``selectors.pet_rows`` read with
    ``fields=PET_OUT_FIELDS`` (each row holds the answer's keys in the schema's order): the
    bytes ``PetPage.model_validate(page)`` then ninja's dump would render, without the two
    passes through pydantic (the rows already hold each field's own type, as the ORM gives
    it; ``tests/api/test_lists.py`` compares the two)."""
    return json_bytes({"items": page["items"], "next": page["next"]})


@router.get("/pets", response=responses({200: PetPage}), summary="Your pets")
def pet_list(request: HttpRequest, filters: Query[PetFilters]) -> HttpResponse:
    """Pets of every household you belong to, by name; filter by household or text."""
    order = ("name", "id")
    after = cursor_decode(filters.cursor, order, Pet) if filters.cursor else None
    rows = selectors.pet_rows(
        user=acting_user(request),
        household_id=filters.household_id,
        query=_query_text(filters.q),
        after=(after[0], after[1]) if after else None,
        limit=filters.limit + 1,
        fields=PET_OUT_FIELDS,
    )
    body = pet_page_body(page_of(rows, filters.limit, order))
    return HttpResponse(body, content_type=JSON_CONTENT_TYPE)


@router.post("/pets", response=responses({201: PetOut}), summary="Add a pet")
def pet_create(request: HttpRequest, payload: PetCreate) -> Status[Pet]:
    user = acting_user(request)
    fields = set_fields(payload)
    household = household_get(user=user, household_id=fields.pop("household_id"))
    pet = services.pet_create(actor=user, household=household, **fields)
    return Status(201, selectors.pet_get(user=user, pet_id=pet.pk))


@router.get("/pets/{pet_id}", response=responses({200: PetOut}), summary="A pet")
def pet_detail(request: HttpRequest, pet_id: Id) -> Pet:
    return selectors.pet_get(user=acting_user(request), pet_id=pet_id)


@router.patch("/pets/{pet_id}", response=responses({200: PetOut}), summary="Change a pet")
def pet_update(request: HttpRequest, pet_id: Id, payload: PetPatch) -> Pet:
    user = acting_user(request)
    pet = selectors.pet_get(user=user, pet_id=pet_id, action=Action.WRITE)
    return services.pet_update(actor=user, pet=pet, **set_fields(payload))


@router.delete("/pets/{pet_id}", response=NO_CONTENT, summary="Delete a pet (owner only)")
def pet_delete(request: HttpRequest, pet_id: Id) -> Status[None]:
    """Deletes the pet with its records, notes, photos and files."""
    user = acting_user(request)
    pet = selectors.pet_get(user=user, pet_id=pet_id, action=Action.PET_DELETE)
    services.pet_delete(actor=user, pet=pet)
    return Status(204, None)


# --- Photos --------------------------------------------------------------------------------


@router.get(
    "/pets/{pet_id}/photos", response=responses({200: Page[PhotoOut]}), summary="A pet's photos"
)
def photo_list(request: HttpRequest, pet_id: Id, page: Query[PageQuery]) -> dict[str, Any]:
    user = acting_user(request)
    pet = selectors.pet_get(user=user, pet_id=pet_id)
    photo_rows = selectors.photo_list(user=user, pet=pet)
    return paginate(photo_rows, page, order=("-is_primary", "-created_at", "-id"))


CROP = ("crop_left", "crop_top", "crop_size")
PHOTO_UPLOAD_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                # All three crop fields or none (a 422 otherwise).
                "schema": {
                    "dependentRequired": {name: [o for o in CROP if o != name] for name in CROP},
                    "additionalProperties": False,  # form_unknown_refuse
                },
            }
        }
    }
}


@router.post(
    "/pets/{pet_id}/photos",
    response=responses({201: PhotoOut}),
    summary="Upload a photo",
    openapi_extra=PHOTO_UPLOAD_BODY,
)
def photo_upload(
    request: HttpRequest, pet_id: Id, form: Form[PhotoForm], file: File[UploadedFile]
) -> Status[Photo]:
    """A JPEG, PNG, WebP or GIF, decoded and re-encoded (no metadata kept) as square variants.
    Crop with ``crop_left``, ``crop_top`` and ``crop_size`` (source pixels, all three) or
    leave them out for the centred square."""
    user = acting_user(request)
    pet = selectors.pet_get(user=user, pet_id=pet_id, action=Action.WRITE)
    form_unknown_refuse(request, PhotoForm)
    corners = (form.crop_left, form.crop_top, form.crop_size)
    crop = None
    if any(v is not None for v in corners):
        if form.crop_left is None or form.crop_top is None or form.crop_size is None:
            message = _("Give crop_left, crop_top and crop_size together, or none of them.")
            raise Invalid(message, field="crop")
        crop = CropBox(form.crop_left, form.crop_top, form.crop_size)
    photo = photos.photo_add(
        actor=user, pet=pet, upload=file, crop=crop, caption=form.caption, primary=form.primary
    )
    return Status(201, photo)


@router.get("/photos/{photo_id}", response=responses({200: PhotoOut}), summary="A photo")
def photo_detail(request: HttpRequest, photo_id: Id) -> Photo:
    return selectors.photo_get(user=acting_user(request), photo_id=photo_id)


@router.get(
    "/photos/{photo_id}/file",
    response=responses({200: None}),
    summary="Download a photo variant",
    openapi_extra=file_response(
        "The image, `image/webp` or `image/jpeg` as `format` asks.", ("image/webp", "image/jpeg")
    ),
)
def photo_file(request: HttpRequest, photo_id: Id, query: Query[PhotoFileQuery]) -> FileResponse:
    """The image bytes, for clients that authenticate with a token rather than the session."""
    photo = selectors.photo_get(user=acting_user(request), photo_id=photo_id)
    try:
        handle = default_storage.open(photo.path(query.variant, query.format))
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=f"image/{query.format}")
    response["Cache-Control"] = "private, max-age=3600"  # a variant never changes under its key
    return response


@router.post(
    "/photos/{photo_id}/primary",
    response=responses({200: PhotoOut}),
    summary="Make a photo the pet's primary photo",
)
def photo_primary(request: HttpRequest, photo_id: Id) -> Photo:
    user = acting_user(request)
    photo = selectors.photo_get(user=user, photo_id=photo_id, action=Action.WRITE)
    return photos.photo_set_primary(actor=user, photo=photo)


@router.delete("/photos/{photo_id}", response=NO_CONTENT, summary="Delete a photo")
def photo_delete(request: HttpRequest, photo_id: Id) -> Status[None]:
    user = acting_user(request)
    photo = selectors.photo_get(user=user, photo_id=photo_id, action=Action.WRITE)
    photos.photo_delete(actor=user, photo=photo)
    return Status(204, None)


# --- Contacts ------------------------------------------------------------------------------

CONTACT_FIELD_NAMES = {"pets": "pet_ids"}


@router.get(
    "/households/{household_id}/contacts",
    response=responses({200: Page[ContactOut]}),
    summary="A household's contacts",
)
def contact_list(request: HttpRequest, household_id: Id, page: Query[PageQuery]) -> dict[str, Any]:
    contacts = selectors.contact_list(user=acting_user(request), household_id=household_id)
    return paginate(contacts, page, order=("order", "id"))


@router.post(
    "/households/{household_id}/contacts",
    response=responses({201: ContactOut}),
    summary="Add a contact",
)
def contact_create(
    request: HttpRequest, household_id: Id, payload: ContactCreate
) -> Status[Contact]:
    user = acting_user(request)
    household = household_get(user=user, household_id=household_id)
    fields = set_fields(payload)
    try:
        contact = services.contact_create(
            actor=user, household=household, pet_ids=fields.pop("pet_ids", None), **fields
        )
    except Invalid as exc:
        raise fields_renamed(exc, CONTACT_FIELD_NAMES) from None
    return Status(201, contact)


@router.get("/contacts/{contact_id}", response=responses({200: ContactOut}), summary="A contact")
def contact_detail(request: HttpRequest, contact_id: Id) -> Contact:
    return selectors.contact_get(user=acting_user(request), contact_id=contact_id)


@router.patch(
    "/contacts/{contact_id}", response=responses({200: ContactOut}), summary="Change a contact"
)
def contact_update(request: HttpRequest, contact_id: Id, payload: ContactPatch) -> Contact:
    user = acting_user(request)
    contact = selectors.contact_get(user=user, contact_id=contact_id, action=Action.WRITE)
    fields = set_fields(payload)
    try:
        return services.contact_update(
            actor=user, contact=contact, pet_ids=fields.pop("pet_ids", None), **fields
        )
    except Invalid as exc:
        raise fields_renamed(exc, CONTACT_FIELD_NAMES) from None


@router.delete("/contacts/{contact_id}", response=NO_CONTENT, summary="Delete a contact")
def contact_delete(request: HttpRequest, contact_id: Id) -> Status[None]:
    user = acting_user(request)
    contact = selectors.contact_get(user=user, contact_id=contact_id, action=Action.WRITE)
    services.contact_delete(actor=user, contact=contact)
    return Status(204, None)


# --- Notes ---------------------------------------------------------------------------------


@router.get(
    "/pets/{pet_id}/notes", response=responses({200: Page[NoteOut]}), summary="A pet's notes"
)
def note_list(request: HttpRequest, pet_id: Id, filters: Query[NoteFilters]) -> dict[str, Any]:
    """Pinned first, then the most recently changed; ``q`` searches title and text."""
    user = acting_user(request)
    pet = selectors.pet_get(user=user, pet_id=pet_id)
    notes = selectors.note_list(user=user, pet=pet, query=_query_text(filters.q))
    return paginate(notes, filters, order=("-pinned", "-updated_at", "-id"))


@router.post("/pets/{pet_id}/notes", response=responses({201: NoteOut}), summary="Add a note")
def note_create(request: HttpRequest, pet_id: Id, payload: NoteCreate) -> Status[Note]:
    user = acting_user(request)
    pet = selectors.pet_get(user=user, pet_id=pet_id, action=Action.WRITE)
    return Status(201, services.note_create(actor=user, pet=pet, **set_fields(payload)))


@router.get("/notes/{note_id}", response=responses({200: NoteOut}), summary="A note")
def note_detail(request: HttpRequest, note_id: Id) -> Note:
    return selectors.note_get(user=acting_user(request), note_id=note_id)


@router.patch("/notes/{note_id}", response=responses({200: NoteOut}), summary="Change a note")
def note_update(request: HttpRequest, note_id: Id, payload: NotePatch) -> Note:
    user = acting_user(request)
    note = selectors.note_get(user=user, note_id=note_id, action=Action.WRITE)
    return services.note_update(actor=user, note=note, **set_fields(payload))


@router.delete("/notes/{note_id}", response=NO_CONTENT, summary="Delete a note")
def note_delete(request: HttpRequest, note_id: Id) -> Status[None]:
    user = acting_user(request)
    note = selectors.note_get(user=user, note_id=note_id, action=Action.WRITE)
    services.note_delete(actor=user, note=note)
    return Status(204, None)
