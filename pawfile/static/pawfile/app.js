/* Pawfile's own script. Everything works without it; it only smooths the edges.
 * Loaded as an external file: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  // Forms marked data-confirm ask before they submit (destructive actions).
  // Runs in the capture phase so a refusal also stops HTMX from sending the request.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var message = form && form.getAttribute && form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // Dropdown menus (details.dropdown): one open at a time, Escape closes and returns focus.
  document.addEventListener(
    "toggle",
    function (event) {
      var opened = event.target;
      if (!(opened instanceof HTMLDetailsElement) || !opened.open) return;
      if (!opened.classList.contains("dropdown")) return;
      document.querySelectorAll("details.dropdown[open]").forEach(function (other) {
        if (other !== opened) other.open = false;
      });
    },
    true
  );
  // On a phone the account pages' links are one row that scrolls: show the current one.
  document.addEventListener("DOMContentLoaded", function () {
    var current = document.querySelector(".account-nav [aria-current=page]");
    var row = current && current.closest("ul");
    if (row && row.scrollWidth > row.clientWidth) {
      row.scrollLeft = current.offsetLeft - (row.clientWidth - current.offsetWidth) / 2;
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) summary.focus();
    });
  });
})();
