// calsync's one script, loaded from a file so the Content-Security-Policy can forbid inline
// script. Small conveniences only: every page works without it.
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }

  // A new account, made by signing up or by signing in with Google, gets the browser's zone.
  document.querySelectorAll("input.browser-zone").forEach(function (field) {
    if (zone) { field.value = zone; }
  });

  // The sign-up zone picker defaults to the browser's zone unless the form came back with one.
  document.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
    if (select.value !== "UTC" || !zone) { return; }
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) { select.value = zone; break; }
    }
  });

  // Forms that can't be undone ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // Read-only addresses select themselves on focus, ready to copy.
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
