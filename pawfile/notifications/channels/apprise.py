"""Apprise: any service Apprise speaks (ntfy, Telegram, Matrix, Discord, Signal's API
server, a JSON webhook...), through URLs each person adds as their own targets.

Apprise's own ``notify()`` sends; nothing of a service's protocol is re-implemented here.
What this module adds around it:

* **Entry**: a URL is accepted when Apprise itself can load it (``Apprise().add(url)``) and
  its host is not a private address (unless ``APPRISE_ALLOW_PRIVATE``); it is stored
  encrypted (``AppriseTarget.url``), shown masked (scheme and host, Apprise's own privacy
  masking for hosts that are tokens, never the path or the password).
* **Time**: every target's connect and read timeouts are ``APPRISE_TIMEOUT`` seconds.
* **Private addresses**: besides the check on entry, while Apprise sends, the HTTP
  connections it opens (urllib3, under ``requests``) go through a guard that resolves the
  host and refuses private, loopback, link-local and reserved addresses, so a redirect or a
  name that later resolves inside the network is refused too. Services that do not speak
  HTTP (mailto, xmpp) rely on the entry check.
* **Outbox**: one outbox message ``notify.apprise`` per delivery (or per held batch); the
  handler sends to each of the recipient's targets. A target that refuses or is unreachable
  (a 500, a timeout) makes the message retry; a stored URL that no longer opens (a removed
  key) or that Apprise no longer accepts is permanent: the channel is blocked for that
  person, who is told in the inbox. A retry sends again to every target, including those
  that took the earlier attempt (Apprise takes no idempotency key): the duplicate window.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from pawfile.lib.crypto import FieldDecryptError
from pawfile.lib.http import HttpError, PrivateAddressError, host_check
from pawfile.notifications.channels.base import Channel
from pawfile.outbox.handlers import DeliveryError

if TYPE_CHECKING:
    from pawfile.accounts.models import User
    from pawfile.notifications.models import AppriseTarget, Notification
    from pawfile.outbox.models import OutboxMessage

NAME = "apprise"
log = logging.getLogger(__name__)


# --- The guard on Apprise's HTTP connections -------------------------------------------------

_guard = threading.local()
_installed = threading.Lock()
_original_create_connection: Any = None


def _guarded_create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
    """urllib3's ``create_connection``, refusing private addresses (``lib.http.host_check``)
    while a guard is on in this thread; it connects to an address it checked (no second
    lookup). A refusal is an ``OSError``, as urllib3 expects of a failed connection."""
    if not getattr(_guard, "on", False):
        return _original_create_connection(address, *args, **kwargs)
    host, port = address
    try:
        checked = host_check(host, port=port)
    except HttpError as exc:
        raise OSError(f"{exc}: refused") from None
    return _original_create_connection((checked[0], port), *args, **kwargs)


def _guard_install() -> None:
    global _original_create_connection
    from urllib3.util import connection

    with _installed:
        if _original_create_connection is None:
            _original_create_connection = connection.create_connection
            connection.create_connection = _guarded_create_connection


@contextlib.contextmanager
def private_guard() -> Iterator[None]:
    """Refuse private addresses in this thread's HTTP connections, unless allowed."""
    if settings.APPRISE_ALLOW_PRIVATE:
        yield
        return
    _guard_install()
    _guard.on = True
    try:
        yield
    finally:
        _guard.on = False


# --- Checking and loading URLs ---------------------------------------------------------------


class TargetRefused(ValueError):
    """A URL Apprise cannot use, or that points into a private network; ``str`` is a
    message for the person who typed it."""


_loaded = threading.Lock()
_ready = False


def _apprise() -> Any:
    """The ``apprise`` module with its plugins loaded. Apprise loads them on first use, and
    one of them imports the standard library's ``imghdr``, deprecated since Python 3.11:
    that warning (about Apprise, not us) is silenced once here."""
    global _ready
    import apprise

    if not _ready:
        with _loaded, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            apprise.Apprise.instantiate("json://localhost")
            _ready = True
    return apprise


def _plugin(url: str) -> Any:
    apprise = _apprise()

    plugin = apprise.Apprise.instantiate(url, asset=_asset())
    if plugin is None:
        return None
    plugin.socket_connect_timeout = float(settings.APPRISE_TIMEOUT)
    plugin.socket_read_timeout = float(settings.APPRISE_TIMEOUT)
    return plugin


def _asset() -> Any:
    apprise = _apprise()

    return apprise.AppriseAsset(async_mode=False, app_id=settings.PAWFILE_SITE_NAME)


