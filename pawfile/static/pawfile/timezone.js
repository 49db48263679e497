// The time-zone field of the preferences page: a person who never chose a zone gets the
// browser's own filled in (and a note saying so); nothing is saved until they save.
// The sign-up form's hidden zone field gets it too, so a new account starts in the zone
// its owner lives in (the server keeps it only when it names a known zone).
document.addEventListener("DOMContentLoaded", () => {
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return;
  }
  for (const input of document.querySelectorAll("input[data-signup-zone]")) {
    input.value = zone;
  }
  for (const input of document.querySelectorAll("input[data-browser-zone]")) {
    if (!zone || zone === input.value) continue;
    const known = input.list && Array.from(input.list.options).some((o) => o.value === zone);
    if (!known) continue;
    input.value = zone;
    const note = document.getElementById(input.dataset.browserZone);
    if (note) note.hidden = false;
  }
});
