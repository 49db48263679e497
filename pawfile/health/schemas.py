"""Request bodies of the health-record operations: one shape per kind of record.

A record's kind decides which fields it takes (``choices.FIELDS``) and which it needs
(``choices.REQUIRED``). Each kind has its own input model, built from ``FIELD_TYPES`` and
those two tables, so what the OpenAPI document shows is what validation applies:

- ``RecordCreate`` (``POST .../records``) is a ``oneOf`` of the per-kind create shapes,
  discriminated on ``kind``. A body is validated by the shape its ``kind`` names; a field of
  another kind is refused naming it.
- ``RecordPatch`` (``PATCH /records/{id}``) is shown as an ``anyOf`` of the per-kind patch
  shapes (every field optional, ``kind`` only as the record's own). It is validated as the
  union of all of them; a field of another kind than the stored record's is refused by
  ``health.services`` (422 naming it).

A cost comes with its currency in the same body (``dependentRequired``), so the rule never
depends on what is stored. Two rules no JSON Schema can state are said in the descriptions
and kept by the services: ``date`` is not after the caller's today (a day of grace for time
zones), and ``next_due`` / ``end_date`` are not before the record's ``date``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, Union

from django.utils.translation import gettext as _
from ninja import Field as _Field
from pydantic import (
    ConfigDict,
    Discriminator,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    PlainValidator,
    StrictInt,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from pawfile.health.choices import FIELDS, REQUIRED, DewormingScope, Kind, Severity
from pawfile.health.services import MAX_GRAMS
from pawfile.lib.api import AS_INTEGER, LINE_PATTERN, Date, InputSchema, unset

# One line with at least one character that is not a space (``str.strip`` leaves something).
_LINE = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_SPACE = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NAME_PATTERN = f"^[^{_LINE}]*[^{_SPACE}][^{_LINE}]*$"
TEXT_PATTERN = r"^[^\x00]*$"  # several lines; no NUL (no database stores it)
COST_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
CURRENCY_PATTERN = r"^[A-Za-z]{3}$"

DATE_RULE = (
    "Not after today (the caller's own date, with a day of grace for time zones); "
    "defaults to today."
)
AFTER_DATE = "Not before the record's `date`."


def _line(max_length: int) -> Any:
    return Annotated[str, _Field(max_length=max_length, pattern=LINE_PATTERN)]


Text = Annotated[str, _Field(max_length=5000, pattern=TEXT_PATTERN)]
_COST = re.compile(COST_PATTERN[1:-1])


def _cost(value: Any) -> Decimal:
    if isinstance(value, str) and _COST.fullmatch(value):
        return Decimal(value).quantize(Decimal("0.01"))  # as the column keeps it: "9.50"
    raise PydanticCustomError("cost", _('Write the cost as text such as "45.50".'))


# A string on the wire (a JSON number cannot say 0.10), a ``Decimal`` once validated.
Cost = Annotated[
    Decimal,
    PlainValidator(_cost),
    WithJsonSchema({"type": "string", "pattern": COST_PATTERN}),
]

# Every record field as a request takes it (the same type for every kind that has it).
FIELD_TYPES: dict[str, tuple[Any, str | None]] = {
    "date": (Date, DATE_RULE),
    "notes": (Text, None),
    "name": (
        Annotated[str, _Field(max_length=160, pattern=NAME_PATTERN)],
        "Vaccine, product, medication, reason, allergen, procedure or test; not blank.",
    ),
    "manufacturer": (_line(120), None),
    "batch": (_line(60), None),
    "next_due": (Date | None, AFTER_DATE),
    "deworming_scope": (DewormingScope, None),
    "vet_name": (_line(120), None),
    "clinic": (_line(120), None),
    "dose": (_line(60), None),
    "frequency": (_line(60), None),
    "end_date": (Date | None, AFTER_DATE),
    "diagnosis": (Text, None),
    "cost": (
        Cost | None,
        "A decimal string (up to 8 digits and 2 decimals); sent with `currency`.",
    ),
    "currency": (
        Annotated[str, _Field(pattern=CURRENCY_PATTERN)],
        "ISO 4217 code (EUR, USD...), stored in capitals.",
    ),
    "severity": (Severity, None),
    "result": (Text, None),
    "weight_grams": (Annotated[StrictInt, _Field(ge=1, le=MAX_GRAMS), AS_INTEGER], None),
}
RECORD_FIELDS = frozenset(FIELD_TYPES)


def _refuse(title: str, errors: dict[str, tuple[str, Any]]) -> NoReturn:
    """Raise a validation error naming each field of ``errors`` (field -> (message, input))."""
    raise ValidationError.from_exception_data(
        title,
        [
            {"type": PydanticCustomError("invalid", message), "loc": (name,), "input": value}
            for name, (message, value) in errors.items()
        ],
    )


def _json_schema_extra(schema: dict[str, Any], model: type[Any]) -> None:
    if "cost" in model.model_fields and "currency" in model.model_fields:
        schema["dependentRequired"] = {"cost": ["currency"]}


class RecordShape(InputSchema):
    """Base of the record bodies: a cost needs its currency in the same body."""

    model_config = ConfigDict(json_schema_extra=_json_schema_extra)

    @model_validator(mode="wrap")
    @classmethod
    def _cost_with_currency(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        result = handler(data)
        if isinstance(data, dict) and "cost" in data and "currency" not in data:
            message = _("Give the currency of the cost (e.g. EUR).")
            _refuse(cls.__name__, {"currency": (message, None)})
        return result


def _shape(kind: Kind, *, patch: bool) -> type[RecordShape]:
    """The body of one kind: ``kind`` (a constant), the common fields and the kind's own."""
    kind_description = "Cannot change once the record exists." if patch else None
    fields: dict[str, Any] = {
        "kind": (
            Literal[kind.value],
            unset(description=kind_description) if patch else _Field(),
        )
    }
    for name in ("date", "notes", *FIELDS[kind]):
        annotation, description = FIELD_TYPES[name]
        required = not patch and name in REQUIRED[kind]
        fields[name] = (
            annotation,
            _Field(description=description) if required else unset(description=description),
        )
    title = kind.value.capitalize() + ("RecordPatch" if patch else "RecordCreate")
    return create_model(title, __base__=RecordShape, **fields)


