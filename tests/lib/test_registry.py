"""The app registry: what apps declare shows up in the shared features, and nothing else does."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from pawfile.accounts.models import Household
from pawfile.lib import registry
from pawfile.lib.registry import ArchiveFile, ExportSection
from pawfile.pets import services as pet_services
from pawfile.pets.models import Pet
from pawfile.privacy import deletion
from tests.conftest import Cast
from tests.privacy.test_export import download, export_request

ROOT = Path(__file__).resolve().parents[2]

# Feature names the landing page once promised before their apps existed.
NOT_BUILT = ("Reminders", "Lost-pet QR tags", "Care bookings")


@pytest.fixture
def test_templates(settings, tmp_path: Path) -> Path:
    """A template folder searched first, for templates of a pretend app."""
    folder = tmp_path / "templates"
    (folder / "test_app").mkdir(parents=True)
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [folder, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    return folder


# --- Landing and home cards --------------------------------------------------------------------


def test_landing_page_shows_the_cards_of_installed_apps_only(client: Client, db: None) -> None:
    page = client.get(reverse("landing")).content.decode()
    for name in ("Pet profiles", "Health records", "Shared households"):
        assert name in page
    for name in NOT_BUILT:
        assert name not in page
    assert "reminders" not in page.lower()
    # An app that is not installed registers nothing: its card goes with it.
    with registry.temporary_registrations():
        registry.unregister_app("health")
        page = client.get(reverse("landing")).content.decode()
    assert "Health records" not in page and "Pet profiles" in page


def test_a_registered_card_shows_in_order_and_goes_when_unregistered(
    client: Client, db: None, test_templates: Path
) -> None:
    (test_templates / "test_app" / "card.html").write_text("<article>Reminders {{ n }}</article>")
    with registry.temporary_registrations():
        registry.register_landing_card(
            app="test_app",
            name="reminders",
            template="test_app/card.html",
            context=lambda request: {"n": 7},
            order=15,
        )
        page = client.get(reverse("landing")).content.decode()
    assert "<article>Reminders 7</article>" in page
    assert page.index("Pet profiles") < page.index("Reminders 7") < page.index("Health records")
    assert "Reminders 7" not in client.get(reverse("landing")).content.decode()


def test_home_cards_show_unless_their_context_is_none(cast: Cast, test_templates: Path) -> None:
    (test_templates / "test_app" / "step.html").write_text("<li>Book a walk for {{ who }}</li>")
    carol = cast.client_for("carol")  # a viewer in alice's household, owner of her own
    home = carol.get(reverse("home")).content.decode()
    assert "Add a pet" in home  # the pets app's step, for the household she owns
    with registry.temporary_registrations():
        registry.register_home_card(
            app="test_app",
            name="walk",
            template="test_app/step.html",
            context=lambda request: {"who": request.user.name} if request.user.name else None,
        )
        shown = carol.get(reverse("home")).content.decode()
        cast.carol.name = ""
        cast.carol.save()
        hidden = carol.get(reverse("home")).content.decode()
    assert "<li>Book a walk for Carol</li>" in shown
    assert "Book a walk" not in hidden


# --- Export ------------------------------------------------------------------------------------


def test_a_registered_app_adds_its_section_and_files_to_the_export(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    stored = default_storage.save("test_app/tag.svg", ContentFile(b"<svg/>"))

    def rows(user: Any) -> ExportSection:
        return ExportSection(
            rows={"tags": [{"user_id": user.pk, "code": "ABC123"}]},
            files=[ArchiveFile(stored, f"files/{stored}")],
        )

    alice = cast.client_for("alice")
    with registry.temporary_registrations():
        registry.register_export_section(app="test_app", rows=rows)
        archive = zipfile.ZipFile(
            io.BytesIO(download(alice, export_request(alice, django_capture_on_commit_callbacks)))
        )
    document = json.loads(archive.read("export.json"))
    assert document["tags"] == [{"user_id": cast.alice.pk, "code": "ABC123"}]
    assert archive.read(f"files/{stored}") == b"<svg/>"
    # Every app's section is there, in INSTALLED_APPS order, between the header and the end.
    keys = list(document)
    assert keys[:4] == ["format", "version", "exported_at", "site"]
    assert keys.index("user") < keys.index("pets") < keys.index("health_records")
    assert keys[-2:] == ["tags", "files_missing"]


def test_two_apps_claiming_one_export_key_is_an_error(cast: Cast) -> None:
    with registry.temporary_registrations():
        registry.register_export_section(
            app="test_app", rows=lambda user: ExportSection(rows={"pets": []})
        )
        with pytest.raises(ValueError, match="pets"):
            registry.export_sections(user=cast.alice)


# --- Deletion ----------------------------------------------------------------------------------


def test_account_deletion_asks_every_registered_app(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    """charlie is alone in his household: it goes with its pets, and every app is asked about
    the account, the household and the pets; the files they name are gone after commit."""
    home = Household.objects.get(memberships__user=cast.charlie)
    zorro = pet_services.pet_create(actor=cast.charlie, household=home, name="Zorro", species="dog")
    files = {
        scope: default_storage.save(f"test_app/{scope}.bin", ContentFile(b"x"))
        for scope in ("account", "household", "pets")
    }
    asked: dict[str, Any] = {}
    charlie_id = cast.charlie.pk

    def clear(scope: str) -> Any:
        def run(target: Any) -> list[str]:
            asked[scope] = [p.pk for p in target] if scope == "pets" else target.pk
            return [files[scope]]

        return run

    with registry.temporary_registrations():
        registry.register_deletion(
            app="test_app",
            account=clear("account"),
            household=clear("household"),
            pets=clear("pets"),
        )
        assert "test_app" in registry.deletion_apps()
        with django_capture_on_commit_callbacks(execute=True):
            deletion.account_delete(user=cast.charlie)
    assert asked == {"account": charlie_id, "household": home.pk, "pets": [zorro.pk]}
    assert not Pet.objects.filter(pk=zorro.pk).exists()
    for name in files.values():
        assert not default_storage.exists(name)


def test_pet_deletion_asks_every_app_for_its_files(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    name = default_storage.save("test_app/pet.bin", ContentFile(b"x"))
    with registry.temporary_registrations():
        registry.register_deletion(app="test_app", pets=lambda pets: [name])
        with django_capture_on_commit_callbacks(execute=True):
            pet_services.pet_delete(actor=cast.alice, pet=pet)
    assert not default_storage.exists(name)


def test_temporary_registrations_leave_the_registry_as_it_was() -> None:
    before = registry.deletion_apps()
    with registry.temporary_registrations():
        registry.unregister_app("pets")
        registry.register_deletion(app="test_app")
        assert "pets" not in registry.deletion_apps() and "test_app" in registry.deletion_apps()
    assert registry.deletion_apps() == before
    assert {"pets", "health", "privacy"} <= set(before)


# --- Layers ------------------------------------------------------------------------------------


def test_import_contracts_are_kept() -> None:
    """``lint-imports`` (also run by ``make lint``) passes on the code as it is."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
