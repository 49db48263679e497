// The finder's form: "Share my location" (the browser asks the person first; the
// coordinates go into the form's hidden inputs, nothing else is sent anywhere), and HTMX
// swapping the form's 400/429 answers in place (they carry the errors to show).
(function () {
  "use strict";

  function round(value) {
    return (Math.round(value * 100000) / 100000).toFixed(5);
  }

  function share(button) {
    var form = button.closest("form");
    var status = form.querySelector("[data-location-status]");
    if (!navigator.geolocation) {
      status.textContent = button.dataset.refused;
      return;
    }
    status.textContent = button.dataset.asking;
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        form.querySelector("input[name=latitude]").value = round(position.coords.latitude);
        form.querySelector("input[name=longitude]").value = round(position.coords.longitude);
        var accuracy = Math.round(position.coords.accuracy || 0);
        status.textContent = button.dataset.shared + (accuracy ? " (± " + accuracy + " m)" : "");
        button.disabled = false;
      },
      function () {
        status.textContent = button.dataset.refused;
        button.disabled = false;
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
    );
  }

  function reveal(root) {
    var buttons = (root || document).querySelectorAll("[data-share-location]");
    for (var i = 0; i < buttons.length; i++) {
      if ("geolocation" in navigator) buttons[i].hidden = false;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-share-location]");
    if (button) {
      event.preventDefault();
      share(button);
    }
  });
  document.addEventListener("htmx:load", function (event) { reveal(event.target); });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if ((status === 400 || status === 429) && event.detail.target.id === "finder-form") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
})();