CREATE_SHAPES = {kind: _shape(kind, patch=False) for kind in Kind}
PATCH_SHAPES = {kind: _shape(kind, patch=True) for kind in Kind}


def _kind_of(value: Any) -> Any:
    return value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)


# The unions the document shows. The discriminator is a callable one: the shapes check every
# field (``kind`` too) before validating its type, which pydantic's field discriminator refuses.
_CREATE_UNION: TypeAdapter[Any] = TypeAdapter(
    Annotated[
        Union[tuple(Annotated[shape, Tag(kind.value)] for kind, shape in CREATE_SHAPES.items())],  # noqa: UP007
        Discriminator(_kind_of),
    ]  # type: ignore[arg-type]
)
_PATCH_UNION: TypeAdapter[Any] = TypeAdapter(
    Union[tuple(PATCH_SHAPES.values())]  # type: ignore[arg-type]  # noqa: UP007
)


EXAMPLES = [
    {"kind": "vaccination", "name": "Rabies", "date": "2025-03-01", "next_due": "2026-03-01",
     "batch": "A123"},
    {"kind": "weight", "weight_grams": 12500},
]  # fmt: skip


class _KindOnly(InputSchema):
    model_config = ConfigDict(extra="ignore")
    kind: Kind


class RecordCreate(InputSchema):
    """Validated as the shape of its ``kind`` (the instance is that shape's model)."""

    # Named as ``InputSchema``'s own wrap validator, which it replaces: the body is validated
    # once, by the shape of its kind, and the errors name the fields as sent.
    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if isinstance(data, RecordShape):
            return data
        if not isinstance(data, dict):
            raise PydanticCustomError("model_type", _("Send a JSON object."))
        kind = Kind(_KindOnly.model_validate(data).kind)  # refuses a missing or unknown kind
        foreign = sorted(set(data) & (RECORD_FIELDS - {"date", "notes", *FIELDS[kind]}))
        if foreign:
            message = _("This field does not apply to this kind of record.")
            _refuse(cls.__name__, {name: (message, data[name]) for name in foreign})
        return CREATE_SHAPES[kind].model_validate(data)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        described = handler(_CREATE_UNION.core_schema)
        described["discriminator"] = {
            "propertyName": "kind",
            "mapping": {
                kind.value: branch["$ref"]
                for kind, branch in zip(CREATE_SHAPES, described["oneOf"], strict=True)
            },
        }
        described["examples"] = EXAMPLES
        described["description"] = (
            "The fields of the record's `kind`, and only those. `date` is not after today "
            "(the caller's own date, with a day of grace); `next_due` and `end_date` are not "
            "before `date`."
        )
        return described


class RecordPatchBase(RecordShape):
    """Any fields of the record's own kind (``RecordPatch`` adds every record field)."""

    kind: Kind = unset(description="Cannot change once the record exists.")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        described = handler(_PATCH_UNION.core_schema)
        described["description"] = (
            "Only the fields to change, all of the record's own kind (one of these shapes). "
            "`date` is not after today (the caller's own date, with a day of grace); "
            "`next_due` and `end_date` are not before the record's `date` (as sent or as "
            "stored)."
        )
        return described


if TYPE_CHECKING:
    RecordPatch = RecordPatchBase
else:
    RecordPatch = create_model(
        "RecordPatch",
        __base__=RecordPatchBase,
        **{name: (annotation, unset()) for name, (annotation, _d) in FIELD_TYPES.items()},
    )
