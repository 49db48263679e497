"""Web push in Chromium: the real service worker and the real "Turn on notifications on this
device" button on the settings page.

What runs for real: the page registers ``/sw.js`` (scope "/"), asks for the permission
(granted to the context), calls ``pushManager.subscribe`` with the site's VAPID key, POSTs
the subscription with the CSRF token, and the server stores it. A notification then goes
through the outbox to a local push service fake, and the test decrypts it with the
subscription's keys. The service worker's own ``push`` handler is run by Chromium (CDP
``ServiceWorker.deliverPushMessage``) and shows the notification, read back through
``registration.getNotifications()``.

What is stubbed, and why: headless Chromium cannot subscribe here: its push service is
Google's FCM, which it must reach over the network to register (the test machine has
none, and the browser tests allow no request beyond the live server), so the real
``subscribe`` fails with an ``AbortError``. ``test_real_subscribe_needs_the_network``
records that. The other test replaces ``PushManager.prototype.subscribe`` (and
``getSubscription``) in the page with one that returns a subscription to the local fake
with keys the test made: everything after that call is the real page, server and channel.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, expect

from pawfile.notifications.choices import Kind
from pawfile.notifications.models import Device
from pawfile.notifications.services import notification_send
from tests.conftest import Cast
from tests.e2e.pets_helpers import log_in
from tests.notifications.pushfakes import BrowserKeys, FakePushService

STUB = """
((made) => {
  // Survives the page's reload after turning on: the "browser" remembers it is subscribed.
  const KEY = "__stubbedPushSubscription";
  const asObject = () => ({
    endpoint: made.endpoint,
    toJSON: () => made,
    unsubscribe: async () => { sessionStorage.removeItem(KEY); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    sessionStorage.setItem(KEY, JSON.stringify({
      userVisibleOnly: options.userVisibleOnly, keyLength: key.length, keyFirstByte: key[0],
    }));
    return asObject();
  };
  PushManager.prototype.getSubscription = async function () {
    return sessionStorage.getItem(KEY) ? asObject() : null;
  };
})(%s);
"""

# The notifications the service worker shows, once there is one (30 s at most: [] then).
SHOWN_NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  for (let attempt = 0; attempt < 150; attempt += 1) {
    const shown = await registration.getNotifications();
    if (shown.length) {
      return shown.map((n) => ({ title: n.title, body: n.body, url: n.data.url }));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return [];
}"""


def _grant(page: Page, site_url: str) -> None:
    page.context.grant_permissions(["notifications"], origin=site_url)
    # The machine running the suite may be loaded: a slow page is not what is tested here.
    page.set_default_timeout(30_000)


def test_real_subscribe_needs_the_network(page: Page, site_url: str, cast: Cast) -> None:
    """Without a stub, the real button gets as far as Chromium's own push registration,
    which needs Google's servers: the page then says it could not turn notifications on,
    and nothing is stored."""
    _grant(page, site_url)
    log_in(page, cast.alice.email)
    page.goto("/notifications/settings/")
    expect(page.locator("#push-status")).to_have_text(
        "This browser does not get notifications yet."
    )
    page.get_by_role("button", name="Turn on notifications on this device").click()
    status = page.locator("#push-status")
    expect(status).to_have_text("Could not turn notifications on. Try again later.", timeout=60_000)
    worker = page.evaluate(
        "navigator.serviceWorker.getRegistration('/')"
        " .then(r => r && r.active && r.active.scriptURL)"
    )
    assert worker == site_url + "/sw.js"  # the real worker is registered for the whole site
    assert Device.objects.count() == 0, status.text_content()
    assert page.get_by_role("button", name="Turn on notifications on this device").is_visible()


def test_turn_on_stores_the_subscription_and_a_push_arrives(
    page: Page, site_url: str, cast: Cast, settings: Any
) -> None:
    settings.PUSH_ALLOW_PRIVATE_ADDRESSES = True  # the fake push service is on 127.0.0.1
    settings.NOTIFY_EMAIL_ENABLED = False
    keys = BrowserKeys()
    with FakePushService() as push:
        endpoint = push.endpoint("chromium")  # type: ignore[attr-defined]
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        _grant(page, site_url)
        log_in(page, cast.alice.email)
        # Labelled stub: the browser's push service registration (see the module doc).
        page.add_init_script(STUB % json.dumps(keys.subscription(endpoint)))
        page.goto("/notifications/settings/")
        page.get_by_role("button", name="Turn on notifications on this device").click()
        expect(page.locator("#push-status")).to_have_text("This browser gets notifications.")
        expect(page.get_by_role("button", name="Turn off on this device")).to_be_visible()
        expect(page.locator(".device-list")).to_contain_text("Chrome on Linux")

        options = json.loads(page.evaluate("sessionStorage.getItem('__stubbedPushSubscription')"))
        # What the page asked the browser for: visible pushes, signed by our 65-byte key.
        assert options == {"userVisibleOnly": True, "keyLength": 65, "keyFirstByte": 4}
        device = Device.objects.get(user=cast.alice)
        assert device.token == endpoint
        assert (device.p256dh, device.auth) == (keys.p256dh, keys.auth)

        # The server, through the outbox and the channel, to the push service: decrypted.
        notification_send(
            recipient=cast.alice, kind=Kind.REMINDER, title="Rex: pill time",
            body="Give Rex his pill.", link="/pets/", event_key="reminder:browser",
        )  # fmt: skip
        from pawfile.outbox.models import OutboxMessage
        from pawfile.outbox.services import outbox_deliver

        for message in OutboxMessage.objects.filter(kind="notify.webpush", status="pending"):
            outbox_deliver(message_id=message.pk)
        (received,) = push.for_("chromium")  # type: ignore[attr-defined]
        content = keys.decrypt(received.body)
        assert content["title"] == "Rex: pill time"
        assert content["url"] == site_url + "/pets/"

        # The real service worker shows it: Chromium delivers the payload to its push event.
        session = page.context.new_cdp_session(page)
        session.send("ServiceWorker.enable")
        registration_id = page.evaluate(
            "navigator.serviceWorker.ready.then(() => true)"
        ) and _registration_id(session, page)
        session.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": site_url, "registrationId": registration_id, "data": json.dumps(content)},
        )
        # Waited for in the page: a predicate that returns a promise is "truthy" at once for
        # wait_for_function, which then did not wait, and the read raced the worker's
        # showNotification (an empty list whenever the worker was slower: a loaded run).
        shown = page.evaluate(SHOWN_NOTIFICATIONS)
        assert shown == [
            {"title": "Rex: pill time", "body": "Give Rex his pill.", "url": site_url + "/pets/"}
        ]

        # Removed from the list, the page no longer claims this browser gets them; turning
        # on again sends the browser's existing subscription.
        page.get_by_role("button", name="Remove Chrome on Linux").click()
        expect(page.locator("#push-status")).to_have_text(
            "This browser does not get notifications yet."
        )
        assert not Device.objects.exists()
        page.get_by_role("button", name="Turn on notifications on this device").click()
        expect(page.locator("#push-status")).to_have_text("This browser gets notifications.")
        assert Device.objects.get().token == endpoint

        # Turning it off tells the server and forgets the browser.
        page.get_by_role("button", name="Turn off on this device").click()
        expect(page.locator("#push-status")).to_have_text(
            "This browser does not get notifications yet."
        )
        assert not Device.objects.exists()
        assert problems == []


def _registration_id(session: Any, page: Page) -> str:
    """The service worker registration id Chromium gave ``/sw.js`` (from CDP's events)."""
    found: list[str] = []
    session.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.extend(r["registrationId"] for r in event["registrations"]),
    )
    session.send("ServiceWorker.disable")
    session.send("ServiceWorker.enable")  # replays the known registrations
    page.wait_for_timeout(200)
    deadline = 50
    while not found and deadline:
        page.wait_for_timeout(200)
        deadline -= 1
    assert found, "Chromium reported no service worker registration"
    return found[-1]


def test_chromium_finds_the_site_installable(page: Page, site_url: str, cast: Cast) -> None:
    """The manifest, its icons and the start URL pass Chromium's own installability check
    (CDP ``Page.getInstallabilityErrors``)."""
    page.set_default_timeout(30_000)
    page.goto("/accounts/login/")
    session = page.context.new_cdp_session(page)
    manifest = session.send("Page.getAppManifest")
    assert manifest["url"] == site_url + "/manifest.webmanifest"
    assert not manifest.get("errors"), manifest["errors"]
    # Playwright's contexts are off-the-record; Chromium never offers the install there
    # ("in-incognito"), which says nothing of the site: every other check must pass.
    errors: list[str] = []
    for _ in range(20):  # the icons are fetched and checked after the page loads
        found = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
        errors = [e["errorId"] for e in found if e["errorId"] != "in-incognito"]
        if not errors:
            break
        page.wait_for_timeout(250)
    assert errors == []
