/* Pets pages: the photo cropper with upload progress, and the note editor.
 * Everything works without this file: the upload is a plain form post (the server keeps the
 * centre square) and the note text is a plain textarea that accepts simple HTML.
 * Loaded as an external file: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  // --- Photo upload: square crop in the browser, progress bar, errors shown in place ------

  function setCrop(form, detail) {
    var size = Math.round(Math.min(detail.width, detail.height));
    form.elements.crop_left.value = Math.max(0, Math.round(detail.x));
    form.elements.crop_top.value = Math.max(0, Math.round(detail.y));
    form.elements.crop_size.value = Math.max(1, size);
  }

  function clearCrop(form) {
    ["crop_left", "crop_top", "crop_size"].forEach(function (name) {
      form.elements[name].value = "";
    });
  }

  function showErrors(form, messages) {
    var box = form.querySelector("[data-upload-errors]");
    box.textContent = "";
    messages.forEach(function (message) {
      var p = document.createElement("p");
      p.textContent = message;
      box.appendChild(p);
    });
    box.hidden = messages.length === 0;
    if (messages.length) box.scrollIntoView({ block: "nearest" });
  }

  function setupCropper(form) {
    var input = form.querySelector("input[type=file]");
    var area = form.querySelector("[data-crop-area]");
    var image = form.querySelector("[data-crop-image]");
    var cropper = null;
    if (!input || !area || !image || typeof window.Cropper !== "function") return;
    if (typeof window.FileReader !== "function") return;

    function show() {
      if (cropper) {
        cropper.destroy();
        cropper = null;
      }
      clearCrop(form);
      showErrors(form, []);
      area.hidden = true;
      var file = input.files && input.files[0];
      if (!file || !/^image\/(jpeg|png|webp|gif)$/.test(file.type)) return;
      // A data: URL (not a blob: URL) lets Cropper read the JPEG's EXIF orientation without
      // a request; it then shows the picture upright, as the server decodes it, so the crop
      // box it reports is in the same pixels the server crops.
      var reader = new FileReader();
      reader.addEventListener("load", function () {
        image.src = reader.result;
        area.hidden = false;
        cropper = new window.Cropper(image, {
          aspectRatio: 1,
          viewMode: 1,
          autoCropArea: 1,
          checkOrientation: true,
          checkCrossOrigin: false,
          rotatable: true,
          scalable: true,
          zoomable: false,
          background: false,
          crop: function (event) {
            setCrop(form, event.detail);
          },
        });
      });
      reader.readAsDataURL(file);
    }

    input.addEventListener("change", show);
    // A picture chosen while the page was still loading fired its change event before this
    // script ran: show it now.
    if (input.files && input.files.length) show();
  }

  function setupUpload(form) {
    var progress = form.querySelector("[data-upload-progress]");
    var button = form.querySelector("button[type=submit]");
    if (typeof window.FormData !== "function" || !progress) return;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.setRequestHeader("Accept", "application/json");
      progress.value = 0;
      progress.hidden = false;
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      showErrors(form, []);

      function done(messages) {
        progress.hidden = true;
        button.disabled = false;
        button.removeAttribute("aria-busy");
        showErrors(form, messages);
      }

      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
      });
      xhr.addEventListener("load", function () {
        var data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch (err) {
          data = null;
        }
        if (xhr.status >= 200 && xhr.status < 300 && data && data.redirect) {
          progress.value = 100;
          window.location.assign(data.redirect);
        } else if (data && data.errors && data.errors.length) {
          done(data.errors);
        } else {
          done([form.getAttribute("data-error-generic")]);
        }
      });
      xhr.addEventListener("error", function () {
        done([form.getAttribute("data-error-generic")]);
      });
      xhr.send(new FormData(form));
    });
  }

  // --- Note editor (pell): writes sanitisable HTML into the hidden textarea --------------

  var LINK_ICON =
    '<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" ' +
    'stroke-width="2" stroke-linecap="round" aria-hidden="true"><path d="M10 14a4 4 0 0 0 5.66 0' +
    'l3-3a4 4 0 0 0-5.66-5.66l-1 1"/><path d="M14 10a4 4 0 0 0-5.66 0l-3 3a4 4 0 0 0 5.66 5.66' +
    'l1-1"/></svg>';

  function setupEditor(textarea) {
    var pell = window.pell;
    var field = textarea.closest(".rich-editor-field");
    if (!pell || !field) return;
    var label = function (name, fallback) {
      return field.getAttribute("data-label-" + name) || fallback;
    };
    var holder = document.createElement("div");
    holder.className = "rich-editor pell";
    textarea.parentNode.insertBefore(holder, textarea);
    var editor = pell.init({
      element: holder,
      defaultParagraphSeparator: "p",
      onChange: function (html) {
        textarea.value = html;
      },
      actions: [
        { name: "bold", title: label("bold", "Bold") },
        { name: "italic", title: label("italic", "Italic") },
        {
          name: "heading",
          icon: "<b>H</b>",
          title: label("heading", "Heading"),
          state: function () {
            return document.queryCommandValue("formatBlock") === "h3";
          },
          result: function () {
            var isHeading = document.queryCommandValue("formatBlock") === "h3";
            pell.exec("formatBlock", isHeading ? "<p>" : "<h3>");
          },
        },
        { name: "olist", icon: "1.", title: label("olist", "Numbered list") },
        { name: "ulist", title: label("ulist", "Bulleted list") },
        {
          name: "link",
          icon: LINK_ICON,
          title: label("link", "Link"),
          result: function () {
            var url = window.prompt(field.getAttribute("data-link-prompt") || "URL");
            if (url) pell.exec("createLink", url);
          },
        },
      ],
    });
    // Buttons show a glyph ("B", "#"): their accessible name is the title.
    holder.querySelectorAll("button[title]").forEach(function (button) {
      button.setAttribute("aria-label", button.title);
    });
    // The textarea holds HTML that the server sanitised when it was saved.
    editor.content.innerHTML = textarea.value;
    editor.content.setAttribute("role", "textbox");
    editor.content.setAttribute("aria-multiline", "true");
    var labelElement = textarea.id && document.querySelector("label[for='" + textarea.id + "']");
    if (labelElement) {
      labelElement.id = labelElement.id || textarea.id + "-label";
      editor.content.setAttribute("aria-labelledby", labelElement.id);
      labelElement.addEventListener("click", function () {
        editor.content.focus();
      });
    }
    textarea.hidden = true;
    var form = textarea.form;
    if (form) {
      form.addEventListener("submit", function () {
        textarea.value = editor.content.innerHTML;
      });
    }
  }

  function init() {
    document.querySelectorAll("form[data-photo-upload]").forEach(function (form) {
      setupCropper(form);
      setupUpload(form);
    });
    document.querySelectorAll("textarea[data-rich-editor]").forEach(setupEditor);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
