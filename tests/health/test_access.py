"""Who may do what on the health pages: every endpoint x {owner, caretaker, viewer, stranger,
anonymous}, with the status code and whether the data actually changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import pytest

from pawfile.health import services
from pawfile.health.models import Attachment, HealthRecord
from tests.conftest import Cast, response_close
from tests.health.samples import days, minimal_pdf, upload

ROLES = ["alice", "bob", "carol", "charlie", None]  # owner, caretaker, viewer, stranger, anonymous
IDS = ["owner", "caretaker", "viewer", "stranger", "anonymous"]
WRITERS = {"alice", "bob"}


@dataclass
class World:
    record: HealthRecord
    attachment: Attachment


@pytest.fixture
def world(cast: Cast, pet) -> World:
    record = services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Secret-Rabies", date=days(-10)
    )
    attachment = services.attachment_add(
        actor=cast.alice,
        record=record,
        upload=upload("cert.pdf", minimal_pdf(), "application/pdf"),
        filename="cert.pdf",
    )
    return World(record, attachment)


def _request(client, world: World, endpoint: str, pet):
    r, a = world.record.pk, world.attachment.pk
    today = days(0).isoformat()
    requests: dict[str, Callable] = {
        "timeline": lambda: client.get(f"/pets/{pet.pk}/timeline/"),
        "timeline_htmx": lambda: client.get(
            f"/pets/{pet.pk}/timeline/?kind=vaccination", HTTP_HX_REQUEST="true"
        ),
        "create_form": lambda: client.get(f"/pets/{pet.pk}/records/new/vaccination/"),
        "create": lambda: client.post(
            f"/pets/{pet.pk}/records/new/vaccination/", {"date": today, "name": "Created-Shot"}
        ),
        "detail": lambda: client.get(f"/records/{r}/"),
        "edit_form": lambda: client.get(f"/records/{r}/edit/"),
        "edit": lambda: client.post(f"/records/{r}/edit/", {"date": today, "name": "Edited"}),
        "delete_form": lambda: client.get(f"/records/{r}/delete/"),
        "delete": lambda: client.post(f"/records/{r}/delete/"),
        "attach": lambda: client.post(
            f"/records/{r}/attachments/",
            {"file": upload("more.pdf", minimal_pdf(), "application/pdf")},
        ),
        "download": lambda: client.get(f"/attachments/{a}/download/"),
        "detach": lambda: client.post(f"/attachments/{a}/delete/"),
    }
    return requests[endpoint]()


# expected status per role: owner, caretaker, viewer, stranger, anonymous
TABLE = {
    "timeline": [200, 200, 200, 404, 302],
    "timeline_htmx": [200, 200, 200, 404, 302],
    "create_form": [200, 200, 403, 404, 302],
    "create": [302, 302, 403, 404, 302],
    "detail": [200, 200, 200, 404, 302],
    "edit_form": [200, 200, 403, 404, 302],
    "edit": [302, 302, 403, 404, 302],
    "delete_form": [200, 200, 403, 404, 302],
    "delete": [302, 302, 403, 404, 302],
    "attach": [302, 302, 403, 404, 302],
    "download": [200, 200, 200, 404, 302],
    "detach": [302, 302, 403, 404, 302],
}

# Did the request change anything? Only owner and caretaker requests may.
EFFECT: dict[str, Callable[[World], bool]] = {
    "create": lambda w: HealthRecord.objects.filter(name="Created-Shot").exists(),
    "edit": lambda w: HealthRecord.objects.filter(pk=w.record.pk, name="Edited").exists(),
    "delete": lambda w: not HealthRecord.objects.filter(pk=w.record.pk).exists(),
    "attach": lambda w: Attachment.objects.filter(original_name="more.pdf").exists(),
    "detach": lambda w: not Attachment.objects.filter(pk=w.attachment.pk).exists(),
}


@pytest.mark.parametrize("endpoint", list(TABLE))
@pytest.mark.parametrize("who", range(len(ROLES)), ids=IDS)
def test_health_access_table(cast: Cast, pet, world: World, endpoint: str, who: int) -> None:
    client = cast.client_for(ROLES[who])
    response = _request(client, world, endpoint, pet)
    assert response.status_code == TABLE[endpoint][who]
    if ROLES[who] is None:
        assert "/accounts/login/" in response["Location"]
    if endpoint in EFFECT:
        assert EFFECT[endpoint](world) is (ROLES[who] in WRITERS)
    if endpoint == "download" and response.status_code == 200:
        assert b"".join(response.streaming_content) == minimal_pdf()
        response_close(response)
    elif ROLES[who] in ("charlie", None):
        # Nothing of the record leaks to people outside the household.
        assert "Secret-Rabies" not in response.content.decode()


def test_unknown_kind_and_missing_ids_are_404(cast: Cast, pet, world: World) -> None:
    client = cast.client_for("alice")
    assert client.get(f"/pets/{pet.pk}/records/new/spaceship/").status_code == 404
    assert client.get("/records/999999/").status_code == 404
    assert client.get("/attachments/999999/download/").status_code == 404
    assert client.get("/pets/999999/timeline/").status_code == 404


def test_viewer_sees_no_write_buttons(cast: Cast, pet, world: World) -> None:
    r = world.record.pk
    writer_only = [
        f"/records/{r}/edit/",
        f"/records/{r}/delete/",
        f"/records/{r}/attachments/",
        f"/attachments/{world.attachment.pk}/delete/",
        f"/pets/{pet.pk}/records/new/",
    ]
    viewer = cast.client_for("carol")
    page = (
        viewer.get(f"/records/{r}/").content.decode()
        + viewer.get(f"/pets/{pet.pk}/timeline/").content.decode()
    )
    for url in writer_only:
        assert url not in page
    caretaker = cast.client_for("bob")
    page = (
        caretaker.get(f"/records/{r}/").content.decode()
        + caretaker.get(f"/pets/{pet.pk}/timeline/").content.decode()
    )
    for url in writer_only:
        assert escape(url) in page
