"""Notes through the web pages: sanitised on save, searchable, pinned first."""

from __future__ import annotations

from pawfile.pets import services
from pawfile.pets.models import Note, Pet
from tests.conftest import Cast

HOSTILE_HTML = (
    "<h3>Vet visit</h3>"
    "<p onclick=\"alert('x')\">Give <strong>half</strong> a pill"
    "<script>alert(document.cookie)</script></p>"
    '<p><a href="javascript:alert(1)">click</a> or <a href="https://vet.example/">the vet</a></p>'
    "<ul><li>morning</li><li>evening</li></ul>"
    '<img src="x" onerror="alert(1)">'
)


def test_note_is_sanitised_on_save_and_keeps_its_list(cast: Cast, pet: Pet) -> None:
    client = cast.client_for("bob")
    response = client.post(
        f"/pets/{pet.pk}/notes/new/", {"title": "Pills", "body_html": HOSTILE_HTML}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/pets/{pet.pk}/#notes"
    note = Note.objects.get()
    for gone in ("<script", "onclick", "javascript:", "onerror", "<img", "alert"):
        assert gone not in note.body_html
    assert "<ul><li>morning</li><li>evening</li></ul>" in note.body_html
    assert "<strong>half</strong>" in note.body_html
    assert 'href="https://vet.example/"' in note.body_html
    assert note.author == cast.bob
    page = client.get(f"/pets/{pet.pk}/").content.decode()
    assert "<li>morning</li>" in page
    assert "<script>alert" not in page and "onclick=" not in page


def test_note_edit_sanitises_too(cast: Cast, pet: Pet) -> None:
    note = services.note_create(actor=cast.alice, pet=pet, body_html="<p>ok</p>")
    response = cast.client_for("alice").post(
        f"/notes/{note.pk}/edit/", {"title": "", "body_html": HOSTILE_HTML, "pinned": "on"}
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert "<script" not in note.body_html and "javascript:" not in note.body_html
    assert note.pinned


def test_empty_note_is_refused_with_a_message(cast: Cast, pet: Pet) -> None:
    response = cast.client_for("alice").post(
        f"/pets/{pet.pk}/notes/new/", {"title": "Empty", "body_html": "<p> </p><script>x</script>"}
    )
    assert response.status_code == 400
    assert "A note needs some text." in response.content.decode()
    assert not Note.objects.exists()


def test_search_finds_notes_by_text_and_pinned_come_first(cast: Cast, pet: Pet) -> None:
    old = services.note_create(actor=cast.alice, pet=pet, body_html="<p>Loves carrots</p>")
    services.note_create(actor=cast.alice, pet=pet, body_html="<p>Scared of thunder</p>")
    services.note_create(actor=cast.alice, pet=pet, title="Carrot cake", body_html="<p>No!</p>")
    client = cast.client_for("carol")

    found = client.get(f"/pets/{pet.pk}/notes/?q=carrot").content.decode()
    assert "Loves carrots" in found and "Carrot cake" in found
    assert "thunder" not in found

    fragment = client.get(f"/pets/{pet.pk}/notes/?q=thunder", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert 'id="notes-list"' in fragment.content.decode()
    assert "Scared of thunder" in fragment.content.decode()

    nothing = client.get(f"/pets/{pet.pk}/notes/?q=zebra").content.decode()
    assert "No note mentions" in nothing

    # The oldest note, pinned, goes to the top of the pet page.
    assert cast.client_for("alice").post(f"/notes/{old.pk}/pin/").status_code == 302
    page = client.get(f"/pets/{pet.pk}/").content.decode()
    assert page.index("Loves carrots") < page.index("Carrot cake") < page.index("thunder")
    assert cast.client_for("alice").post(f"/notes/{old.pk}/pin/").status_code == 302
    old.refresh_from_db()
    assert not old.pinned


def test_note_editor_page_loads_the_vendored_editor_without_inline_code(
    cast: Cast, pet: Pet
) -> None:
    page = cast.client_for("alice").get(f"/pets/{pet.pk}/notes/new/").content.decode()
    assert "/static/vendor/editor/pell.min.js" in page
    assert "/static/pawfile/pets.js" in page
    assert 'data-rich-editor="true"' in page
    assert 'name="body_html"' in page
