"""Property-based testing of the whole ``/api/v1`` schema with Schemathesis, over WSGI.

Every operation is called with generated valid and invalid data, as alice (JWT), on a real
database holding her household (Rex with a note, a contact, a photo, records, an attachment).
Path ids are pointed at her real rows so the handlers run past the access checks. Checks:
no server error, responses match the documented schemas, invalid data is refused with 4xx.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from django.core.signals import request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from werkzeug.test import Client as WsgiClient

from pawfile.config.wsgi import application
from pawfile.health.choices import FIELDS, Kind
from pawfile.health.models import HealthRecord
from pawfile.lib.api import MAX_ID
from tests.api.conftest import World, access_token

# The schema comes from the app itself; nothing goes over the network.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

# Every check schemathesis has, response schema and content-type conformance included.
schemathesis.checks.load_all_checks()
CHECKS = schemathesis.checks.CHECKS.get_all()


@pytest.fixture
def alice_world(world: World, settings_override: None) -> tuple[World, str]:
    return world, access_token(world.cast.alice.email)


@pytest.fixture
def records(world: World) -> dict[str, int]:
    """The id of one of Rex's records of each kind (the world's vaccination among them)."""
    ids = {Kind.VACCINATION.value: world.record.pk, Kind.WEIGHT.value: world.weight.pk}
    for kind in Kind:
        if kind.value not in ids:
            record = HealthRecord.objects.create(
                pet=world.rex,
                kind=kind,
                date=dt.date(2025, 3, 1),
                name=kind.label,
                created_by=world.cast.alice,
            )
            ids[kind.value] = record.pk
    return ids


@pytest.fixture
def settings_override(settings: Any) -> None:
    # Hundreds of requests per operation: the API limits are not what is tested here.
    settings.PAWFILE_API_RATELIMIT_USER = "100000/60"
    settings.PAWFILE_API_RATELIMIT_IP = "100000/60"


@pytest.fixture
def wsgi_in_test_transaction():
    """Keep the test's database connection open across WSGI requests.

    Django closes "old" connections when a request starts; inside the test transaction
    that would drop the data the test set up. Django's test client does the same.
    """
    request_started.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)


def real_cursor(case: schemathesis.Case, token: str) -> None:
    """Give a valid generated ``cursor`` a value the server made for this very list.

    A cursor is signed (``lib.pagination``): no schema can say which strings the server
    made, so, as with ids, a schema-valid one is replaced by a real one (the ``next`` of a
    one-item page with the same filters), or dropped when the list has no second page.
    Invalid ones stay, to test refusals.
    """
    query = case.query or {}
    if "cursor" not in query or not is_positive(case, ParameterLocation.QUERY):
        return
    first = {key: value for key, value in query.items() if key != "cursor"} | {"limit": 1}
    path = case.formatted_path
    # Through WSGI as schemathesis calls (Django's test client would reconnect the signal
    # that closes the test's database connection between requests).
    response = WsgiClient(application).get(
        path, query_string=first, headers={"Authorization": f"Bearer {token}"}
    )
    following = response.json.get("next") if response.status_code == 200 else None
    rest = {key: value for key, value in query.items() if key != "cursor"}
    case.query = {**rest, "cursor": following} if following else rest


# The two record operations whose bodies depend on a record's kind (``health.schemas``).
RECORD_CREATE = ("POST", "/api/v1/pets/{pet_id}/records")
RECORD_PATCH = ("PATCH", "/api/v1/records/{record_id}")


# What the server reads an upload as (``lib.images``, ``lib.documents``), by its first bytes.
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def unreadable_upload(case: schemathesis.Case) -> bool:
    """A valid generated upload whose bytes are no image (or PDF, for attachments).

    The schema can say only "binary" about a file: that its bytes are a picture is said in
    words. Schemathesis sends real files of several kinds and random bytes; those the server
    cannot read are refused with 422, which is right, so acceptance is not asked of them.
    """
    body = case.body
    if case.media_type != "multipart/form-data" or not isinstance(body, dict):
        return False
    if not is_positive(case, ParameterLocation.BODY):
        return False
    data = body.get("file")
    data = (
        bytes(getattr(data, "data", data) or b"")
        if isinstance(data, bytes | bytearray) or hasattr(data, "data")
        else b""
    )
    readable = data.startswith(IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    if case.path.endswith("/attachments"):
        readable = readable or data.startswith(b"%PDF-")
    return not readable


def valid_upload_called_invalid(case: schemathesis.Case) -> bool:
    """A multipart body that schemathesis calls invalid although it meets its schema.

    Its coverage phase labels a body invalid for what a form cannot carry (a file part given
    another file, a null caption, which goes out as no field); what is sent meets the schema,
    so refusing it would be wrong. Checked against the operation's own schema, as sent.
    """
    body = case.body
    if case.media_type != "multipart/form-data" or not isinstance(body, dict):
        return False
    if is_positive(case, ParameterLocation.BODY):
        return False
    schema = case.operation.definition.raw["requestBody"]["content"]["multipart/form-data"]
    wire = {  # a form cannot say null: such a field goes out empty or not at all
        name: "<file>" if isinstance(value, bytes | bytearray) or hasattr(value, "data") else value
        for name, value in body.items()
        if value is not None
    }
    return bool(jsonschema_rs.is_valid(schema["schema"], wire))


def excluded_checks(case: schemathesis.Case) -> list[Any]:
    excluded = []
    if unreadable_upload(case):
        excluded.append(schemathesis.checks.positive_data_acceptance)
    others = [] if case.meta is None else [
        info.mode.is_positive
        for location, info in case.meta.components.items()
        if location != ParameterLocation.BODY
    ]  # fmt: skip
    if valid_upload_called_invalid(case) and all(others):
        excluded.append(schemathesis.checks.negative_data_rejection)
    return excluded


def real_body_ids(case: schemathesis.Case, ids: dict[str, int]) -> None:
    """Point valid generated ``pet_ids`` of a body at alice's pet, as ``real_ids`` does for
    the path (an id that names nothing is refused, which no schema can say)."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("pet_ids"), list):
        pet_ids = [ids["pet_id"] if valid_id(v) else v for v in body["pet_ids"]]
        case.body = {**body, "pet_ids": pet_ids}


