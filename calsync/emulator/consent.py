"""The emulator's consent screen: what Google shows before a person lets calsync in.

It looks like a consent screen and says plainly that it is the emulator: no Google account
is used, the account is made up. Its style and script are files of their own (`STYLE`,
`SCRIPT` at /static/…), so its Content-Security-Policy allows no inline code. The script
only fills the hidden `time_zone` field with the browser's zone: the demo places its
meetings in working hours there (see `demo.py`); without script the account's zone stays.
"""

from __future__ import annotations

import html
from typing import NamedTuple
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

STYLE_PATH = "/static/consent.css"
SCRIPT_PATH = "/static/consent.js"



class Brand(NamedTuple):
    """Whose sign-in the page stands in for, and what each scope lets calsync do, in the
    words that service's own consent screen uses."""

    service: str  # "Google"
    product: str  # "Google Calendar"
    account: str  # "Google Account"
    scope_words: dict[str, str]


GOOGLE_SCOPE_WORDS = {
    "https://www.googleapis.com/auth/calendar":
        "See, edit, share and permanently delete all the calendars you can access",
    "https://www.googleapis.com/auth/calendar.events":
        "View and edit events on all your calendars",
    "https://www.googleapis.com/auth/calendar.events.owned":
        "See, create, change and delete events on Google calendars you own",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly":
        "See the list of Google calendars you're subscribed to",
    "https://www.googleapis.com/auth/calendar.readonly":
        "See and download any calendar you can access",
    "https://www.googleapis.com/auth/userinfo.email":
        "See your primary Google Account email address",
    "https://www.googleapis.com/auth/userinfo.profile":
        "See your personal info, including any personal info you've made publicly available",
    "openid": "Associate you with your personal info on Google",
}
GOOGLE = Brand("Google", "Google Calendar", "Google Account", GOOGLE_SCOPE_WORDS)

STYLE = """\
:root { color-scheme: light; --ink: #1f1f1f; --muted: #5f6368; --line: #dadce0;
  --blue: #0b57d0; --demo: #fff4e5; --demo-line: #f2b35b; }
* { box-sizing: border-box; }
body { margin: 0; background: #f0f4f9; color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 34rem; margin: 2.5rem auto; padding: 2rem 2.2rem; background: #fff;
  border-radius: 28px; }
.brand { margin: 0 0 1rem; font-size: 1.05rem; color: var(--muted); }
.brand b { color: var(--ink); }
.demo { margin: 0 0 1.4rem; padding: 0.8rem 1rem; background: var(--demo);
  border: 1px solid var(--demo-line); border-radius: 12px; font-size: 0.95rem; }
h1 { font-size: 1.6rem; font-weight: 400; line-height: 1.25; margin: 0 0 1rem; }
.account { display: flex; align-items: center; gap: 0.7rem; margin: 0 0 1.4rem;
  padding: 0.35rem 0.9rem 0.35rem 0.35rem; border: 1px solid var(--line);
  border-radius: 999px; width: fit-content; max-width: 100%; }
.avatar { flex: none; width: 2rem; height: 2rem; border-radius: 50%; background: #7e57c2;
  color: #fff; display: grid; place-items: center; font-weight: 600; }
.who { min-width: 0; overflow-wrap: anywhere; }
.who .name { display: block; font-weight: 600; font-size: 0.95rem; }
.who .email { display: block; color: var(--muted); font-size: 0.9rem; margin: 0; }
h2 { font-size: 1rem; font-weight: 500; margin: 0 0 0.5rem; }
ul.scopes { list-style: none; margin: 0 0 1.2rem; padding: 0; border-top: 1px solid var(--line); }
ul.scopes li { padding: 0.7rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
ul.scopes code { display: block; color: var(--muted); font-size: 0.78rem; overflow-wrap: anywhere; }
.zone { color: var(--muted); font-size: 0.92rem; margin: 0 0 1.2rem; }
.buttons { display: flex; justify-content: flex-end; gap: 0.8rem; flex-wrap: wrap; }
button { font: inherit; font-weight: 500; padding: 0.55rem 1.5rem; border-radius: 999px;
  cursor: pointer; border: 1px solid var(--line); background: #fff; color: var(--blue); }
button.allow { background: var(--blue); border-color: var(--blue); color: #fff; }
button:focus-visible { outline: 3px solid #a8c7fa; outline-offset: 2px; }
@media (max-width: 600px) {
  main { margin: 0; min-height: 100vh; border-radius: 0; padding: 1.4rem 1.1rem; }
  h1 { font-size: 1.35rem; }
  .buttons button { flex: 1; }
}
"""

SCRIPT = """\
// Fills the demo's time zone with the browser's, so its meetings fall in your working hours.
(function () {
  var field = document.getElementById("time-zone");
  var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!field || field.value || !zone) { return; }
  field.value = zone;
  var shown = document.getElementById("zone-shown");
  if (shown) { shown.textContent = zone; }
})();
"""


def page(path: str, values: MultiDict[str, str], email: str, name: str, scopes: set[str],
         zone: str, brand: Brand = GOOGLE) -> Response:
    """The consent page for `email`; its form posts `values` back with the decision."""
    esc = html.escape
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
        for k, vs in values.lists() if k not in ("decision", "auto", "time_zone") for v in vs)
    given = values.get("time_zone") or ""
    items = "".join(
        f"<li>{esc(brand.scope_words.get(s, s))}<code>{esc(s)}</code></li>" for s in sorted(scopes))
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - {esc(brand.service)} (calsync's emulator)</title>
<link rel="stylesheet" href="{STYLE_PATH}"><script src="{SCRIPT_PATH}" defer></script>
</head><body><main>
<p class="brand"><b>{esc(brand.product)}</b> emulator</p>
<p class="demo" id="demo-note"><strong>This is a demo.</strong> It is calsync's built-in
stand-in for {esc(brand.service)}:
no {esc(brand.service)} account is used and nothing is sent to {esc(brand.service)}.
The account and its calendars are made up.</p>
<h1>calsync wants to access your {esc(brand.account)}</h1>
<p class="account"><span class="avatar" aria-hidden="true">{esc(name[:1].upper())}</span>
<span class="who"><span class="name">{esc(name)}</span>
<span class="email" id=email>{esc(email)}</span></span></p>
<h2>This will allow calsync to:</h2>
<ul class="scopes">{items}</ul>
<form method="post" action="{esc(path)}">{hidden}
<input type="hidden" name="time_zone" id="time-zone" value="{esc(given)}">
<p class="zone">The demo's meetings are placed in working hours in the time zone
<span id="zone-shown">{esc(given or zone)}</span>.</p>
<div class="buttons"><button name="decision" value="deny">Cancel</button>
<button name="decision" value="allow" class="allow">Allow</button></div>
</form></main></body></html>"""
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = policy(values.get("redirect_uri", ""))
    response.headers["Cache-Control"] = "no-store"
    return response


def policy(redirect_uri: str) -> str:
    """No inline code; the form may post here and be redirected to the client's callback
    (browsers apply form-action to the redirect too)."""
    parts = urlsplit(redirect_uri)
    back = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return ("default-src 'none'; style-src 'self'; script-src 'self'; "
            f"form-action 'self'{back}; base-uri 'none'; frame-ancestors 'none'")


def asset(path: str) -> Response:
    """The consent page's stylesheet or script."""
    if path == STYLE_PATH:
        return Response(STYLE, content_type="text/css; charset=utf-8")
    return Response(SCRIPT, content_type="text/javascript; charset=utf-8")
