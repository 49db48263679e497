/* Health pages. Everything works without it: the timeline filter is a plain GET form.
 * With HTMX present the filter applies on change, so its "Apply" button is hidden. */
(function () {
  "use strict";

  function enhance(root) {
    if (!window.htmx) return;
    root.querySelectorAll("form[data-health-filter]").forEach(function (form) {
      form.classList.add("is-live");
    });
  }

  // Keep the chips' look in step with their boxes when the list (not the form) is swapped.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.name !== "kind") return;
    var form = box.closest("form[data-health-filter]");
    if (!form) return;
    var label = box.closest(".chip");
    if (label) label.classList.toggle("chip-active", box.checked);
    var all = form.querySelector("a.chip");
    if (all) {
      var any = form.querySelector("input[name=kind]:checked") !== null;
      all.classList.toggle("chip-active", !any);
      if (any) all.removeAttribute("aria-current");
      else all.setAttribute("aria-current", "true");
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
})();
