"""The public page's HTML, written in Python: the page and its card (the owner's preview).

A fresh draw of ``/p/{slug}`` is the path a finder takes after every change of the pet
(the cache key moves), so it must be cheap. Django's template engine drew this page in
several milliseconds (some 100 nodes: includes, ``blocktranslate``, filters); the same
markup built here with ``str.join`` takes a few tens of microseconds (``bench/web.py
--public-page``, row ``uncached``; docs/architecture.md). Nothing else about it changes:

* every value from the ``PublicPet`` goes through ``escape`` (or ``linebreaksbr``, which
  escapes), exactly where the template's autoescape put it;
* the texts are the same ``gettext`` messages the template used (``%(name)s`` placeholders
  like ``blocktranslate``'s), so the Spanish catalogue applies as before, in the language
  active while drawing (the caller activates it);
* dates and ages use Django's own ``date_format`` and ``timesince`` in the active language
  and time zone.

``page_html(public, theme=…)`` is the whole document (no CSRF token, nothing of a session:
one body for everyone), ``card_html(public)`` the card the page and the owner's live preview
share. They take only a ``selectors.PublicPet``, so they cannot show a private value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache, lru_cache, partial
from html import escape as _html_escape

from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines
from django.utils.timesince import timesince
from django.utils.translation import get_language, gettext

from pawfile.lostpet import public_urls
from pawfile.lostpet.public_query import Stamp, public_pet_fetch
from pawfile.lostpet.selectors import PublicPet

THEMES_SET = ("light", "dark")  # "auto" sets no data-theme
Translate = Callable[[str], str]


@cache
def _translated(language: str, message: str) -> str:
    with translation.override(language):
        return gettext(message)


def _translator(language: str) -> Translate:
    """``gettext`` in ``language``, each message looked up once per process (the page's
    two dozen ``gettext`` calls, each through the active-language lookup, were a third of a
    draw). The drawing functions take it as ``_``, so ``makemessages`` still finds their
    messages."""
    return partial(_translated, language)


def escape(value: object) -> str:
    """What Django's ``escape`` (the templates' autoescape) gives, as a plain ``str``
    (without its lazy-string wrapper, which cost more than the escaping)."""
    return _html_escape(str(value))


@cache
def _static(path: str) -> str:
    """A static file's URL (the manifest lookup once per process)."""
    return str(escape(static(path)))


@lru_cache(maxsize=1024)
def _when(language: str | None, wall: dt.datetime, zone: dt.tzinfo | None) -> str:
    """``date_format`` of the instant ``wall`` (its wall-clock time) in ``zone``, in
    ``language``, escaped: Django's formatting (a dozen translated pieces) once per instant,
    zone and language, not on every draw of the page."""
    with translation.override(language):
        return escape(date_format(wall.replace(tzinfo=zone), "DATETIME_FORMAT"))


def _text(value: str) -> str:
    """``value`` escaped, its line breaks as ``<br>`` (the template's ``linebreaksbr``)."""
    return str(escape(normalize_newlines(value))).replace("\n", "<br>")


def _age(public: PublicPet, _: Translate) -> str:
    assert public.birth_date is not None
    age = escape(timesince(public.birth_date))
    if public.birth_date_estimated:
        return _("about %(age)s old") % {"age": age}
    return _("%(age)s old") % {"age": age}


def _lost_banner(public: PublicPet, _: Translate) -> list[str]:
    out = [
        '<div class="lost-banner" role="alert"><p class="lost-banner-title">',
        _("I am lost! Please help me get home."),
        "</p>",
    ]
    if public.last_seen_at or public.last_seen_place:
        out += ["<p>", _("Last seen"), ": "]
        if public.last_seen_place:
            out += ["<strong>", escape(public.last_seen_place), "</strong>"]
        if public.last_seen_at and public.last_seen_place:
            out.append(", ")
        if public.last_seen_at:
            seen = timezone.localtime(public.last_seen_at)
            out += [
                f'<time datetime="{escape(seen.isoformat())}">',  # the template's |date:"c"
                _when(get_language(), seen.replace(tzinfo=None), seen.tzinfo),
                "</time>",
            ]
        out.append("</p>")
    if public.reward:
        out += ["<p>", _("Reward"), ": <strong>", escape(public.reward), "</strong></p>"]
    if public.lost_message:
        out += ['<p class="lost-banner-message">', _text(public.lost_message), "</p>"]
    out.append("</div>")
    return out


