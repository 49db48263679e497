"""Cursor (keyset) pagination for API lists.

A list is ordered by some fields ending with the primary key (``("-date", "-id")``); a page
is the first ``limit`` rows after the last row the client has seen. The cursor is opaque to
the client: base64url of a short MAC followed by the ordering and that row's sort key. A
cursor that was altered, or made for another ordering, is refused with 400 rather than
silently giving a wrong page. Pages stay correct while rows are added or removed, which an
offset would not.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import operator
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field, Model, Q, QuerySet
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from ninja import Field as SchemaField
from ninja import Schema
from pydantic import BaseModel, ConfigDict

from pawfile.lib.api import ApiError, optional

T = TypeVar("T")
M = TypeVar("M", bound=Model)

SALT = "pawfile.lib.pagination.cursor"
MAC_BYTES = 12
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CURSOR_MAX_LENGTH = 1024
# base64url without padding, what cursor_encode writes; empty is the first page.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next`` is the cursor of the following page, ``null`` at the end.

    A plain pydantic model (items may be ninja schemas or plain models): a handler can build
    the page itself with ``Page[X].model_validate`` and ninja then only dumps it.
    """

    model_config = ConfigDict(from_attributes=True)

    items: list[T]
    next: str | None


class PageQuery(Schema):
    """The query parameters of every list: ``cursor`` from the previous page, ``limit``."""

    cursor: str | None = optional(
        max_length=CURSOR_MAX_LENGTH,
        pattern=CURSOR_PATTERN,
        description=(
            "The `next` of the previous page, as it came. It is signed: any other value, or "
            "one made for another list or ordering, is refused with 400 (`bad_cursor`)."
        ),
    )
    limit: int = SchemaField(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


def _bad_cursor() -> ApiError:
    return ApiError(
        400, "bad_cursor", _("The cursor is not valid; start again from the first page.")
    )


def _mac(raw: bytes) -> bytes:
    return salted_hmac(SALT, raw, algorithm="sha256").digest()[:MAC_BYTES]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def cursor_encode(order: Sequence[str], key: Sequence[Any]) -> str:
    raw = json.dumps(
        {"o": ",".join(order), "k": [_jsonable(v) for v in key]}, separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(_mac(raw) + raw).rstrip(b"=").decode()


def cursor_decode(cursor: str, order: Sequence[str], model: type[Model]) -> list[Any]:
    """The sort key stored in ``cursor``; ``ApiError`` 400 if it is not one of ours."""
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise _bad_cursor() from None
    mac, raw = blob[:MAC_BYTES], blob[MAC_BYTES:]
    if len(mac) != MAC_BYTES or not hmac.compare_digest(mac, _mac(raw)):
        raise _bad_cursor()
    try:
        data = json.loads(raw)
    except ValueError:
        raise _bad_cursor() from None
    if not isinstance(data, dict) or data.get("o") != ",".join(order):
        raise _bad_cursor()
    key = data.get("k")
    if not isinstance(key, list) or len(key) != len(order):
        raise _bad_cursor()
    try:
        return [_to_python(model, spec, value) for spec, value in zip(order, key, strict=True)]
    except (DjangoValidationError, FieldDoesNotExist, TypeError):
        raise _bad_cursor() from None


def _to_python(model: type[Model], spec: str, value: Any) -> Any:
    field = model._meta.get_field(spec.lstrip("-"))
    if not isinstance(field, Field) or isinstance(value, dict | list):
        raise TypeError(spec)
    return field.to_python(value)


def _after(order: Sequence[str], key: Sequence[Any]) -> Q:
    """Rows strictly after ``key`` in ``order`` (lexicographic over the sort fields)."""
    condition = Q(pk__in=[])
    for i, spec in enumerate(order):
        name = spec.lstrip("-")
        step = Q(**{f"{name}__{'lt' if spec.startswith('-') else 'gt'}": key[i]})
        for earlier, value in zip(order[:i], key[:i], strict=True):
            step &= Q(**{earlier.lstrip("-"): value})
        condition |= step
    return condition


def paginate(queryset: QuerySet[M], page: PageQuery, *, order: Sequence[str]) -> dict[str, Any]:
    """``{"items": [...], "next": cursor | None}``: the page after ``page.cursor``.

    ``order`` must end with the primary key (``"id"`` or ``"-id"``) so that every row has a
    distinct position.
    """
    assert order and order[-1].lstrip("-") in ("id", "pk"), "order must end with the key"
    rows = queryset.order_by(*order)
    if page.cursor:
        rows = rows.filter(_after(order, cursor_decode(page.cursor, order, queryset.model)))
    return page_of(list(rows[: page.limit + 1]), page.limit, order, getattr)


def page_of(
    found: list[Any], limit: int, order: Sequence[str], get: Any = operator.getitem
) -> dict[str, Any]:
    """``{"items", "next"}`` from up to ``limit + 1`` rows read in ``order`` (the extra row
    only says that there is a next page); ``get(row, name)`` reads a sort field of a row."""
    items = found[:limit]
    next_cursor = None
    if len(found) > limit:
        last = items[-1]
        next_cursor = cursor_encode(order, [get(last, s.lstrip("-")) for s in order])
    return {"items": items, "next": next_cursor}
