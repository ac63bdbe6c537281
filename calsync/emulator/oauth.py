"""Google's OAuth 2.0 endpoints: consent, the token endpoint, revocation and signing certs.

Errors follow Google: the authorization endpoint shows an error page (it never redirects an
unknown client or an unregistered redirect URI), the token and revoke endpoints answer
`{"error": ..., "error_description": ...}`. Refresh tokens are issued only for
`access_type=offline`, on the first consent or with `prompt=consent`, as Google does.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from calsync.emulator import consent
from calsync.emulator.common import b64url, pkce_matches, redirect, with_query
from calsync.emulator.errors import OAuthError
from calsync.emulator.state import CODE_LIFETIME, AuthCode, State, Token

ISSUER = "https://accounts.google.com"
AUTH = "https://www.googleapis.com/auth/"
# Short scope names Google expands in what it grants.
SCOPE_ALIASES = {"email": AUTH + "userinfo.email", "profile": AUTH + "userinfo.profile"}
IDENTITY_SCOPES = {"openid", AUTH + "userinfo.email", AUTH + "userinfo.profile"}
PROMPTS = {"none", "consent", "select_account"}

_key_lock = threading.Lock()
_key: tuple[rsa.RSAPrivateKey, str] | None = None


def signing_key() -> tuple[rsa.RSAPrivateKey, str]:
    """One RSA key (and its key id) per process: generating one costs ~0.1 s."""
    global _key
    with _key_lock:
        if _key is None:
            _key = (rsa.generate_private_key(public_exponent=65537, key_size=2048),
                    secrets.token_hex(20))
        return _key


def certs() -> dict[str, str]:
    """The /oauth2/v1/certs body: key id to PEM public key (google.auth.jwt reads both)."""
    key, kid = signing_key()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return {kid: pem.decode()}


def id_token(claims: dict[str, Any]) -> str:
    key, kid = signing_key()
    header = b64url(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url(signature)}"


def normalize_scopes(raw: str) -> set[str]:
    return {SCOPE_ALIASES.get(s, s) for s in raw.split()}


def _error_page(status: int, error: str, detail: str) -> Response:
    body = (f"<!doctype html><title>Error {status}: {html.escape(error)}</title>"
            f"<h1>Access blocked: authorization error</h1>"
            f"<p><b>Error {status}: {html.escape(error)}</b></p><p>{html.escape(detail)}</p>")
    return Response(body, status=status, content_type="text/html; charset=utf-8")


# Told of each consent given on the page: the account's email and the time zone the page
# sent ("" without one). The demo places its meetings in that zone.
ConsentHook = Callable[[str, str], None]


class OAuth:
    def __init__(self, state: State, *, auto_consent: bool = False) -> None:
        self.state = state
        self.auto_consent = auto_consent
        self.on_consent: ConsentHook | None = None

    # the authorization endpoint

    def authorize(self, request: Request) -> Response:
        args = request.values
        with self.state.lock:
            checked = self._check_authorize(args)
            if isinstance(checked, Response):
                return checked
            redirect_uri, email = checked
            params = {"state": args["state"]} if "state" in args else {}
            prompts = set((args.get("prompt") or "").split())
            requested = normalize_scopes(args["scope"])
            if "none" in prompts and not self.state.consented(email, args["client_id"],
                                                              requested):
                return redirect(with_query(redirect_uri, {"error": "consent_required",
                                                            **params}))
            decision = args.get("decision") if request.method == "POST" else None
            if decision == "deny":
                return redirect(with_query(redirect_uri, {"error": "access_denied", **params}))
            if decision != "allow" and not self.auto_consent and args.get("auto") != "1" and (
                    "none" not in prompts):
                return self._consent_page(request, email)
            code, granted = self._issue_code(args, email, redirect_uri)
        if decision == "allow" and self.on_consent is not None:
            self.on_consent(email, args.get("time_zone") or "")
        return redirect(with_query(redirect_uri, {
            "code": code, "scope": " ".join(sorted(granted)), **params}))

    def _check_authorize(self, args: MultiDict[str, str]) -> Response | tuple[str, str]:
        client_id = args.get("client_id")
        if not client_id:
            return _error_page(400, "invalid_request", "Missing required parameter: client_id")
        client = self.state.client(client_id)
        if client is None:
            return _error_page(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = args.get("redirect_uri")
        if not redirect_uri:
            return _error_page(400, "invalid_request",
                               "Missing required parameter: redirect_uri")
        if client.redirect_uris is not None and redirect_uri not in client.redirect_uris:
            return _error_page(400, "redirect_uri_mismatch",
                               f"The redirect URI in the request, {redirect_uri}, does not "
                               "match the ones authorized for the OAuth client.")
        if args.get("response_type") != "code":
            return _error_page(400, "unsupported_response_type",
                               f"Invalid response_type: {args.get('response_type', '')}")
        if not (args.get("scope") or "").strip():
            return _error_page(400, "invalid_request", "Missing required parameter: scope")
        method = args.get("code_challenge_method")
        if method is not None and method not in ("S256", "plain"):
            return _error_page(400, "invalid_request", "Invalid code_challenge_method value.")
        if method is not None and not args.get("code_challenge"):
            return _error_page(400, "invalid_request",
                               "Missing required parameter: code_challenge")
        if args.get("access_type", "online") not in ("online", "offline"):
            return _error_page(400, "invalid_request",
                               f"Invalid access_type: {args.get('access_type')}")
        if not set((args.get("prompt") or "").split()) <= PROMPTS:
            return _error_page(400, "invalid_request", f"Invalid prompt: {args.get('prompt')}")
        hint = (args.get("login_hint") or "").lower()
        emails = list(self.state.accounts)
        email = hint if hint in self.state.accounts else (emails[0] if emails else "")
        if not email:
            return _error_page(400, "access_denied", "The emulator has no Google account.")
        return redirect_uri, email

    def _consent_page(self, request: Request, email: str) -> Response:
        account = self.state.accounts[email]
        primary = self.state.calendars.get(email)
        return consent.page(request.path, request.values, email, account.name,
                            normalize_scopes(request.values["scope"]),
                            primary.time_zone if primary else "UTC")

    def _issue_code(self, args: MultiDict[str, str], email: str,
                    redirect_uri: str) -> tuple[str, set[str]]:
        state = self.state
        grant = state.grant(email, args["client_id"])
        granted = normalize_scopes(args["scope"]) - state.denied_scopes
        if (args.get("include_granted_scopes") or "").lower() == "true":
            granted |= grant.scopes
        grant.scopes |= granted
        prompts = set((args.get("prompt") or "").split())
        offline = args.get("access_type") == "offline"
        challenge = args.get("code_challenge") or ""
        code = "4/0" + secrets.token_urlsafe(40)
        state.codes[code] = AuthCode(
            grant=grant, client_id=args["client_id"], redirect_uri=redirect_uri,
            scopes=frozenset(granted), challenge=challenge,
            challenge_method=(args.get("code_challenge_method") or "plain") if challenge else "",
            issue_refresh_token=offline and (not grant.offline or "consent" in prompts),
            nonce=args.get("nonce") or "", expires_at=time.time() + CODE_LIFETIME)
        return code, granted

    # the token endpoint

    def token(self, request: Request) -> dict[str, Any]:
        form = request.form
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if request.authorization is not None and request.authorization.type == "basic":
            client_id = request.authorization.username or client_id
            secret = request.authorization.password or secret
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        with self.state.lock:
            if not client_id:
                raise OAuthError(400, "invalid_request",
                                 "Could not determine client ID from request.")
            client = self.state.client(client_id)
            if client is None:
                raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
            if client.secret and secret != client.secret:
                raise OAuthError(401, "invalid_client", "Unauthorized")
            if grant_type == "authorization_code":
                return self._exchange_code(form, client_id)
            return self._refresh(form, client_id)

    def _exchange_code(self, form: MultiDict[str, str], client_id: str) -> dict[str, Any]:
        raw = form.get("code")
        if not raw:
            raise OAuthError(400, "invalid_request", "Missing required parameter: code")
        code = self.state.codes.get(raw)
        if (code is None or code.used or code.expires_at < time.time()
                or code.client_id != client_id or code.grant.revoked):
            raise OAuthError(400, "invalid_grant", "Bad Request")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
        if code.challenge:
            verifier = form.get("code_verifier")
            if not verifier:
                raise OAuthError(400, "invalid_grant", "Missing code verifier.")
            if not pkce_matches(verifier, code.challenge, code.challenge_method):
                raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
        code.used = True
        body = self._tokens(code.grant, code.scopes, code.nonce)
        if code.issue_refresh_token:
            body["refresh_token"] = self.state.issue_refresh_token(code.grant, code.scopes)
        return body

    def _refresh(self, form: MultiDict[str, str], client_id: str) -> dict[str, Any]:
        raw = form.get("refresh_token")
        if not raw:
            raise OAuthError(400, "invalid_request", "Missing required parameter: refresh_token")
        token = self.state.refresh_tokens.get(raw)
        if token is None or token.grant.revoked:
            raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
        if token.grant.client_id != client_id:
            raise OAuthError(400, "unauthorized_client", "Unauthorized")
        return self._tokens(token.grant, token.scopes, "")

    def _tokens(self, grant: Any, scopes: frozenset[str], nonce: str) -> dict[str, Any]:
        state = self.state
        body: dict[str, Any] = {
            "access_token": state.issue_access_token(grant, scopes),
            "expires_in": state.token_lifetime,
            "scope": " ".join(sorted(scopes)),
            "token_type": "Bearer",
        }
        if scopes & IDENTITY_SCOPES:
            account = state.accounts[grant.email]
            now = int(time.time())
            claims: dict[str, Any] = {
                "iss": ISSUER, "azp": grant.client_id, "aud": grant.client_id,
                "sub": account.sub, "email": account.email, "email_verified": True,
                "iat": now, "exp": now + 3600}
            if nonce:
                claims["nonce"] = nonce
            if AUTH + "userinfo.profile" in scopes:
                claims["name"] = account.name
            body["id_token"] = id_token(claims)
        return body

    # revocation

    def revoke(self, request: Request) -> dict[str, Any]:
        raw = request.values.get("token", "")
        with self.state.lock:
            token: Token | None = (self.state.access_tokens.get(raw)
                                   or self.state.refresh_tokens.get(raw))
            if token is None or token.grant.revoked or token.expires_at < time.time():
                raise OAuthError(400, "invalid_token", "Token expired or revoked")
            token.grant.revoked = True
        return {}
