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

  // A next step whose channel is changed away from the one promised at the last touch says
  // so (without script the hint stays, as a reminder).
  document.querySelectorAll("select[data-promised]").forEach(function (select) {
    var note = document.getElementById(select.getAttribute("aria-describedby"));
    if (!note) { return; }
    function show() {
      var changed = select.value !== select.getAttribute("data-promised");
      note.hidden = !changed;
      note.classList.toggle("changed", changed);
      if (changed) { note.textContent = note.getAttribute("data-changed"); }
    }
    show();
    select.addEventListener("change", show);
  });

  // A promise's date typed after the next step's date was suggested: the step's date
  // follows it when it was later (the work comes before the promise; calsync plans it a
  // margin ahead). Without script the server does the same from the promise alone.
  document.querySelectorAll("input[data-step-date]").forEach(function (promise) {
    var step = document.getElementById(promise.getAttribute("data-step-date"));
    if (!step) { return; }
    promise.addEventListener("change", function () {
      if (promise.value && (!step.value || step.value > promise.value)) { step.value = promise.value; }
    });
  });

  inbox(document.querySelector("[data-inbox]"));

  // The inbox by keyboard: j/k move between rows, o (or Enter on a row) opens it, y/n answer,
  // s fills the suggested next step (Enter plans it), z snoozes till tomorrow, d is "not a
  // sales meeting", x selects, / searches, ? lists the keys. After an answer the server
  // returns to #prompt-<next row>, which takes the focus here.
  function inbox(section) {
    if (!section) { return; }
    var keys = document.getElementById("keys");
    var opener = section.querySelector("[data-keys-open]");
    var selectAll = document.getElementById("select-all");
    function rows() { return Array.prototype.slice.call(section.querySelectorAll("article.row")); }
    function current() {
      var active = document.activeElement;
      return active && active.closest ? active.closest("article.row") : null;
    }
    function focusRow(row) {
      if (!row) { return; }
      var summary = row.querySelector(":scope > details > summary");
      summary.focus();
      summary.scrollIntoView({ block: "nearest" });
    }
    function move(step) {
      var all = rows();
      var index = all.indexOf(current());
      focusRow(all[Math.min(Math.max(index < 0 && step < 0 ? 0 : index + step, 0), all.length - 1)]);
    }
    function press(row, selector) {
      var button = row.querySelector(selector);
      if (!button) { return; }
      var form = button.form;
      if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
    }
    function nextStep(row) {
      var summary = row.querySelector("input[name=summary]");
      // Every fold around the field opens: the row, and a promise's "Something else happened".
      for (var fold = summary.closest("details"); fold; fold = fold.parentElement.closest("details")) {
        fold.open = true;
      }
      if (!summary.value) { summary.value = summary.getAttribute("data-suggested") || ""; }
      summary.focus();
      summary.select();
    }
    function typing(element) {  // a checkbox or a button takes no text: the keys still work
      if (!element || !element.closest) { return false; }
      if (element.closest("textarea, select, [contenteditable]")) { return true; }
      return element.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset)$/.test(element.type);
    }
    function showKeys() {
      if (keys && !keys.open && keys.showModal) { keys.showModal(); }
    }
    if (opener && keys && keys.showModal) {
      opener.hidden = false;
      opener.addEventListener("click", showKeys);
    }
    if (selectAll) {
      selectAll.closest("[data-select-all]").hidden = false;
      selectAll.addEventListener("change", function () {
        section.querySelectorAll("input.pick").forEach(function (box) { box.checked = selectAll.checked; });
      });
      section.addEventListener("change", function (event) {  // one row unticked: not "all"
        if (!event.target.matches("input.pick")) { return; }
        var boxes = section.querySelectorAll("input.pick");
        var ticked = section.querySelectorAll("input.pick:checked").length;
        selectAll.checked = ticked === boxes.length;
        selectAll.indeterminate = ticked > 0 && ticked < boxes.length;
      });
    }

    // Once the page has loaded: the browser's own move to the #fragment comes before that
    // and would take the focus back.
    // After an action with no row named (several put away at once), the first row.
    window.addEventListener("load", function () {
      var target = /^#prompt-\d+$/.test(location.hash) ? document.getElementById(location.hash.slice(1)) : null;
      if (target && target.matches("article.row")) { focusRow(target); }
      else if (document.querySelector(".flash")) { focusRow(rows()[0]); }
    });

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (typing(event.target) || (keys && keys.open)) { return; }
      var row = current();
      var handled = true;
      switch (event.key) {
        case "j": move(1); break;
        case "k": move(-1); break;
        case "?": showKeys(); break;
        case "/": document.getElementById("inbox-q").focus(); break;
        default:
          if (!row) { handled = false; break; }
          switch (event.key) {
            case "o": row.querySelector(":scope > details").open = !row.querySelector(":scope > details").open; focusRow(row); break;
            case "y": press(row, "button.yes"); break;
            case "n": press(row, "button.no"); break;
            case "s": nextStep(row); break;
            case "z": press(row, "button[name=until][value=tomorrow]"); break;
            case "d": press(row, "button[data-dismiss]"); break;
            case "x": row.querySelector("input.pick").click(); break;
            default: handled = false;
          }
      }
      if (handled) { event.preventDefault(); }
    });
  }
})();

