"""Every account mail names the site, in English and in Spanish.

allauth's mails read "Hello from !" and "register an account on ." when the adapter wrote
them to the outbox without a site: they now name ``PAWFILE_SITE_NAME`` at the host of
``PAWFILE_BASE_URL`` (``pawfile.lib.sitename``), whatever host the request came to.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from allauth.account.adapter import get_adapter
from allauth.core import context
from django.conf import settings
from django.core import mail
from django.test import Client, RequestFactory
from django.utils import translation

from pawfile.accounts import invitations
from pawfile.accounts.choices import Role
from pawfile.outbox.mail import NO_MAIL
from pawfile.outbox.models import OutboxMessage
from tests.conftest import PASSWORD, Cast

SITE = "Casa Pelos"
BASE = settings.PAWFILE_BASE_URL  # links are built from it when the settings load
DOMAIN = urlsplit(BASE).netloc
HELLO = {"en": f"Hello from {SITE}!", "es": f"¡Hola de parte de {SITE}!"}
THANKS = {"en": f"Thank you for using {SITE}!\n{DOMAIN}", "es": f"{SITE}!\n{DOMAIN}"}
EMPTY_SITE = ("from !", "de !", " on .", " en .", "using !")


@pytest.fixture(autouse=True)
def _site(settings) -> None:
    settings.PAWFILE_SITE_NAME = SITE


@pytest.fixture
def sent(django_capture_on_commit_callbacks) -> Callable[[Callable[[], object]], list]:
    """Run an action, deliver what it wrote to the outbox, return the mails sent."""

    def run(action: Callable[[], object]) -> list:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            action()
        return list(mail.outbox)

    return run


def _names_the_site(message, lang: str) -> str:
    text = message.body
    for empty in EMPTY_SITE:
        assert empty not in text, (empty, text)
    assert HELLO[lang] in text, text
    assert THANKS[lang] in text, text
    assert "testserver" not in text  # never the host the request claimed
    assert DOMAIN != "testserver"
    return text


def _client(lang: str, user=None) -> Client:
    client = Client(headers={"accept-language": lang})
    if user is not None:
        client.force_login(user)
    return client


LANGS = ["en", "es"]


@pytest.mark.parametrize("lang", LANGS)
def test_signup_verification(db: None, sent, lang: str) -> None:
    client = _client(lang)
    (message,) = sent(
        lambda: client.post(
            "/accounts/signup/", {"email": "dana@example.org", "password1": PASSWORD}
        )
    )
    assert message.to == ["dana@example.org"]
    text = _names_the_site(message, lang)
    assert f"register an account on {DOMAIN}" in text if lang == "en" else DOMAIN in text
    assert f"{BASE}/accounts/confirm-email/" in text
    assert message.subject.startswith("[Pawfile] ")


@pytest.mark.parametrize("lang", LANGS)
def test_signup_with_a_known_address(cast: Cast, sent, lang: str) -> None:
    client = _client(lang)
    (message,) = sent(
        lambda: client.post(
            "/accounts/signup/", {"email": "alice@example.org", "password1": PASSWORD}
        )
    )
    assert message.to == ["alice@example.org"]
    _names_the_site(message, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_password_reset_for_a_known_address(cast: Cast, sent, lang: str) -> None:
    client = _client(lang)
    (message,) = sent(
        lambda: client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    )
    text = _names_the_site(message, lang)
    assert f"{BASE}/accounts/password/reset/key/" in text


@pytest.mark.parametrize("lang", LANGS)
def test_password_reset_for_an_unknown_address_sends_nothing(cast: Cast, sent, lang: str) -> None:
    client = _client(lang)
    assert sent(lambda: client.post("/accounts/password/reset/", {"email": "x@example.org"})) == []
    (row,) = OutboxMessage.objects.filter(kind=NO_MAIL)
    assert row.key.startswith("account:unknown_account:") and row.payload == {}  # sent: scrubbed


NOTICES = {
    "account/email/password_changed": {},
    "account/email/password_set": {},
    "account/email/email_changed": {"from_email": "alice@example.org", "to_email": "a@example.net"},
    "account/email/email_deleted": {"deleted_email": "old@example.org"},
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("template", list(NOTICES))
def test_account_notices(cast: Cast, sent, template: str, lang: str) -> None:
    request = RequestFactory().get("/", HTTP_USER_AGENT="Firefox")
    request.user = cast.alice

    def notify() -> None:
        with context.request_context(request), translation.override(lang):
            get_adapter(request).send_notification_mail(template, cast.alice, NOTICES[template])

    (message,) = sent(notify)
    text = _names_the_site(message, lang)
    assert "Firefox" in text


@pytest.mark.parametrize("lang", LANGS)
def test_confirmation_of_a_new_address(cast: Cast, sent, lang: str) -> None:
    from allauth.account.models import EmailAddress

    request = RequestFactory().get("/")
    request.user = cast.alice
    address = EmailAddress.objects.create(user=cast.alice, email="alice@example.net")

    def confirm() -> None:
        with context.request_context(request), translation.override(lang):
            address.send_confirmation(request)

    (message,) = sent(confirm)
    assert message.to == ["alice@example.net"]
    text = _names_the_site(message, lang)
    assert f"{BASE}/accounts/confirm-email/" in text


INVITED = {"en": f"alice@example.org invites you to join their household on {SITE}.",
           "es": f"alice@example.org te invita a unirte a su hogar en {SITE}."}  # fmt: skip
INVITED_SUBJECT = {"en": f"You are invited to a household on {SITE}",
                   "es": f"Te invitan a un hogar en {SITE}"}  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_invitation(cast: Cast, sent, lang: str) -> None:
    def invite() -> None:
        with translation.override(lang):
            invitations.invitation_create(
                household=cast.household,
                actor=cast.alice,
                email="dana@example.org",
                role=Role.VIEWER,
            )

    (message,) = sent(invite)
    assert message.subject == INVITED_SUBJECT[lang]
    assert INVITED[lang] in message.body
    assert message.body.rstrip().endswith(f"-- \n{SITE}")
    assert f"{BASE}/invitations/" in message.body


EXPORT = {"en": "The copy of your Pawfile data you asked for is ready",
          "es": "La copia de tus datos de Pawfile"}  # fmt: skip
GOODBYE = {"en": "Your Pawfile account (charlie@example.org) was deleted",
           "es": "Tu cuenta de Pawfile (charlie@example.org) se ha eliminado"}  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_export_ready(cast: Cast, sent, lang: str) -> None:
    from pawfile.privacy import export as exports
    from pawfile.privacy.models import DataExport, DataExportStatus

    ready = DataExport.objects.create(user=cast.alice, status=DataExportStatus.READY, language=lang)
    (message,) = sent(lambda: exports.data_export_email_send(export=ready))
    assert EXPORT[lang] in message.body, message.body
    assert f"{BASE}/data/exports/" in message.body
    for empty in EMPTY_SITE:
        assert empty not in message.body


@pytest.mark.parametrize("lang", LANGS)
def test_goodbye(cast: Cast, sent, lang: str) -> None:
    from pawfile.privacy.deletion import account_delete

    cast.charlie.locale = lang
    cast.charlie.save()
    (message,) = sent(lambda: account_delete(user=cast.charlie))
    assert GOODBYE[lang] in message.body, message.body
    for empty in EMPTY_SITE:
        assert empty not in message.body