def _head(public: PublicPet, _: Translate) -> list[str]:
    name = escape(public.name)
    out = ['<div class="public-pet-head">']
    if public.photo_url:
        alt = _("Photo of %(name)s") % {"name": name}
        out.append(
            f'<img class="public-pet-photo" src="{escape(public.photo_url)}" alt="{alt}"'
            ' width="480" height="480" decoding="async">'
        )
    out += [
        "<div><h1>",
        _("Hi, I am %(name)s") % {"name": name},
        '</h1><p class="public-pet-facts">',
    ]
    if public.species:
        out += ["<span>", escape(public.species)]
        if public.breed:
            out += [" · ", escape(public.breed)]
        out.append("</span>")
    if public.sex:
        out += ["<span>", escape(public.sex), "</span>"]
    if public.birth_date:
        out += ["<span>", _age(public, _), "</span>"]
    out.append("</p></div></div>")
    if public.message:
        out += ['<p class="public-pet-message">', _text(public.message), "</p>"]
    return out


def _contacts(public: PublicPet, _: Translate) -> list[str]:
    if not public.contacts_shown:
        return [
            '<p><a role="button" href="#finder">',
            _("I found this pet: tell the family"),
            "</a></p>",
        ]
    slug = escape(public.slug)
    out = [
        f'<section aria-labelledby="contacts-heading-{slug}">',
        f'<h2 id="contacts-heading-{slug}">',
        _("Call my family"),
        '</h2><ul class="public-contacts">',
    ]
    for contact in public.contacts:
        out += ["<li><strong>", escape(contact.name), '</strong><div class="button-group">']
        if contact.tel:
            call = _("Call %(phone)s") % {"phone": escape(contact.phone)}
            out.append(f'<a role="button" href="tel:{escape(contact.tel)}">{call}</a>')
        if contact.whatsapp:
            out += [
                f'<a role="button" class="secondary" href="{escape(contact.whatsapp)}"'
                ' rel="noopener noreferrer">',
                _("WhatsApp"),
                "</a>",
            ]
        if contact.email:
            email = escape(contact.email)
            label = _("Email %(email)s") % {"email": email}
            out.append(f'<a role="button" class="secondary" href="mailto:{email}">{label}</a>')
        out.append("</div></li>")
    out.append("</ul></section>")
    return out


def _care(public: PublicPet, _: Translate) -> list[str]:
    if not (public.allergies or public.medications or public.special_needs):
        return []
    slug = escape(public.slug)
    out = [
        f'<section class="public-pet-care" aria-labelledby="care-heading-{slug}">',
        f'<h2 id="care-heading-{slug}">',
        _("Good to know"),
        "</h2><dl>",
    ]
    if public.allergies:
        allergies = ", ".join(escape(a) for a in public.allergies)
        out += ["<dt>", _("Allergies"), "</dt><dd>", allergies, "</dd>"]
    if public.medications:
        out += ["<dt>", _("Current medication"), "</dt><dd><ul>"]
        for m in public.medications:
            out += ["<li>", escape(m.name)]
            if m.dose:
                out += [" · ", escape(m.dose)]
            if m.frequency:
                out += [" · ", escape(m.frequency)]
            out.append("</li>")
        out.append("</ul></dd>")
    if public.special_needs:
        out += ["<dt>", _("Special needs"), "</dt><dd>", _text(public.special_needs), "</dd>"]
    out.append("</dl></section>")
    return out