// sources & feed: "Copy link" copies the address beside it and says so in a live region;
// without script (or a clipboard) the button stays hidden and the read-only field is there.
(function () {
  if (!navigator.clipboard) { return; }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = "Copied";
        if (status) { status.textContent = "Copied: paste it into your calendar app."; }
      }, function () {
        field.focus();
        field.select();
        if (status) { status.textContent = "Copying was not allowed: the address is selected, press Ctrl+C (⌘C)."; }
      });
    });
  });
})();

// deals: the list's order applies as soon as it is chosen; the "belongs to another deal?"
// picker finds the user's deals as you type (GET /deals/search, as the Search button does
// without script), and a deal picked wins over a name typed for a new one.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  var picker = document.querySelector("[data-deal-search]");
  if (!picker) { return; }
  var search = picker.querySelector("#move-q");
  var list = picker.querySelector("#move-choices");
  var none = list.querySelector(".deal-none");
  var newChoice = picker.querySelector("#move-new-choice");
  var newName = picker.querySelector("#move-new");
  var move = picker.querySelector("form.picker-move");
  var url = picker.getAttribute("data-deal-search");
  var asked = 0;
  var filled = newName.value;  // a name the picker offered itself, replaced on the next search
  function choice(deal) {
    var item = document.createElement("li");
    var label = document.createElement("label");
    var radio = document.createElement("input");
    var text = document.createElement("span");
    var more = document.createElement("span");
    item.className = "deal-choice";
    label.className = "checkbox";
    radio.type = "radio";
    radio.name = "deal_id";
    radio.value = String(deal.id);
    more.className = "muted";
    more.textContent = (deal.counterpart && deal.counterpart !== deal.name ? deal.counterpart + " · " : "") + deal.status;
    text.textContent = deal.name + " ";
    text.appendChild(more);
    label.appendChild(radio);
    label.appendChild(document.createTextNode(" "));
    label.appendChild(text);
    item.appendChild(label);
    return item;
  }
  function show(deals, words) {
    list.querySelectorAll(".deal-choice").forEach(function (item) { item.remove(); });
    deals.forEach(function (deal) { list.insertBefore(choice(deal), none); });
    none.hidden = deals.length > 0;
    none.textContent = words ? "No other deal is named like “" + words + "”." : "No other deal yet.";
    // Nothing found: offer the words as the new deal's name, unless a name was typed.
    if (newName.value === filled) {
      filled = deals.length ? "" : words;
      newName.value = filled;
      newChoice.checked = Boolean(filled);
    }
  }
  function find() {
    var words = search.value.trim();
    var ask = ++asked;
    fetch(url + (url.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(words),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (body) { if (ask === asked) { show(body.deals, words); } })
      .catch(function () { /* the Search button still reloads the page with the results */ });
  }
  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(find, 150);
  });
  search.form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    find();
  });
  newName.addEventListener("input", function () {
    if (newName.value.trim()) { newChoice.checked = true; }
  });
  move.addEventListener("submit", function () {
    var chosen = move.querySelector("input[name=deal_id]:checked");
    newName.disabled = Boolean(chosen && chosen !== newChoice);  // then no name is posted
  });
  window.addEventListener("pageshow", function () { newName.disabled = false; });
  if (search.value !== search.defaultValue) { find(); }  // typed before the script ran
})();

// Covered & clash: while a next step's date, time or length is picked, ask calsync whether
// that time runs into a meeting or a planned follow-up, and say which, under the fields
// (in the element `<pid>-clash`, made here when the page has none). Saving is never
// blocked: the answer's own warning says it again.
(function () {
  "use strict";
  var FIELD = /^(p\d+)-(date|time|duration)$/;
  var asked = {};

  function output(pid, form) {
    var shown = document.getElementById(pid + "-clash");
    if (shown) { return shown; }
    var time = document.getElementById(pid + "-time");
    var fields = time && time.closest(".fields");
    if (!fields) { return null; }
    shown = document.createElement("p");
    shown.id = pid + "-clash";
    shown.className = "hint clash";
    shown.setAttribute("aria-live", "polite");
    shown.hidden = true;
    fields.parentNode.insertBefore(shown, fields.nextSibling);
    return shown;
  }

  function check(pid, form) {
    var day = document.getElementById(pid + "-date");
    var time = document.getElementById(pid + "-time");
    var duration = document.getElementById(pid + "-duration");
    var shown = output(pid, form);
    if (!shown || !day || !time || !day.value || !time.value) { return; }
    // getAttribute: the form's controls include one named "action" (it didn't happen).
    var url = form.getAttribute("action").replace(/\/answer$/, "/clash") + "?date=" +
      encodeURIComponent(day.value) + "&time=" + encodeURIComponent(time.value) +
      "&duration=" + encodeURIComponent((duration && duration.value) || "30");
    var ask = asked[pid] = (asked[pid] || 0) + 1;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (ask !== asked[pid]) { return; }  // a later pick is on its way
        shown.textContent = body.clash || "";
        shown.hidden = !body.clash;
      })
      .catch(function () { /* the answer's warning still names a clash */ });
  }

  document.addEventListener("change", function (event) {
    var match = event.target.id && FIELD.exec(event.target.id);
    var form = match && event.target.form;
    if (form && /\/answer$/.test(form.getAttribute("action") || "")) { check(match[1], form); }
  });
})();
