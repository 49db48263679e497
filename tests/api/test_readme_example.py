"""The README's API example works as written: the households list, a pet created in a
household, a record and a weight (the bodies are read from the README itself)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import Cast

README = Path(__file__).resolve().parents[2] / "README.md"


def _calls() -> list[tuple[str, dict]]:
    text = README.read_text()
    calls = re.findall(
        r"curl -s -X POST http://127\.0\.0\.1:8000/api/v1(\S+) [^\n]*\\\n\s+-d '([^']+)'", text
    )
    return [(path, json.loads(body)) for path, body in calls]


def test_the_readme_example_creates_a_pet_a_record_and_a_weight(cast: Cast, api_client) -> None:
    ours = ["/pets", "/pets/7/records", "/pets/7/weights"]
    calls = [(path, body) for path, body in _calls() if path in ours]
    assert [path for path, _body in calls] == ours
    alice = api_client("alice")
    households = alice.get("/households").json()["items"]
    assert households[0]["id"] == cast.household.pk
    (_, pet_body), (_, record_body), (_, weight_body) = calls
    pet = alice.post("/pets", {**pet_body, "household_id": cast.household.pk})
    assert pet.status_code == 201, pet.json()
    pet_id = pet.json()["id"]
    record = alice.post(f"/pets/{pet_id}/records", record_body)
    assert record.status_code == 201, record.json()
    weight = alice.post(f"/pets/{pet_id}/weights", weight_body)
    assert weight.status_code == 201, weight.json()
    assert weight.json()["grams"] == 12500 and weight.json()["value"] == 12.5
    records = alice.get(f"/pets/{pet_id}/records").json()["items"]
    assert {"kind": "weight", "weight_grams": 12500}.items() <= next(
        r for r in records if r["kind"] == "weight"
    ).items()
    # Without a household the pet is refused with the field named.
    refused = alice.post("/pets", {k: v for k, v in pet_body.items() if k != "household_id"})
    assert refused.status_code == 422 and "household_id" in json.dumps(refused.json())
