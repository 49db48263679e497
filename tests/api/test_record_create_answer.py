"""The answer to adding a health record: complete, without asking the database for the
attachments a record just made cannot have (the handler says so to ``RecordOut``)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from pawfile.health.models import Attachment
from tests.api.conftest import World


def test_new_record_answer_lists_no_attachments_without_a_query(world: World, api_client) -> None:
    client = api_client("alice")
    table = Attachment._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/pets/{world.rex.pk}/records", {"kind": "visit", "name": "Check-up"}
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["attachments"] == [] and body["name"] == "Check-up"
    assert not [q["sql"] for q in queries.captured_queries if table in q["sql"]]


def test_other_answers_still_read_the_attachments(world: World, api_client) -> None:
    body = api_client("alice").get(f"/records/{world.record.pk}").json()
    assert [a["id"] for a in body["attachments"]] == [world.attachment.pk]
