"""The mail bodies of a batch (``channels.email_bodies.BatchBodies``: rendered once per
language and shape, then filled in per mail) are the templates' own, character for
character, over awkward values, both languages and every shape; a template that uses
something the stand-ins do not stand for, or a value that holds a marker, is rendered mail
by mail."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pytest
from django.template import engines
from django.utils.translation import override

from pawfile.notifications.channels import email_bodies
from pawfile.notifications.channels.email_bodies import BatchBodies, bodies_render

AWKWARD = [
    ("Pill", "Rex: due 3 Dec 2026, 09:00", "/reminders/pet/5/"),
    ('<b>Tom & "Jerry"</b>', "line one\nline <two>\r\nthree & 'four'", ""),
    ("Píldora ñandú 🐶", "", "/pets/7/?a=1&b=<2>"),
    ("{{ not a tag }} {% if %}", "%(pet)s %s {0}", "https://elsewhere.example.org/x?y='z'"),
    ("x" * 300, "\n\n", "/"),
]


def _notification(title: str, body: str, link: str) -> SimpleNamespace:
    url = link if "://" in link or not link else "https://pets.example.org" + link
    return SimpleNamespace(title=title, body=body, link=link, url=url, kind="reminder")


def _context(notifications: list[Any], unsubscribe: str = "https://pets.example.org/u/t:1/"):
    return {
        "recipient": SimpleNamespace(pk=1, email="a@example.org", locale="es"),
        "notifications": notifications,
        "site_name": "Pawfile & <Co>",
        "base_url": "https://pets.example.org",
        "unsubscribe_url": unsubscribe,
        "settings_url": "https://pets.example.org/notifications/settings/",
    }


@pytest.mark.parametrize("language", ["en", "es"])
def test_each_shape_is_the_templates_own(language: str) -> None:
    bodies = BatchBodies()
    mails = [[_notification(*values)] for values in AWKWARD]
    mails += [[_notification(*a), _notification(*b)] for a, b in itertools.pairwise(AWKWARD)]
    mails += [[_notification(*values) for values in AWKWARD]]
    with override(language):
        for round_ in range(2):  # the second time every shape's skeleton is there already
            for index, notifications in enumerate(mails):
                context = _context(notifications, f"https://pets.example.org/u/{index}&{round_}/")
                assert bodies.render(context) == bodies_render(context)
    assert len(bodies._skeletons) < len(mails)  # shapes are shared, not one per mail


def test_languages_get_their_own_skeleton() -> None:
    bodies = BatchBodies()
    context = _context([_notification(*AWKWARD[0])])
    with override("en"):
        english = bodies.render(context)
    with override("es"):
        spanish = bodies.render(context)
        assert spanish == bodies_render(context)
    assert english != spanish


def test_a_value_holding_a_marker_is_rendered_on_its_own() -> None:
    bodies = BatchBodies()
    sneaky = email_bodies._mark("title", 1)
    context = _context([_notification(sneaky, "b", "/x/"), _notification("t", "", "")])
    assert bodies.render(context) == bodies_render(context)
    assert sneaky in bodies.render(context)[0]


def test_a_template_using_what_the_stand_ins_lack_is_rendered_mail_by_mail(monkeypatch) -> None:
    engine = engines["django"]
    text = engine.from_string(
        "{% for n in notifications %}{{ n.title }} {{ n.kind }}{% endfor %} {{ recipient.email }}"
    )
    html = engine.from_string("{% for n in notifications %}<b>{{ n.title }}</b>{% endfor %}")

    def render(context: Any) -> tuple[str, str]:
        return text.render(dict(context)), html.render(dict(context))

    monkeypatch.setattr(email_bodies, "bodies_render", render)
    bodies = BatchBodies()
    for address in ("a@example.org", "b@example.org"):
        context = _context([_notification("Pill", "", "")])
        context["recipient"] = SimpleNamespace(email=address)
        assert bodies.render(context) == (f"Pill reminder {address}", "<b>Pill</b>")
