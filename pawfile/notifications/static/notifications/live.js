// The bell's live count: polls the inbox revision every 1.5 s with If-None-Match; the
// server answers 304 while nothing changed. A new notification updates the count and
// shows its title for a few seconds. No inline script (CSP); text only, never HTML.
(function () {
  "use strict";
  var bell = document.querySelector("[data-notification-bell]");
  if (!bell || !window.fetch) { return; }
  var url = bell.getAttribute("data-live-url");
  var count = bell.querySelector("[data-notification-count]");
  var toast = document.querySelector("[data-notification-toast]");
  var etag = null;
  var latestId = null;
  var hideTimer = null;
  var INTERVAL = 1500;

  function show(latest) {
    if (!toast) { return; }
    toast.querySelector("[data-notification-toast-title]").textContent = latest.title;
    toast.querySelector("[data-notification-toast-body]").textContent = latest.body || "";
    var link = toast.querySelector("[data-notification-toast-link]");
    if (/^\/[^/]/.test(latest.link || "")) { link.setAttribute("href", latest.link); }
    toast.hidden = false;
    window.clearTimeout(hideTimer);
    hideTimer = window.setTimeout(function () { toast.hidden = true; }, 8000);
  }

  function apply(data, first) {
    count.textContent = String(data.unread);
    count.hidden = data.unread === 0;
    var latest = data.latest;
    if (latest && !latest.read && !first && latest.id !== latestId &&
        (latestId === null || latest.id > latestId)) {
      show(latest);
    }
    latestId = latest ? latest.id : latestId;
  }

  function poll(first) {
    var headers = {"Accept": "application/json"};
    if (etag) { headers["If-None-Match"] = etag; }
    fetch(url, {headers: headers, cache: "no-store", credentials: "same-origin"})
      .then(function (response) {
        if (response.status === 304) { return null; }
        if (!response.ok) { throw new Error("stopped"); }
        etag = response.headers.get("ETag");
        return response.json();
      })
      .then(function (data) {
        if (data) { apply(data, first); }
        window.setTimeout(poll, document.hidden ? INTERVAL * 4 : INTERVAL, false);
      })
      .catch(function () { /* signed out or the server went away: stop polling */ });
  }

  poll(true);
})();
