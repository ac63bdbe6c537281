"""A faithful local stand-in for Microsoft 365 / Outlook.com calendars: Microsoft Graph
v1.0 and the Microsoft identity platform over TLS on loopback, for the real msal and
calsync's own Graph calls. `serve_forever` runs it alone (`calsync microsoft-emulator`).

What it simplifies, against Microsoft's documented behaviour: one mailbox per account and
calendars owned by it (no sharing, no groups); a delta round is computed, in the zone its
first request prefers, at its first page, and pages ten at a time (as calendarView and
`/me/calendars` do) unless `Prefer: odata.maxpagesize` says otherwise; `$select`,
`$filter` and `$orderby` are not interpreted (`$expand` only for single-value extended
properties); a repeated `transactionId` returns the earlier event (201) while it exists;
notifications are not batched, retried or throttled, and `reauthorizationRequired` does
not pause them; the consent page grants every scope asked; access tokens are looked up,
not validated as JWTs; `xms_edov` is always in an id_token that has `email`; the
optional plain-HTTP consent page (`browser_port`, for a demo's browsers) is its own.
Nothing here runs at import.
"""

from calsync.emulator.microsoft.emulator import DEFAULT_SCOPES, MicrosoftEmulator, serve_forever

__all__ = ["DEFAULT_SCOPES", "MicrosoftEmulator", "serve_forever"]
