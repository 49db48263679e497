"""Drafts for pet updates: a title of at most 30 characters and a text of at most 100.

``draft_make`` asks the configured AI provider (``AI_ENABLED``, ``AI_PROVIDER`` ``openai``
or ``gemini``, ``AI_API_KEY``, ``AI_MODEL``, ``AI_BASE_URL``, ``AI_TIMEOUT``) and checks the
answer: JSON with a non-empty ``title`` and ``body`` within the limits, one line each. An
answer that breaks a limit is refused, not trimmed; then, as when no provider is set up,
when it fails (an error status, a timeout, a network error, an answer that is not that
JSON), the translated template writes the draft. The send never depends on the provider.

Providers, one function each, both through ``pawfile.lib.http`` with ``AI_TIMEOUT``:

* ``openai``: ``POST {AI_BASE_URL}/chat/completions`` with ``Authorization: Bearer``, a
  system and a user message and ``response_format: {"type": "json_object"}``; the draft is
  the JSON in ``choices[0].message.content``. Any OpenAI-compatible server works (a local
  one too: the base URL is the operator's, so private addresses are allowed).
* ``gemini``: ``POST {AI_BASE_URL}/v1beta/models/{AI_MODEL}:generateContent`` with the
  ``x-goog-api-key`` header (the key stays out of URLs and logs) and
  ``generationConfig.responseMimeType: application/json``; the draft is the JSON in
  ``candidates[0].content.parts[0].text``.

What goes to the provider: the pet's name and species, the sender's short note and the
language; never the sender's or recipients' names or addresses.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, gettext

from pawfile.lib.http import HttpError, http_request

TITLE_MAX = 30
BODY_MAX = 100
NOTE_MAX = 300

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    """A drafted title and text; ``source`` is ``ai`` or ``template``; ``problem`` says why
    the provider's answer was not used (for logs and tests, never shown)."""

    title: str
    body: str
    source: str
    problem: str = ""


class ProviderError(Exception):
    """The provider failed or answered something that is not a usable draft."""


def ai_available() -> bool:
    """Whether a provider is switched on and has a key."""
    return bool(settings.AI_ENABLED and settings.AI_API_KEY)


# --- The template ---------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,.;:") + "…"


def draft_template(*, pet_name: str, note: str = "") -> Draft:
    """The draft written without a provider, in the active language, within the limits."""
    name = _cut(pet_name, 18)
    title = _cut(gettext("News from %(pet)s") % {"pet": name}, TITLE_MAX)
    if note.strip():
        body = _cut(note, BODY_MAX)
    else:
        body = _cut(
            gettext("%(pet)s is doing well and says hello. A photo from today.") % {"pet": name},
            BODY_MAX,
        )
    return Draft(title=title, body=body, source="template")


# --- The providers --------------------------------------------------------------------------

SYSTEM_PROMPT = (
    "You write short, warm updates about a pet for its family. Answer with one JSON object "
    'with exactly two keys: "title" (at most {title} characters) and "body" (at most {body} '
    "characters), each one line of plain text, no emoji, in the language with the code "
    "{language}."
)


def _messages(*, pet_name: str, species: str, note: str) -> tuple[str, str]:
    system = SYSTEM_PROMPT.format(title=TITLE_MAX, body=BODY_MAX, language=get_language() or "en")
    happened = note.strip() or "a quiet, happy day"
    user = f"Pet: {pet_name} ({species or 'pet'}).\nWhat happened: {happened}."
    return system, user


def _json(response: Any) -> Any:
    if response.status_code != 200:
        raise ProviderError(f"the provider answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise ProviderError("the provider's answer is not JSON") from None


def openai_draft(*, system: str, user: str) -> str:
    """The provider's text for an OpenAI-compatible chat completion."""
    response = http_request(
        "POST",
        f"{settings.AI_BASE_URL}/chat/completions",
        timeout=settings.AI_TIMEOUT,
        allow_private=True,
        headers={"Authorization": f"Bearer {settings.AI_API_KEY}"},
        json={
            "model": settings.AI_MODEL,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "response_format": {"type": "json_object"},
            "max_tokens": 200,
            "temperature": 0.7,
        },
    )
    data = _json(response)
    try:
        return str(data["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError):
        raise ProviderError("no choices[0].message.content in the answer") from None


def gemini_draft(*, system: str, user: str) -> str:
    """The provider's text for Gemini's ``generateContent``."""
    response = http_request(
        "POST",
        f"{settings.AI_BASE_URL}/v1beta/models/{settings.AI_MODEL}:generateContent",
        timeout=settings.AI_TIMEOUT,
        allow_private=True,
        headers={"x-goog-api-key": settings.AI_API_KEY},
        json={
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": [{"role": "user", "parts": [{"text": user}]}],
            "generationConfig": {
                "responseMimeType": "application/json",
                "maxOutputTokens": 200,
                "temperature": 0.7,
            },
        },
    )
    data = _json(response)
    try:
        return str(data["candidates"][0]["content"]["parts"][0]["text"])
    except (KeyError, IndexError, TypeError):
        raise ProviderError("no candidates[0].content.parts[0].text in the answer") from None


PROVIDERS = {"openai": openai_draft, "gemini": gemini_draft}


def draft_parse(text: str) -> Draft:
    """The draft in the provider's ``text`` (a JSON object, perhaps in a code fence);
    ``ProviderError`` when it is not one or breaks a limit."""
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError:
        raise ProviderError("the draft is not JSON") from None
    if not isinstance(data, dict):
        raise ProviderError("the draft is not a JSON object")
    title, body = data.get("title"), data.get("body")
    if not isinstance(title, str) or not isinstance(body, str):
        raise ProviderError("the draft has no title or body")
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise ProviderError("the draft's title or body is empty")
    if len(title) > TITLE_MAX or len(body) > BODY_MAX:
        raise ProviderError(f"the draft is too long ({len(title)} / {len(body)} characters)")
    if any(ord(c) < 32 for c in title + body):
        raise ProviderError("the draft has line breaks or control characters")
    return Draft(title=title, body=body, source="ai")


def draft_make(*, pet_name: str, species: str = "", note: str = "") -> Draft:
    """A draft from the provider when one is set up and answers well, else the template's
    (see the module docstring). Never raises for the provider's failures."""
    note = _cut(note, NOTE_MAX) if note else ""
    if not ai_available():
        return draft_template(pet_name=pet_name, note=note)
    system, user = _messages(pet_name=pet_name, species=species, note=note)
    try:
        text = PROVIDERS[settings.AI_PROVIDER](system=system, user=user)
        return draft_parse(text)
    except (ProviderError, HttpError) as exc:
        log.info("ai draft: %s; the template writes it", exc)
        template = draft_template(pet_name=pet_name, note=note)
        return Draft(template.title, template.body, template.source, problem=str(exc))
