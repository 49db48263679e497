/* Pawfile's service worker, served at /sw.js (scope "/") by notifications/push_views.py.
 *
 * It does two things: shows a web push as a notification ({title, body, url} in the
 * decrypted payload) and, on a click, focuses a tab already showing that page or opens it.
 * It caches nothing: every page comes from the server as without it.
 */
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data ? event.data.text() : "" };
  }
  const title = data.title || "Pawfile";
  const url = new URL(data.url || "/notifications/", self.location.origin);
  // Never open another site from a push (the server sends absolute links to itself).
  const target = url.origin === self.location.origin ? url.href : "/notifications/";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: data.body || "",
      icon: "/static/pawfile/icons/icon-192.png",
      badge: "/static/pawfile/icons/maskable-192.png",
      data: { url: target },
      tag: data.tag || undefined,
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (client.url === target && "focus" in client) return client.focus();
      }
      return self.clients.openWindow ? self.clients.openWindow(target) : undefined;
    })
  );
});
