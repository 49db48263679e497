"""The benchmark switch ``PAWFILE_SQLROWS=off`` (``bench/api.py --orm``): the API's hot paths
then run the ORM instead of the hand-written SQL, and answer exactly the same.

Each call is made with the switch on and off; the answers are compared, and the statements
run are checked for the hand-written ones (their tables carry one-letter aliases, and the
INSERT returns a bare ``"id"``), which must appear only with the switch on.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pawfile.lib import sqlrows
from pawfile.pets.models import Pet
from tests.conftest import PASSWORD, Cast

HAND_WRITTEN_SQL = re.compile(r'FROM "\w+" [a-z] |RETURNING "id"|SET "revision" = "revision"')
RECORD = {"kind": "vaccination", "name": "Rabies", "date": "2025-03-01"}


def _token(email: str) -> str:
    response = Client().post(
        "/_allauth/app/v1/auth/login",
        {"email": email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["access_token"])


def _reads(token: str, pet_id: int) -> tuple[list[object], list[str]]:
    """The answers of the hot reads, twice each (the token check's first and later calls
    differ), and the SQL they ran."""
    client = Client(headers={"Authorization": f"Bearer {token}"})
    answers: list[object] = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(2):
            listed = client.get("/api/v1/pets?limit=2")
            after = client.get(f"/api/v1/pets?limit=2&cursor={listed.json()['next']}")
            one = client.get(f"/api/v1/pets/{pet_id}")
            for response in (listed, after, one):
                answers.append((response.status_code, response.json()))
        answers.append(client.get("/api/v1/pets/999999").status_code)
    return answers, [q["sql"] for q in queries.captured_queries]


def _write(token: str, pet_id: int) -> tuple[object, list[str]]:
    """The answer of adding a record (without its id and stamps) and the SQL it ran."""
    client = Client(headers={"Authorization": f"Bearer {token}"})
    with CaptureQueriesContext(connection) as queries:
        added = client.post(f"/api/v1/pets/{pet_id}/records", RECORD, "application/json")
    body = {k: v for k, v in added.json().items() if k not in ("id", "created_at", "updated_at")}
    return (added.status_code, body), [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("hand_written", [True, False])
def test_the_hot_paths_answer_the_same_either_way(
    cast: Cast, pet: Pet, monkeypatch, hand_written: bool
) -> None:
    for name in ("Bella", "Max", "Zed"):
        Pet.objects.create(household=cast.household, name=name, species="cat")
    token = _token("bob@example.org")  # a caretaker: the role comes back in every pet
    monkeypatch.setattr(sqlrows, "HAND_WRITTEN", True)
    reference, _ = _reads(token, pet.pk)
    monkeypatch.setattr(sqlrows, "HAND_WRITTEN", hand_written)
    answers, read_sql = _reads(token, pet.pk)
    monkeypatch.setattr(sqlrows, "HAND_WRITTEN", True)
    reference_write, _ = _write(token, pet.pk)
    monkeypatch.setattr(sqlrows, "HAND_WRITTEN", hand_written)
    written, write_sql = _write(token, pet.pk)

    assert answers == reference
    assert reference[0][1]["items"][0]["role"] == "caretaker"
    assert written == reference_write
    assert reference_write[0] == 201
    for statements in (read_sql, write_sql):
        ran_hand_written = [sql for sql in statements if HAND_WRITTEN_SQL.search(sql)]
        assert bool(ran_hand_written) is hand_written, ran_hand_written


def test_the_switch_takes_only_on_or_off() -> None:
    assert sqlrows._switch("on") is True
    assert sqlrows._switch(" OFF ") is False
    with pytest.raises(ImproperlyConfigured, match="PAWFILE_SQLROWS"):
        sqlrows._switch("no")