def valid_id(value: Any) -> bool:
    """A JSON integer (3 or 3.0) in the id range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return float(value).is_integer() and 1 <= value <= MAX_ID


def is_positive(case: schemathesis.Case, location: ParameterLocation) -> bool:
    """Whether that part of the request (body, query...) was generated valid."""
    meta = case.meta
    if meta is None:
        return False
    component = meta.components.get(location)
    mode = component.mode if component is not None else meta.generation.mode
    return bool(mode.is_positive)


def real_content(case: schemathesis.Case) -> None:
    """What no schema can say, made true for valid generated bodies: a date is not after
    today (the caller's today; the schema says it in words), and a record's ``next_due`` and
    ``end_date`` are not before its date (as sent, or as stored for a PATCH). Invalid bodies
    stay."""
    body = case.body
    if not is_positive(case, ParameterLocation.BODY) or not isinstance(body, dict):
        return
    body = dict(body)  # a new value: generated values may be shared between cases
    today = dt.date.today().isoformat()
    for name in ("date", "birth_date"):
        value = body.get(name)
        if isinstance(value, str) and value > today:
            body[name] = today
    case.body = body
    operation = (case.method.upper(), case.path)
    if "fg_color" in body or "bg_color" in body:
        # A code must be darker than its background (a contrast rule between two fields,
        # said in words): valid bodies get black on white.
        if "fg_color" in body:
            body["fg_color"] = "#000000"
        if "bg_color" in body:
            body["bg_color"] = "#ffffff"
    if operation == ("POST", "/api/v1/apprise-targets") and "url" in body:
        # An address Apprise recognises (the schema can only say "text"; which services
        # Apprise knows is said in words). Nothing is sent on adding one.
        body["url"] = "json://hooks.example.org/pawfile"
    if operation == RECORD_CREATE:
        record_dates_ordered(body, HealthRecord(date=dt.date.today()))
    elif operation == RECORD_PATCH:
        record_id = str((case.path_parameters or {}).get("record_id"))
        stored = None
        if record_id.isascii() and record_id.isdigit() and 1 <= int(record_id) <= MAX_ID:
            stored = HealthRecord.objects.filter(pk=int(record_id)).first()
        record_dates_ordered(body, stored or HealthRecord(date=dt.date.today()))


def record_dates_ordered(body: dict[str, Any], stored: HealthRecord) -> None:
    """Move ``next_due``/``end_date`` (when sent) or ``date`` so that neither is before the
    date the record will have once ``body`` is applied to ``stored``."""

    def day(name: str) -> dt.date | None:
        if name not in body:
            return getattr(stored, name)  # type: ignore[no-any-return]
        value = body[name]
        return dt.date.fromisoformat(value) if isinstance(value, str) else None

    date = day("date") or dt.date.today()
    for name in ("next_due", "end_date"):
        value = day(name)
        if value is not None and value < date:
            if name in body:
                body[name] = date.isoformat()
            else:  # stored, and the body moves the date past it
                body["date"] = value.isoformat()
                date = value


def record_of_the_body_kind(case: schemathesis.Case, records: dict[str, int]) -> None:
    """Point a valid PATCH of a record at a record of a kind whose shape the body fits.

    The document shows a PATCH as any of the per-kind shapes; which one applies is the stored
    record's kind, which no schema can say (as with ids). Alice has a record of every kind.
    """
    body = case.body
    path = case.path_parameters or {}
    if (case.method.upper(), case.path) != RECORD_PATCH or not isinstance(body, dict):
        return
    if not is_positive(case, ParameterLocation.BODY) or path.get("record_id") not in (
        records["vaccination"], str(records["vaccination"]),
    ):  # fmt: skip
        return
    for kind, record_id in records.items():
        allowed = {"kind", "date", "notes", *FIELDS[kind]}
        if set(body) <= allowed and body.get("kind", kind) == kind:
            text = isinstance(path["record_id"], str)
            case.path_parameters = {**path, "record_id": str(record_id) if text else record_id}
            return


def real_ids(case: schemathesis.Case, ids: dict[str, int]) -> None:
    """Point valid generated ids at alice's rows (invalid ones stay, to test refusals)."""
    case.path_parameters = dict(case.path_parameters or {})  # not shared with other cases
    for name, value in list(case.path_parameters.items()):
        # The coverage phase writes path values as text ("2"), the fuzzing phase as numbers.
        number = (
            int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value
        )
        if name in ids and isinstance(number, int) and 1 <= number <= MAX_ID:
            case.path_parameters[name] = str(ids[name]) if isinstance(value, str) else ids[name]


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_api_schema(
    case: schemathesis.Case,
    alice_world: tuple[World, str],
    records: dict[str, int],
    wsgi_in_test_transaction: None,
) -> None:
    world, token = alice_world
    # Schemathesis may hand the same case on with another part changed (its coverage phase):
    # what is changed here for this call is put back afterwards.
    generated = (case.path_parameters, case.query, case.body)
    try:
        real_ids(case, world.ids)
        record_of_the_body_kind(case, records)
        real_body_ids(case, world.ids)
        real_content(case)
        real_cursor(case, token)
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"},
            checks=CHECKS,
            excluded_checks=excluded_checks(case),
        )
    finally:
        case.path_parameters, case.query, case.body = generated
