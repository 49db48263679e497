/* "Turn on notifications on this device" on the notification settings page.
 *
 * Registers the service worker (/sw.js, scope "/"), asks the browser's permission, subscribes
 * with the site's VAPID public key and sends the subscription to the server; "turn off"
 * unsubscribes and tells the server. Texts come from data-* attributes (translated there).
 */
(function () {
  "use strict";
  const box = document.getElementById("push-control");
  if (!box) return;
  const status = document.getElementById("push-status");
  const onButton = document.getElementById("push-on");
  const offButton = document.getElementById("push-off");
  const text = (name) => box.dataset["text" + name] || "";

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // The browser's own errors (no push service reachable...) are not for the person.
  const reason = (error) => (error && error.fromServer ? error.message : text("Failed"));

  function show(message, subscribed) {
    status.textContent = message;
    onButton.hidden = subscribed !== false;
    offButton.hidden = subscribed !== true;
  }

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+")
      .replace(/_/g, "/");
    const raw = atob(padded);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let message = "";
      try {
        message = (await response.json()).error || "";
      } catch (error) {
        message = "";
      }
      const failure = new Error(message || text("Failed"));
      failure.fromServer = true; // already a sentence for the person, in their language
      throw failure;
    }
    return response.json();
  }

  // Whether the server still has this browser's subscription (it may have been removed
  // from the list, or by the push service): the page lists SHA-256 hashes of its endpoints.
  async function known(subscription) {
    const list = JSON.parse(box.dataset.known || "[]");
    const bytes = new TextEncoder().encode(subscription.endpoint);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    return list.includes(hex);
  }

  async function registration() {
    await navigator.serviceWorker.register(box.dataset.workerUrl, { scope: "/" });
    return navigator.serviceWorker.ready;
  }

  async function turnOn() {
    show(text("Working"));
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        show(text("Denied"));
        return;
      }
      const reg = await registration();
      let subscription = await reg.pushManager.getSubscription();
      if (!subscription) {
        subscription = await reg.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(box.dataset.key),
        });
      }
      await post(box.dataset.subscribeUrl, subscription.toJSON());
      window.location.reload();
    } catch (error) {
      show(reason(error), false);
    }
  }

  async function turnOff() {
    show(text("Working"));
    try {
      const reg = await registration();
      const subscription = await reg.pushManager.getSubscription();
      if (subscription) {
        await post(box.dataset.unsubscribeUrl, { endpoint: subscription.endpoint });
        await subscription.unsubscribe();
      }
      window.location.reload();
    } catch (error) {
      show(reason(error), true);
    }
  }

  async function start() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.Notification) {
      show(text("Unsupported"));
      return;
    }
    if (Notification.permission === "denied") {
      show(text("Denied"));
      return;
    }
    onButton.addEventListener("click", turnOn);
    offButton.addEventListener("click", turnOff);
    try {
      const reg = await navigator.serviceWorker.getRegistration("/");
      const subscription = reg ? await reg.pushManager.getSubscription() : null;
      if (subscription && Notification.permission === "granted" && (await known(subscription))) {
        show(text("On"), true);
      } else {
        show(text("Off"), false);
      }
    } catch (error) {
      show(text("Off"), false);
    }
  }

  start();
})();