def _host_refused(host: str) -> bool:
    """Whether ``host`` (a plugin's host part) is a private address. A host part that is
    not a network name (a bot token or webhook id, as for Telegram and Discord, which talk
    to their service's fixed address) is not looked up."""
    if not host or settings.APPRISE_ALLOW_PRIVATE:
        return False
    bare = host.strip("[]")
    token = bare.replace(":", "").isdigit() or ("." not in bare and bare.lower() != "localhost")
    if token and not _is_address(bare):
        return False
    try:
        host_check(bare)
    except PrivateAddressError:
        return True
    except HttpError:
        return False  # does not resolve now: the send will tell
    return False


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def url_check(url: str) -> Any:
    """The Apprise plugin for ``url``; raises ``TargetRefused`` (with a message for the
    person) for a URL Apprise does not accept or one on a private address."""
    url = (url or "").strip()
    if not url:
        raise TargetRefused(gettext("Enter an Apprise URL."))
    if len(url) > 2000 or any(ord(c) < 32 for c in url):
        raise TargetRefused(gettext("That address is too long or has line breaks."))
    apprise = _apprise()

    if not apprise.Apprise(asset=_asset()).add(url):
        raise TargetRefused(
            gettext(
                "Apprise does not recognise that URL. Check the service's format, for "
                "example ntfy://ntfy.sh/your-topic or tgram://bot-token/chat-id."
            )
        )
    plugin = _plugin(url)
    if plugin is None:
        raise TargetRefused(gettext("Apprise does not recognise that URL."))
    if _host_refused(str(getattr(plugin, "host", "") or "")):
        raise TargetRefused(
            gettext("That address is inside a private network; this site does not send there.")
        )
    return plugin


def url_masked(url: str, plugin: Any = None) -> str:
    """The scheme and host of ``url`` (port included), with Apprise's privacy masking for
    hosts that are secrets (a Telegram bot token shows as ``1...Z``); never a path, a
    password or a query."""
    plugin = plugin if plugin is not None else _plugin(url)
    shown = plugin.url(privacy=True) if plugin is not None else url
    parts = urlsplit(shown)
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}"[:300]


