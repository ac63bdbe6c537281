"""Faithful local stand-ins for the outside services calsync talks to.

`GoogleEmulator` speaks Google Calendar API v3 and Google's OAuth 2.0 endpoints over real
HTTP on loopback, for the real google-api-python-client and google-auth-oauthlib;
`serve_forever` runs it alone (`calsync google-emulator`). `calsync.emulator.microsoft`
does the same for Microsoft Graph and the identity platform, over TLS, for msal
(`calsync microsoft-emulator`). Nothing here runs at import.
"""

from calsync.emulator.google import GoogleEmulator, serve_forever

__all__ = ["GoogleEmulator", "serve_forever"]