def card_html(public: PublicPet, _: Translate | None = None) -> SafeString:
    """What a finder sees of the pet (the page's card and the owner's live preview), in
    the active language (or ``_``'s)."""
    _ = _ or _translator(get_language() or "en")
    lost = " is-lost" if public.is_lost else ""
    out = [f'<article class="public-pet{lost}">']
    if public.is_lost:
        out += _lost_banner(public, _)
    out += _head(public, _)
    out += _contacts(public, _)
    out += _care(public, _)
    out.append("</article>")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


def _finder(public: PublicPet, _: Translate) -> list[str]:
    """The finder form's placeholder: HTMX loads the form (with its CSRF token) at once."""
    url = escape(public_urls.finder_url(public.slug))
    config = '{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}'
    return [
        f"<meta name=\"htmx-config\" content='{config}'>",
        f'<link rel="stylesheet" href="{_static("lostpet/sightings.css")}">',
        f'<script src="{_static("vendor/htmx/htmx.min.js")}" defer></script>',
        f'<script src="{_static("lostpet/finder.js")}" defer></script>',
        '<div class="card finder"><h2 id="finder-heading">',
        _("Have you seen %(name)s?") % {"name": escape(public.name)},
        f'</h2><div id="finder-form" hx-get="{url}" hx-trigger="load" hx-swap="outerHTML"><p>',
        _(
            "Tell the owner where and when. Your message reaches them at once; your address "
            "stays private unless you choose to share it."
        ),
        f'</p><a href="{url}" role="button">',
        _("Tell the owner"),
        "</a></div></div>",
    ]


def page_draw(slug: str, *, theme: str, today: dt.date) -> tuple[Stamp, bytes] | None:
    """The page ``slug`` drawn fresh (one query, ``public_query``) in the active language and
    the site's time zone (one body for everyone, whoever draws it): its cache stamp and
    body, or ``None`` for an unknown slug. The view and the layer in front of Django
    (``fastpage``) both draw with it."""
    found = public_pet_fetch(slug, today=today)
    if found is None:
        return None
    stamp, public = found
    with timezone.override(None):
        return stamp, page_html(public, theme=theme)


def page_html(public: PublicPet, *, theme: str) -> bytes:
    """The whole public page of ``public`` in the active language, UTF-8. ``theme`` is
    ``auto``, ``light`` or ``dark`` (the visitor's theme cookie, part of the cache key)."""
    language = get_language() or "en"
    _ = _translator(language)
    data_theme = f' data-theme="{theme}"' if theme in THEMES_SET else ""
    name = escape(public.name)
    title = _("%(name)s is lost") % {"name": name} if public.is_lost else name
    out = [
        f'<!DOCTYPE html>\n<html lang="{escape(language)}"{data_theme}>\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<meta name="robots" content="noindex">\n',
        f"<title>{title} · Pawfile</title>\n",
        f'<link rel="icon" href="{_static("pawfile/favicon.svg")}" type="image/svg+xml">\n',
        f'<link rel="stylesheet" href="{_static("vendor/pico/pico.min.css")}">\n',
        f'<link rel="stylesheet" href="{_static("pawfile/app.css")}">\n',
        f'<link rel="stylesheet" href="{_static("lostpet/lostpet.css")}">\n',
        '</head>\n<body class="public-pet-page">\n',
        '<main id="main" class="container public-pet-main">\n',
        card_html(public, _),
        '\n<section class="public-finder" id="finder" aria-labelledby="finder-heading">\n',
        *_finder(public, _),
        "\n</section>\n</main>\n",
        '<footer class="site-footer"><div class="container"><p>',
        f'<img src="{_static("pawfile/logo.svg")}" alt="" width="20" height="20"> <small>',
        _(
            "This page was made by the pet's family with Pawfile. It shows only what they "
            "chose to share."
        ),
        "</small></p></div></footer>\n</body>\n</html>\n",
    ]
    return "".join(out).encode()