# --- Sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one send to one target came to: ``ok``; else ``permanent`` (the stored URL
    cannot be used any more) or not (try again later), and an ``error`` for the log."""

    ok: bool
    permanent: bool = False
    error: str = ""


def target_send(target_id: int, *, title: str, body: str) -> Outcome:
    """Send ``title`` and ``body`` to the stored target ``target_id`` with Apprise."""
    apprise = _apprise()

    from pawfile.notifications.models import AppriseTarget

    try:
        target = AppriseTarget.objects.get(pk=target_id)
    except FieldDecryptError:
        return Outcome(False, permanent=True, error="the stored URL no longer decrypts")
    except AppriseTarget.DoesNotExist:
        return Outcome(True)  # removed meanwhile: nothing to send there
    try:
        plugin = url_check(target.url)
    except TargetRefused as exc:
        return Outcome(False, permanent=True, error=f"refused: {exc}")
    notifier = apprise.Apprise(asset=_asset())
    notifier.add(plugin)
    with private_guard():
        try:
            ok = notifier.notify(title=title, body=body)
        except Exception as exc:  # a plugin bug must not take the worker down
            log.warning("apprise: target %s raised %s", target_id, exc)
            ok = False
    if not ok:
        return Outcome(False, error=f"{target.masked} did not take the message")
    AppriseTarget.objects.filter(pk=target_id).update(last_sent_at=timezone.now())
    return Outcome(True)


def _absolute(link: str) -> str:
    if not link or "://" in link:
        return link
    return settings.PAWFILE_BASE_URL + link


def message_text(notifications: list[Notification], *, recipient: User) -> tuple[str, str]:
    """The title and body for these notifications, in the recipient's language: one
    notification as itself (with its link), several as a list."""
    with override(recipient.locale or None):
        if len(notifications) == 1:
            only = notifications[0]
            body = "\n\n".join(p for p in (only.body, _absolute(only.link)) if p)
            return only.title, body or only.title
        title = gettext("%(count)d notifications") % {"count": len(notifications)}
        lines = []
        for each in notifications:
            line = f"• {each.title}"
            if each.link:
                line += f" ({_absolute(each.link)})"
            lines.append(line)
        return title, "\n".join(lines)


def batch(*, delivery_ids: list[int]) -> tuple[User | None, list[Notification]]:
    """The recipient and the notifications of these deliveries that should still go (the
    notification exists, the recipient is active, Apprise not blocked or turned off for
    the kind): as for the push channels, ``devices.push_batch``."""
    from pawfile.notifications.devices import push_batch

    return push_batch(delivery_ids=delivery_ids, channel=NAME)


def deliver(message: OutboxMessage) -> None:
    """The outbox handler of ``notify.apprise`` (see the module docstring)."""
    from pawfile.notifications import services
    from pawfile.notifications.models import AppriseTarget

    ids = [int(i) for i in message.payload.get("deliveries", [])]
    recipient, notifications = batch(delivery_ids=ids)
    if recipient is None or not notifications:
        return
    title, body = message_text(notifications, recipient=recipient)
    target_ids = list(
        AppriseTarget.objects.filter(user=recipient).order_by("pk").values_list("pk", flat=True)
    )
    outcomes = [target_send(pk, title=title, body=body) for pk in target_ids]
    broken = [o.error for o in outcomes if o.permanent]
    failed = [o.error for o in outcomes if not o.ok and not o.permanent]
    if broken:
        error = "; ".join(broken + failed)
        services.deliveries_failed(ids=ids, error=error, permanent=True)
        raise DeliveryError(error, permanent=True)
    if failed:
        error = "; ".join(failed)
        services.deliveries_failed(ids=ids, error=error, permanent=False)
        raise DeliveryError(error)
    services.deliveries_sent(ids=ids, provider_id=f"apprise:{len(target_ids)}")


def _reaches(user: Any) -> bool:
    from pawfile.notifications.models import AppriseTarget

    return bool(getattr(user, "pk", None)) and AppriseTarget.objects.filter(user=user).exists()


def targets_of(user: User) -> list[AppriseTarget]:
    """``user``'s targets (only the masked address is read: a row whose URL no longer
    decrypts is still listed, so it can be deleted)."""
    from pawfile.notifications.models import AppriseTarget

    return list(AppriseTarget.objects.filter(user=user).defer("url").order_by("pk"))


CHANNEL = Channel(
    name=NAME, label=_("Apprise"), setting="APPRISE_ENABLED", deliver=deliver, reaches=_reaches
)


# --- Services: a person's own targets ----------------------------------------------------


def apprise_target_add(*, user: User, url: str, label: str = "") -> AppriseTarget:
    """Add ``url`` as one of ``user``'s Apprise targets (checked with :func:`url_check`;
    ``Invalid`` on the ``url`` field with a message for them). Adding a target turns the
    channel on again if an error had turned it off. At most ``TARGETS_MAX`` per person
    (``Conflict`` past it)."""
    from django.db import transaction

    from pawfile.lib.errors import Conflict, Invalid
    from pawfile.lib.text import plain_line
    from pawfile.notifications.models import AppriseTarget, ChannelBlock

    if not settings.APPRISE_ENABLED:
        raise Invalid(gettext("Apprise is not available on this site."), field="url")
    try:
        plugin = url_check(url)
    except TargetRefused as exc:
        raise Invalid(str(exc), field="url") from None
    label = plain_line(label or "", field="label").strip()[:80]
    with transaction.atomic():
        if AppriseTarget.objects.filter(user=user).count() >= TARGETS_MAX:
            raise Conflict(
                gettext("You can add at most %(count)d Apprise addresses.")
                % {"count": TARGETS_MAX},
                field="url",
            )
        target = AppriseTarget.objects.create(
            user=user, url=url.strip(), masked=url_masked(url.strip(), plugin), label=label
        )
        ChannelBlock.objects.filter(user=user, channel=NAME).delete()
    return target


def _own(*, user: User, target_id: int) -> AppriseTarget:
    from pawfile.lib.errors import NotFound
    from pawfile.notifications.models import AppriseTarget

    found = AppriseTarget.objects.filter(pk=target_id, user=user).defer("url").first()
    if found is None or not getattr(user, "pk", None):
        raise NotFound(gettext("Not found."))
    return found


def apprise_target_delete(*, user: User, target_id: int) -> None:
    """Remove one of ``user``'s targets (``NotFound`` for anyone else's)."""
    _own(user=user, target_id=target_id).delete()


def apprise_target_test(*, user: User, target_id: int) -> Outcome:
    """Send a test message to one of ``user``'s targets now (not through the outbox: the
    person waits for the answer, at most ``APPRISE_TIMEOUT`` seconds a connection)."""
    target = _own(user=user, target_id=target_id)
    with override(user.locale or None):
        title = gettext("Test from %(site)s") % {"site": settings.PAWFILE_SITE_NAME}
        body = gettext("If you can read this, %(site)s notifications reach you here.") % {
            "site": settings.PAWFILE_SITE_NAME
        }
    return target_send(target.pk, title=title, body=body)


TARGETS_MAX = 10


# --- Shared features (lib.registry): export and deletion ---------------------------------

APP = "notifications.apprise"


def export_rows(user: User) -> Any:
    """``apprise_targets``: each target's masked address, name and dates; never the URL
    (it holds the person's tokens)."""
    from pawfile.lib.registry import ExportSection
    from pawfile.notifications.models import AppriseTarget

    return ExportSection(
        rows={
            "apprise_targets": list(
                AppriseTarget.objects.filter(user=user)
                .order_by("pk")
                .values("id", "masked", "label", "created_at", "last_sent_at")
            )
        }
    )


def account_clear(user: User) -> list[str]:
    from pawfile.notifications.models import AppriseTarget

    AppriseTarget.objects.filter(user=user).delete()
    return []


def register() -> None:
    from pawfile.lib import registry

    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(app=APP, account=account_clear)
