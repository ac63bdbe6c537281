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

  // A zone picker holding UTC (a new account, or a zone never chosen) defaults to the
  // browser's zone, found under its older name too (Chrome says Asia/Calcutta for Kolkata).
  document.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
    if (select.value !== "UTC" || !zone || zone === "UTC") { return; }
    for (var i = 0; i < select.options.length; i++) {
      var option = select.options[i];
      var also = (option.getAttribute("data-also") || "").split(" ");
      if (option.value === zone || also.indexOf(zone) >= 0) {
        select.value = option.value;
        var note = select.parentNode.querySelector("[data-browser-zone-note]");
        if (note) { note.hidden = false; }
        break;
      }
    }
  });

  // A search box narrows its picker's options to those naming every word typed (city,
  // country, region or an older name); the first match is chosen when the choice drops out.
  document.querySelectorAll("input[data-filter-options]").forEach(function (search) {
    var select = document.getElementById(search.getAttribute("data-filter-options"));
    var status = document.getElementById(search.getAttribute("aria-describedby"));
    if (!select) { return; }
    var all = Array.prototype.map.call(select.children, function (node) { return node.cloneNode(true); });
    function text(option, group) {
      return [option.textContent, option.value, option.getAttribute("data-also") || "", group]
        .join(" ").toLowerCase().replace(/[_/]/g, " ");
    }
    search.hidden = false;
    search.addEventListener("input", function () {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var chosen = select.value;
      var shown = 0;
      var kept = [];
      all.forEach(function (node) {
        var copy = node.cloneNode(true);
        var options = copy.tagName === "OPTGROUP" ? Array.prototype.slice.call(copy.children) : [copy];
        options.forEach(function (option) {
          var haystack = text(option, copy.tagName === "OPTGROUP" ? copy.label : "");
          if (words.every(function (w) { return haystack.indexOf(w) >= 0; })) { shown++; }
          else if (option !== copy) { copy.removeChild(option); }
          else { copy = null; }
        });
        if (copy && (copy.tagName !== "OPTGROUP" || copy.children.length)) { kept.push(copy); }
      });
      if (!shown) {  // keep the list as it was: a form never posts an empty choice
        if (status) { status.textContent = "No time zone matches “" + search.value.trim() + "”."; }
        return;
      }
      select.replaceChildren.apply(select, kept);
      select.value = chosen;
      if (select.value !== chosen) { select.selectedIndex = 0; }
      if (status) {
        status.textContent = words.length ? shown + (shown === 1 ? " match: " : " matches, first: ") +
          select.options[select.selectedIndex].textContent + "." : "";
      }
    });
  });

  // A refused form's summary, or a new token, takes the focus where the page lands; a
  // summary's link focuses its field (the first box of a group).
  var landing = document.querySelector("[data-focus-on-load]");
  if (landing) { landing.focus(); }
  document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      var field = target && (target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea"));
      if (!field) { return; }
      event.preventDefault();
      field.focus();
      field.scrollIntoView({ block: "center" });
    });
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
