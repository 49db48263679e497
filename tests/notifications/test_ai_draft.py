"""Drafts of pet updates from an AI provider, against local fakes of OpenAI's chat
completions and Gemini's generateContent (saved answers in tests/fixtures/openai and
tests/fixtures/gemini, real HTTP through pawfile.lib.http): a good draft is used; an answer
over the 30/100 character limits, a 500 and a timeout give the template's draft instead, and
the update is still sent."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.utils import translation

from pawfile.notifications import ai
from pawfile.notifications.models import Notification, PetUpdate
from tests.conftest import Cast
from tests.notifications.fakeservers import Answer, FakeServer, fixture

pytestmark = pytest.mark.django_db

GOOD = (
    "Rex loved the snow",
    "Rex played in the snow all morning and is now napping by the heater.",
)


@pytest.fixture
def provider(settings) -> Iterator[FakeServer]:
    server = FakeServer().start()
    settings.AI_ENABLED = True
    settings.AI_API_KEY = "sk-test-key"
    settings.AI_TIMEOUT = 1.0
    yield server
    server.stop()


@pytest.fixture
def openai(settings, provider: FakeServer) -> FakeServer:
    settings.AI_PROVIDER = "openai"
    settings.AI_MODEL = "gpt-4o-mini"
    settings.AI_BASE_URL = provider.base + "/v1"
    return provider


@pytest.fixture
def gemini(settings, provider: FakeServer) -> FakeServer:
    settings.AI_PROVIDER = "gemini"
    settings.AI_MODEL = "gemini-2.0-flash"
    settings.AI_BASE_URL = provider.base
    return provider


def draft(note: str = "played in the snow") -> ai.Draft:
    return ai.draft_make(pet_name="Rex", species="dog", note=note)


def test_openai_draft_is_asked_for_json_with_the_bearer_key_and_used(openai: FakeServer) -> None:
    openai.queue(Answer(200, fixture("openai", "chat_completion_ok.json")))
    result = draft()
    assert (result.title, result.body, result.source) == (*GOOD, "ai")
    (seen,) = openai.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test-key"
    body = seen.json()
    assert body["model"] == "gpt-4o-mini"
    assert body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "30" in body["messages"][0]["content"] and "100" in body["messages"][0]["content"]
    assert "Rex" in body["messages"][1]["content"] and "snow" in body["messages"][1]["content"]


def test_gemini_draft_sends_the_key_in_a_header_and_asks_for_json(gemini: FakeServer) -> None:
    gemini.queue(Answer(200, fixture("gemini", "generate_content_ok.json")))
    result = draft()
    assert (result.title, result.body, result.source) == (*GOOD, "ai")
    (seen,) = gemini.requests
    assert seen.path == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert "key=" not in seen.path  # the key stays out of URLs (and logs)
    assert seen.headers["x-goog-api-key"] == "sk-test-key"
    body = seen.json()
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert "Rex" in body["contents"][0]["parts"][0]["text"]


@pytest.mark.parametrize("name", ["openai", "gemini"])
@pytest.mark.parametrize(
    "answer",
    ["too_long", "error_500", "timeout", "not_json"],
)
def test_a_bad_answer_gives_the_templates_draft(request, name: str, answer: str) -> None:
    server: FakeServer = request.getfixturevalue(name)
    ok_file = "chat_completion_ok.json" if name == "openai" else "generate_content_ok.json"
    if answer == "too_long":
        long_file = ok_file.replace("_ok", "_too_long")
        server.queue(Answer(200, fixture(name, long_file)))
    elif answer == "error_500":
        server.queue(Answer(500, fixture(name, "error_500.json")))
    elif answer == "timeout":
        server.queue(Answer(200, fixture(name, ok_file), delay=3))  # past AI_TIMEOUT (1 s)
    else:
        broken = json.loads(
            json.dumps(fixture(name, ok_file)).replace('{\\"title', 'Sure! {\\"title')
        )
        server.queue(Answer(200, broken))
    result = draft(note="")
    assert result.source == "template", result
    assert result.problem
    assert len(result.title) <= ai.TITLE_MAX and len(result.body) <= ai.BODY_MAX
    assert "Rex" in result.title


def test_without_a_provider_the_template_writes_it_in_the_persons_language(settings) -> None:
    settings.AI_ENABLED = False
    english = draft(note="")
    assert english.source == "template" and english.title == "News from Rex"
    with translation.override("es"):
        spanish = draft(note="")
    assert spanish.title == "Noticias de Rex"
    long_name = ai.draft_make(pet_name="Sir Reginald Barkington the Third of Wellesley")
    assert len(long_name.title) <= ai.TITLE_MAX
    assert len(ai.draft_make(pet_name="Rex", note="x " * 200).body) <= ai.BODY_MAX


def test_the_page_drafts_with_htmx_and_the_send_still_works_when_the_provider_fails(
    cast: Cast, pet, openai: FakeServer
) -> None:
    alice = cast.client_for("alice")
    openai.queue(Answer(500, fixture("openai", "error_500.json")))
    fragment = alice.post(
        f"/pets/{pet.pk}/updates/new",
        {"action": "draft", "note": ""},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert html.lstrip().startswith("<form") and "<html" not in html  # the form alone
    assert 'value="News from Rex"' in html
    assert 'name="drafted" value="template"' in html

    openai.queue(Answer(200, fixture("openai", "chat_completion_ok.json")))
    drafted = alice.post(f"/pets/{pet.pk}/updates/new", {"action": "draft", "note": "snow"})
    assert f'value="{GOOD[0]}"' in drafted.content.decode()

    sent = alice.post(
        f"/pets/{pet.pk}/updates/new",
        {"action": "send", "title": "News from Rex", "body": "All good.", "drafted": "template"},
    )
    assert sent.status_code == 302
    update = PetUpdate.objects.get()
    assert update.drafted == PetUpdate.Drafted.TEMPLATE
    assert set(
        Notification.objects.filter(kind="pet_update").values_list("recipient__email", flat=True)
    ) == {
        "bob@example.org",
        "carol@example.org",
    }


def test_the_api_draft(cast: Cast, pet, gemini: FakeServer) -> None:
    gemini.queue(Answer(200, fixture("gemini", "generate_content_ok.json")))
    alice = cast.client_for("alice")
    response = alice.post(
        f"/api/v1/pets/{pet.pk}/updates/draft", {"note": "snow"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"title": GOOD[0], "body": GOOD[1], "source": "ai"}
    charlie = cast.client_for("charlie")
    stranger = charlie.post(
        f"/api/v1/pets/{pet.pk}/updates/draft", {"note": ""}, content_type="application/json"
    )
    assert stranger.status_code == 404
    assert len(gemini.requests) == 1  # the stranger's request never reached the provider


def test_drafts_are_rate_limited_then_the_template_answers(
    cast: Cast, pet, openai: FakeServer, settings
) -> None:
    from pawfile.notifications import updates

    settings.PET_UPDATE_RATE = "1/3600"  # three drafts per allowed update
    openai.default = fixture("openai", "chat_completion_ok.json")
    sources = [updates.update_draft(user=cast.bob, pet_id=pet.pk).source for _ in range(5)]
    assert sources == ["ai", "ai", "ai", "template", "template"]
    assert len(openai.requests) == 3
