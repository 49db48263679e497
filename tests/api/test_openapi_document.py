"""The ``/api/v1`` OpenAPI document: valid, free of duplicate keys, built once per process,
and truthful about what downloads send."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import Client
from openapi_spec_validator import validate

from pawfile.config.api import api
from pawfile.health.choices import FIELDS, REQUIRED, Kind
from pawfile.health.models import HealthRecord
from pawfile.health.schemas import COST_PATTERN, NAME_PATTERN
from pawfile.lib.api import LINE_PATTERN
from pawfile.lib.openapi import response_keys_check
from pawfile.lib.text import plain_line_problem
from pawfile.pets.validators import MICROCHIP_PATTERN, validate_microchip
from tests.api.conftest import ApiClient, World

OPENAPI = "/api/v1/openapi.json"


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise ValueError(f"duplicated keys: {duplicated}")
    return dict(pairs)


def strict_document() -> dict[str, Any]:
    """The document as served, parsed from the raw bytes with duplicate keys refused."""
    response = Client().get(OPENAPI)
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.content, object_pairs_hook=_no_duplicate_keys)
    return document


def test_document_has_no_duplicate_keys(db: None) -> None:
    # Swagger UI's parser said "duplicated mapping key" for the two file downloads.
    strict_document()


def test_document_is_valid_openapi(db: None) -> None:
    validate(strict_document())  # raises with the offending path


def test_strict_parser_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="duplicated keys"):
        json.loads('{"200": {}, "200": {}}', object_pairs_hook=_no_duplicate_keys)


def test_a_status_documented_twice_is_refused() -> None:
    clash = {"paths": {"/x": {"get": {"responses": {200: {}, "200": {}}}}}}
    with pytest.raises(ImproperlyConfigured, match="GET /x"):
        response_keys_check(clash)


def test_document_is_built_once_per_process(db: None) -> None:
    first = api.get_openapi_schema()
    assert api.get_openapi_schema() is first
    assert Client().get(OPENAPI).json() == json.loads(json.dumps(first))


def _content_types(document: dict[str, Any], path: str) -> set[str]:
    return set(document["paths"]["/api/v1" + path]["get"]["responses"]["200"]["content"])


def test_downloads_are_described_as_what_they_send(world: World, api_client: Any) -> None:
    document = strict_document()
    client: ApiClient = api_client("alice")
    photo_types = _content_types(document, "/photos/{photo_id}/file")
    for fmt in ("webp", "jpeg"):
        sent = client.get(f"/photos/{world.ids['photo_id']}/file?format={fmt}")
        assert sent.status_code == 200
        assert sent["Content-Type"] in photo_types
    attachment = client.get(f"/attachments/{world.ids['attachment_id']}/file")
    assert attachment.status_code == 200
    assert attachment["Content-Type"] in _content_types(
        document, "/attachments/{attachment_id}/file"
    )
    report = client.get(f"/pets/{world.ids['pet_id']}/report.pdf")
    assert report.status_code == 200
    assert _content_types(document, "/pets/{pet_id}/report.pdf") == {report["Content-Type"]}
    for path in ("/photos/{photo_id}/file", "/attachments/{attachment_id}/file",
                 "/pets/{pet_id}/report.pdf"):  # fmt: skip
        for media in document["paths"]["/api/v1" + path]["get"]["responses"]["200"]["content"]:
            assert media != "application/octet-stream", path


def test_report_pdf_id_is_typed_like_every_id(db: None) -> None:
    operation = strict_document()["paths"]["/api/v1/pets/{pet_id}/report.pdf"]["get"]
    (param,) = operation["parameters"]
    assert param["schema"]["type"] == "integer"
    assert param["schema"]["minimum"] == 1
    assert param["schema"]["maximum"] == 2**63 - 1
    assert {"401", "404", "422"} <= set(operation["responses"])


# --- What the document says is accepted is what the server accepts --------------------------


def test_line_pattern_is_the_one_line_rule() -> None:
    line = re.compile(LINE_PATTERN)
    for code in range(0x3000):
        char = chr(code)
        assert bool(line.match(f"a{char}b")) == (plain_line_problem(f"a{char}b") is None), hex(code)


@pytest.mark.parametrize(
    "number",
    ["", " ", "985112345678901", "985 112-345.678 901", "000123456789012", "001234567890123",
     "0A1B2C3D4E", "abc-def-123", "12345678", "1234567890123456", "98511234567890x",
     "\u0663" * 15, "985\u00a0112\u3000345678901"],
)  # fmt: skip
def test_microchip_pattern_is_the_microchip_rule(number: str) -> None:
    try:
        validate_microchip(number)
        accepted = True
    except ValidationError:
        accepted = False
    ascii_digits = all(not c.isdigit() or c.isascii() for c in number)
    assert bool(re.match(MICROCHIP_PATTERN, number)) == (accepted and ascii_digits)


# --- Health records: one shape per kind -----------------------------------------------------


def test_record_create_is_one_shape_per_kind(db: None) -> None:
    schemas = strict_document()["components"]["schemas"]
    create = schemas["RecordCreate"]
    assert create["discriminator"]["propertyName"] == "kind"
    assert set(create["discriminator"]["mapping"]) == set(Kind.values)
    for kind, ref in create["discriminator"]["mapping"].items():
        assert {"$ref": ref} in create["oneOf"]
        shape = schemas[ref.rsplit("/", 1)[-1]]
        assert shape["additionalProperties"] is False
        assert set(shape["properties"]) == {"kind", "date", "notes", *FIELDS[kind]}
        assert shape["properties"]["kind"]["const"] == kind
        assert set(shape["required"]) == {"kind", *REQUIRED[kind]}
        assert ("dependentRequired" in shape) == ("cost" in FIELDS[kind])


def test_record_patch_is_any_of_the_shapes_of_its_kind(db: None) -> None:
    schemas = strict_document()["components"]["schemas"]
    shapes = [schemas[b["$ref"].rsplit("/", 1)[-1]] for b in schemas["RecordPatch"]["anyOf"]]
    assert {shape["properties"]["kind"]["const"] for shape in shapes} == set(Kind.values)
    for shape in shapes:
        kind = shape["properties"]["kind"]["const"]
        assert set(shape["properties"]) == {"kind", "date", "notes", *FIELDS[kind]}
        assert not shape.get("required")
        assert shape["additionalProperties"] is False


@pytest.mark.parametrize(
    "name", ["Rabies", " Rabies ", "", " ", "\u3000\u00a0", "\u2003x", "\ufeff", "a\nb", "\t"]
)
def test_name_pattern_is_what_the_server_keeps(name: str) -> None:
    # The service strips spaces (``str.strip``) and then needs something left.
    one_line = plain_line_problem(name) is None
    assert bool(re.match(NAME_PATTERN, name)) == (one_line and bool(name.strip()))


@pytest.mark.parametrize(
    ("cost", "ok"),
    [("45.50", True), ("0", True), ("12345678.99", True), ("123456789", False), ("1.005", False),
     ("-1", False), ("1e3", False), (" 1", False), ("\u0661", False), ("1.", False)],
)  # fmt: skip
def test_cost_pattern_fits_the_column(cost: str, ok: bool) -> None:
    field = HealthRecord._meta.get_field("cost")
    assert bool(re.match(COST_PATTERN, cost)) == ok
    if ok:
        field.clean(Decimal(cost), None)  # max_digits=10, decimal_places=2
