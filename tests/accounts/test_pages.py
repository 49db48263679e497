"""The web pages: layout, language and theme switches, error pages, CSP-safe markup, assets."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core import mail
from django.template import loader
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from pawfile.accounts import invitations
from pawfile.accounts.choices import Role
from pawfile.accounts.models import User
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def page(client: Client, url: str, language: str | None = None) -> str:
    headers = {"Accept-Language": language} if language else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# --- Landing and home ----------------------------------------------------------------------


def test_landing_invites_anonymous_visitors_to_sign_up(client: Client) -> None:
    html = page(client, "/")
    assert f'href="{reverse("account_signup")}"' in html
    assert f'href="{reverse("account_login")}"' in html
    assert "Pet profiles" in html
    assert "Lost-pet QR tags" not in html  # a card only for features that are installed


def test_landing_sends_signed_in_users_home(cast: Cast) -> None:
    response = cast.client_for("alice").get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.parametrize(
    ("who", "role"), [("alice", "Owner"), ("bob", "Caretaker"), ("carol", "Viewer")]
)
def test_home_shows_the_household_and_the_role(cast: Cast, who: str, role: str) -> None:
    html = page(cast.client_for(who), "/home/")
    assert escape(cast.household.name) in html
    assert role in html
    assert reverse("household_detail", args=[cast.household.pk]) in html


def test_home_says_what_to_do_next(cast: Cast) -> None:
    html = page(cast.client_for("alice"), "/home/")
    assert "Invite someone to help look after your pets" in html
    assert reverse("preferences") in html
    assert reverse("mfa_index") in html


def test_home_shows_your_pets_first_with_links_to_them(cast: Cast) -> None:
    from pawfile.pets.models import Pet

    pets = [
        Pet.objects.create(household=cast.household, name=f"Pet{n}", species="cat")
        for n in range(7)
    ]
    for who in ("alice", "bob", "carol"):
        html = page(cast.client_for(who), "/home/")
        assert "Your pets" in html
        assert html.index("Your pets") < html.index("Your households")
        shown = [p for p in pets if reverse("pet_detail", args=[p.pk]) in html]
        assert len(shown) == 6  # the first six, and a link to all of them
        assert "See all pets" in html and f'href="{reverse("pet_list")}"' in html
    # A stranger's pets never show; with no pets there is no section, only the step.
    html = page(cast.client_for("charlie"), "/home/")
    assert "Your pets" not in html and "Pet0" not in html
    assert "Add a pet" in html


def test_home_without_households_explains_how_to_join_one(cast: Cast) -> None:
    cast.charlie.memberships.all().delete()
    html = page(cast.client_for("charlie"), "/home/")
    assert "You are not in a household right now." in html


def test_navigation_lists_households_account_pages_and_logout(cast: Cast) -> None:
    html = page(cast.client_for("bob"), "/home/")
    for name in ("account_email", "account_change_password", "mfa_index", "usersessions_list"):
        assert f'href="{reverse(name)}"' in html
    assert f'action="{reverse("account_logout")}"' in html
    own = User.objects.get(pk=cast.bob.pk).households.exclude(pk=cast.household.pk).get()
    assert escape(own.name) in html and escape(cast.household.name) in html
    assert settings.PAWFILE_ADMIN_PATH not in html  # bob is not staff


def test_staff_see_the_admin_link(cast: Cast) -> None:
    User.objects.filter(pk=cast.alice.pk).update(is_staff=True)
    html = page(cast.client_for("alice"), "/home/")
    assert f'href="/{settings.PAWFILE_ADMIN_PATH}"' in html


# --- Household page ------------------------------------------------------------------------


def test_household_page_gives_the_owner_every_action(cast: Cast) -> None:
    html = page(cast.client_for("alice"), f"/households/{cast.household.pk}/")
    h, bob = cast.household.pk, cast.bob.pk
    for url in (
        f"/households/{h}/members/{bob}/role/",
        f"/households/{h}/members/{bob}/remove/",
        f"/households/{h}/members/{bob}/transfer/",
        f"/households/{h}/invitations/",
        f"/households/{h}/rename/",
    ):
        assert f'action="{url}"' in html, url
    assert 'name="email"' in html


def test_household_page_gives_other_members_only_leave(cast: Cast) -> None:
    html = page(cast.client_for("carol"), f"/households/{cast.household.pk}/")
    h = cast.household.pk
    assert f'action="/households/{h}/leave/"' in html
    assert "/role/" not in html and "/remove/" not in html and "/invitations/" not in html
    assert "Viewer" in html and "Caretaker" in html and "Owner" in html


def test_household_actions_over_htmx_return_the_fragment_with_messages(cast: Cast) -> None:
    client = cast.client_for("alice")
    h, carol = cast.household.pk, cast.carol.pk
    response = client.post(
        f"/households/{h}/members/{carol}/role/",
        {"role": Role.CARETAKER},
        headers={"HX-Request": "true"},
        follow=True,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="household-people"' in html
    assert 'hx-swap-oob="innerHTML"' in html and "Done." in html


def test_pending_invitations_are_listed_with_revoke(cast: Cast) -> None:
    invitation = invitations.invitation_create(
        household=cast.household, actor=cast.alice, email="zed@example.org", role=Role.VIEWER
    )
    html = page(cast.client_for("alice"), f"/households/{cast.household.pk}/")
    assert "zed@example.org" in html
    assert f"/invitations/{invitation.pk}/revoke/" in html


def test_errors_from_household_actions_are_announced(cast: Cast) -> None:
    client = cast.client_for("alice")
    h = cast.household.pk
    response = client.post(f"/households/{h}/leave/", follow=True)
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Transfer ownership to another member before leaving." in html


# --- Invitations ---------------------------------------------------------------------------


def test_invitation_email_and_page(cast: Cast, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invitation_create(
            household=cast.household,
            actor=cast.alice,
            email="dana@example.org",
            role=Role.CARETAKER,
        )
    (message,) = mail.outbox
    # The mail names the inviter by their verified address, never by what they typed.
    assert "alice@example.org invites you" in message.body and "Alice" not in message.body
    assert cast.household.name not in message.body
    assert "Caretaker" in message.body
    link = next(line for line in message.body.splitlines() if "/invitations/" in line).strip()
    assert link.startswith(settings.PAWFILE_BASE_URL + "/invitations/")
    assert "expires" in message.body
    assert "&#x27;" not in message.body and "&amp;" not in message.body  # plain text, unescaped

    path = link[len(settings.PAWFILE_BASE_URL) :]
    html = page(Client(), path)
    assert escape(cast.household.name) in html and "Alice" in html and "Caretaker" in html
    assert reverse("account_login") + "?next=" in html

    dana = User.objects.create_user(email="dana@example.org", password="x")
    signed_in = Client()
    signed_in.force_login(dana)
    html = page(signed_in, path)
    assert "Accept invitation" in html and 'method="post"' in html


def test_invalid_invitation_shows_the_reason(client: Client) -> None:
    response = client.get("/invitations/not-a-token/")
    assert response.status_code == 410
    assert "This invitation link is not valid." in response.content.decode()


# --- First admin -------------------------------------------------------------------------


def test_first_admin_page_shows_the_form_and_inline_errors(client: Client) -> None:
    from pawfile.accounts.firstadmin import setup_link

    link = setup_link()
    assert link
    path = link[len(settings.PAWFILE_BASE_URL) :]
    html = page(client, path)
    assert 'name="password2"' in html and "Create admin account" in html
    response = client.post(
        path,
        {"email": "root@example.org", "password1": "a-long-pass-1", "password2": "different-2"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_password2_error"' in html and "The two passwords differ." in html
    assert not User.objects.filter(email="root@example.org").exists()


def test_first_admin_page_is_404_with_a_bad_token(client: Client) -> None:
    response = client.get("/setup/nope/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


# --- Language ------------------------------------------------------------------------------


def test_browser_language_picks_spanish(client: Client) -> None:
    html = page(client, "/", language="es")
    assert '<html lang="es"' in html
    assert "Crea tu cuenta" in html
    assert "Create your account" not in html


def test_saved_locale_wins_over_the_browser(cast: Cast) -> None:
    User.objects.filter(pk=cast.alice.pk).update(locale="en")
    User.objects.filter(pk=cast.bob.pk).update(locale="es")
    alice = cast.client_for("alice").get("/home/", headers={"Accept-Language": "es"})
    bob = cast.client_for("bob").get("/home/", headers={"Accept-Language": "en"})
    assert (
        '<html lang="en"' in alice.content.decode() and "Your households" in alice.content.decode()
    )
    assert '<html lang="es"' in bob.content.decode() and "Tus hogares" in bob.content.decode()


def test_language_set_saves_the_locale_on_the_user(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post(reverse("language_set"), {"language": "es", "next": "/home/"})
    assert response.status_code == 302
    assert response["Location"] == "/home/"
    assert User.objects.get(pk=cast.alice.pk).locale == "es"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    html = page(client, "/home/", language="en")
    assert '<html lang="es"' in html and "Inicio" in html


def test_language_set_for_anonymous_uses_the_cookie(client: Client) -> None:
    response = client.post(reverse("language_set"), {"language": "es", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert "Crea tu cuenta" in page(client, "/")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_language_set_refuses_to_leave_the_site(client: Client, target: str) -> None:
    response = client.post(reverse("language_set"), {"language": "es", "next": target})
    assert response["Location"] == "/"


def test_language_set_ignores_unknown_languages(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post(reverse("language_set"), {"language": "xx", "next": "/home/"})
    assert response.status_code == 302
    assert User.objects.get(pk=cast.alice.pk).locale == ""
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_language_switch_posts_to_language_set(client: Client) -> None:
    html = page(client, "/")
    assert f'action="{reverse("language_set")}"' in html
    assert 'name="language" value="es"' in html and 'name="language" value="en"' in html


def test_allauth_pages_use_the_layout_in_spanish(client: Client) -> None:
    html = page(client, reverse("account_login"), language="es")
    assert "Iniciar sesión" in html
    assert 'class="site-header"' in html and "vendor/pico/pico.min.css" in html


# --- Theme ---------------------------------------------------------------------------------


def test_theme_set_saves_the_theme_on_the_user(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post(reverse("theme_set"), {"theme": "dark", "next": "/home/"})
    assert response.status_code == 302
    assert User.objects.get(pk=cast.alice.pk).theme == "dark"
    assert 'data-theme="dark"' in page(client, "/home/")


def test_auto_theme_leaves_the_choice_to_the_device(cast: Cast) -> None:
    client = cast.client_for("alice")
    client.post(reverse("theme_set"), {"theme": "auto", "next": "/home/"})
    assert "data-theme" not in page(client, "/home/")


def test_anonymous_theme_is_kept_in_a_cookie(client: Client) -> None:
    response = client.post(reverse("theme_set"), {"theme": "light", "next": "/"})
    assert response.cookies["pawfile_theme"].value == "light"
    assert 'data-theme="light"' in page(client, "/")


def test_theme_switch_is_a_post_form_with_the_three_choices(client: Client) -> None:
    html = page(client, "/")
    assert f'action="{reverse("theme_set")}"' in html
    for value in ("light", "dark", "auto"):
        assert f'name="theme" value="{value}"' in html


# --- Preferences ---------------------------------------------------------------------------


def test_preferences_show_errors_next_to_the_field(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post(
        reverse("preferences"),
        {"name": "Alice", "phone": "", "timezone": "Mars/Olympus", "locale": "", "theme": "auto"},
    )
    html = response.content.decode()
    assert response.status_code == 400  # bad input is a 4xx, with the form again
    assert 'aria-invalid="true"' in html
    assert 'id="id_timezone_error"' in html
    assert 'aria-describedby="id_timezone_error"' in html


def test_preferences_save(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post(
        reverse("preferences"),
        {
            "name": "Alice A.",
            "phone": "",
            "timezone": "Europe/Madrid",
            "locale": "es",
            "theme": "dark",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Your preferences were saved." in html  # said in the language of the request
    assert '<html lang="es" data-theme="dark"' in html


# --- Error pages ---------------------------------------------------------------------------


def test_unknown_url_gets_a_friendly_404_page(client: Client) -> None:
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "We could not find that page" in html
    assert 'class="site-header"' in html and f'href="{reverse("landing")}"' in html


def test_404_page_in_spanish(client: Client) -> None:
    response = client.get("/no-such-page/", headers={"Accept-Language": "es"})
    assert "No hemos encontrado esa página" in response.content.decode()


def test_500_page_renders_without_a_request() -> None:
    with translation.override("en"):
        html = loader.get_template("500.html").render()
    assert "/static/vendor/pico/pico.min.css" in html
    assert "/static/pawfile/app.css" in html
    assert "Something went wrong" in html


def test_429_page_shows_the_message(client: Client) -> None:
    request = client.get("/").wsgi_request
    html = loader.render_to_string("429.html", {"message": "Wait 42 seconds."}, request=request)
    assert "Wait 42 seconds." in html


@pytest.mark.parametrize("template", ["400.html", "403.html", "404.html", "429.html"])
def test_error_pages_extend_the_layout(client: Client, template: str) -> None:
    request = client.get("/").wsgi_request
    html = loader.render_to_string(template, request=request)
    assert 'class="site-header"' in html


# --- CSP-safe markup -----------------------------------------------------------------------


class _InlineFinder(HTMLParser):
    """Collects what a strict CSP would block: style attributes, <style>, inline scripts,
    inline event handlers and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name} handler on <{tag}>")
            if name.startswith("hx-on"):
                self.problems.append(f"{name} on <{tag}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            self.scripts += 1
            if not named.get("src") and named.get("type") != "application/json":
                self.problems.append("inline <script>")


def _inline_problems(html: str) -> tuple[list[str], int]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.problems, finder.scripts


ANONYMOUS_PAGES = [
    "/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/nope/",
]
MEMBER_PAGES = [
    "/home/",
    "/preferences/",
    "/households/{h}/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/accounts/sessions/",
]


@pytest.mark.parametrize("url", ANONYMOUS_PAGES)
def test_anonymous_pages_have_no_inline_styles_or_scripts(client: Client, url: str) -> None:
    html = client.get(url).content.decode()
    problems, scripts = _inline_problems(html)
    assert problems == [], (url, problems)
    assert scripts >= 2  # htmx and app.js, as files


@pytest.mark.parametrize("url", MEMBER_PAGES)
def test_member_pages_have_no_inline_styles_or_scripts(cast: Cast, url: str) -> None:
    response = cast.client_for("alice").get(url.format(h=cast.household.pk))
    assert response.status_code == 200, url
    problems, _scripts = _inline_problems(response.content.decode())
    assert problems == [], (url, problems)


def test_htmx_is_configured_for_the_csp_and_sends_the_csrf_token(client: Client) -> None:
    html = page(client, "/")
    assert '"includeIndicatorStyles":false' in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


# --- Static assets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "vendor/htmx/htmx.min.js",
        "vendor/htmx/LICENSE",
        "vendor/pico/pico.min.css",
        "vendor/pico/LICENSE.md",
        "vendor/fonts/inter-latin-400-normal.woff2",
        "vendor/fonts/inter-latin-600-normal.woff2",
        "vendor/fonts/LICENSE",
        "vendor/README.md",
        "pawfile/app.css",
        "pawfile/app.js",
        "pawfile/logo.svg",
    ],
)
def test_vendored_static_files_are_found(path: str) -> None:
    assert finders.find(path), path


def test_pages_load_assets_from_the_site_only(client: Client) -> None:
    html = page(client, "/")
    assert "https://" not in html.split("<body", 1)[0]  # no CDN in the head
    assert f'src="{settings.STATIC_URL}vendor/htmx/htmx.min.js"' in html
    assert f'href="{settings.STATIC_URL}vendor/pico/pico.min.css"' in html


def test_static_files_are_served(client: Client) -> None:
    response = client.get(f"{settings.STATIC_URL}vendor/htmx/htmx.min.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"htmx" in body


@pytest.mark.parametrize("target", ["/\\evil.example", "//evil.example", "https://evil.example/"])
@pytest.mark.parametrize("url", ["/theme/", "/language/"])
def test_switches_never_redirect_off_site(db: None, url: str, target: str) -> None:
    response = Client().post(url, {"theme": "dark", "language": "es", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"
