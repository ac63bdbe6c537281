"""The Microsoft identity platform (v2.0 endpoints) for one tenant path segment:
OpenID discovery, signing keys, the authorization endpoint with its consent page, and the
token endpoint (authorization_code with PKCE, refresh_token).

As at Microsoft: an unknown client or an unregistered redirect URI gets an error page, other
authorization errors go back to the redirect URI; token errors carry an AADSTS number;
a refresh token is issued only with `offline_access`, an id_token only with `openid`, and
`client_info` when asked (msal asks).
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import time
import uuid
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from calsync.emulator import consent, oauth
from calsync.emulator.common import b64url, pkce_matches, redirect, with_query
from calsync.emulator.microsoft.errors import IdentityError
from calsync.emulator.microsoft.state import (
    CODE_LIFETIME,
    CONSUMER_TENANT,
    AuthCode,
    ConsentRecord,
    MsAccount,
    MsState,
    Token,
)

GRAPH = "https://graph.microsoft.com/"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
RESERVED = frozenset({"openid", "profile", "email", "offline_access"})
MICROSOFT = consent.Brand("Microsoft", "Microsoft 365 / Outlook", "Microsoft account", {
    "openid": "Sign you in", "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
    GRAPH + "Calendars.ReadWrite": "Have full access to your calendars",
    GRAPH + "Calendars.Read": "Read your calendars",
    GRAPH + "User.Read": "Sign you in and read your profile",
})


def normalize_scopes(raw: str) -> set[str]:
    """Scopes as granted: Graph's short names made full (`User.Read` is Graph's)."""
    return {s if s.lower() in RESERVED or "://" in s else GRAPH + s for s in raw.split()}


def graph_permissions(scopes: frozenset[str]) -> set[str]:
    """The Graph permissions among `scopes`, lower-cased (Graph compares them so)."""
    return {s[len(GRAPH):].lower() for s in scopes if s.startswith(GRAPH)}


def granted_scope(scopes: frozenset[str]) -> str:
    """A token response's `scope`: Graph's permissions by their short names (msal matches
    them against what it asked for), then the OpenID ones; never offline_access."""
    graph = sorted(s[len(GRAPH):] for s in scopes if s.startswith(GRAPH))
    return " ".join(graph + sorted(s for s in scopes & RESERVED if s != "offline_access"))


def _error_page(status: int, aadsts: int, detail: str) -> Response:
    body = (f"<!doctype html><title>Sign in to your account</title>"
            f"<h1>Sorry, but we're having trouble signing you in.</h1>"
            f"<p><b>AADSTS{aadsts}</b>: {html.escape(detail)}</p>")
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _answer(redirect_uri: str, mode: str, params: dict[str, str]) -> Response:
    """Send the browser back: a redirect with a query, or (`response_mode=form_post`) a
    page whose form posts the parameters to the redirect URI as soon as it loads."""
    if mode != "form_post":
        return redirect(with_query(redirect_uri, params))
    fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in params.items())
    body = (f'<!doctype html><html><head><title>Working...</title></head>'
            f'<body onload="document.forms[0].submit()"><form method="POST" '
            f'name="hiddenform" action="{html.escape(redirect_uri)}">{fields}'
            f'<noscript><p>Script is disabled. Click Submit to continue.</p>'
            f'<input type="submit" value="Submit"></noscript></form></body></html>')
    return Response(body, content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


def _admits(tenant: str, account: MsAccount) -> bool:
    """Whether an authority's tenant segment lets `account` sign in: `common` anyone,
    `consumers` personal accounts, `organizations` work ones, a tenant id its own."""
    personal = account.tid == CONSUMER_TENANT
    return {"common": True, "consumers": personal,
            "organizations": not personal}.get(tenant.lower(), tenant == account.tid)


class Identity:
    def __init__(self, state: MsState, *, auto_consent: bool = False) -> None:
        self.state = state
        self.auto_consent = auto_consent
        self.on_consent: oauth.ConsentHook | None = None
        # The zone the consent page names (the demo's meetings are there) until the
        # browser's own script says which zone it is in.
        self.time_zone = "UTC"

    # the authorization endpoint

    def authorize(self, request: Request, tenant: str) -> Response:
        args = request.values
        with self.state.lock:
            checked = self._check(args)
            if isinstance(checked, Response):
                return checked
            redirect_uri, account = checked
            if not _admits(tenant, account):
                return _error_page(400, 50020, f"User account '{account.email}' from identity "
                                               f"provider does not exist in tenant '{tenant}' "
                                               "and cannot access the application.")
            back = {"state": args["state"]} if "state" in args else {}
            prompt = args.get("prompt") or ""
            requested = normalize_scopes(args["scope"])
            mode = args.get("response_mode") or "query"
            if prompt == "none" and not self.state.consented(account.email, args["client_id"],
                                                             requested):
                return _answer(redirect_uri, mode, {
                    "error": "consent_required", **back, "error_description":
                    "AADSTS65001: The user or administrator has not consented to use the "
                    "application."})
            decision = args.get("decision") if request.method == "POST" else None
            if decision == "deny":
                return _answer(redirect_uri, mode, {
                    "error": "access_denied", **back, "error_description":
                    "AADSTS65004: User declined to consent to access the app."})
            if decision != "allow" and not self.auto_consent and args.get("auto") != "1" \
                    and prompt != "none":
                return consent.page(request.path, args, account.email, account.name,
                                    requested, self.time_zone, MICROSOFT)
            code = self._issue_code(args, account, redirect_uri, requested)
        if decision == "allow" and self.on_consent is not None:
            self.on_consent(account.email, args.get("time_zone") or "")
        return _answer(redirect_uri, mode, {"code": code, **back,
                                            "session_state": str(uuid.uuid4())})

    def _check(self, args: MultiDict[str, str]) -> Response | tuple[str, MsAccount]:
        client_id = args.get("client_id")
        if not client_id:
            return _error_page(400, 900144, "The request body must contain the following "
                                            "parameter: 'client_id'.")
        client = self.state.client(client_id)
        if client is None:
            return _error_page(400, 700016, f"Application with identifier '{client_id}' was "
                                            "not found in the directory.")
        redirect_uri = args.get("redirect_uri") or ""
        if not redirect_uri or (client.redirect_uris is not None
                                and redirect_uri not in client.redirect_uris):
            return _error_page(400, 50011, f"The redirect URI '{redirect_uri}' specified in the "
                                           "request does not match the redirect URIs configured "
                                           f"for the application '{client_id}'.")
        problem = ""
        if args.get("response_type") != "code":
            error = "unsupported_response_type"
            problem = (f"AADSTS700054: response_type '{args.get('response_type', '')}' is not "
                       "enabled for the application.")
        elif not (args.get("scope") or "").strip():
            error = "invalid_request"
            problem = ("AADSTS900144: The request body must contain the following parameter: "
                       "'scope'.")
        elif args.get("code_challenge_method", "plain") not in ("S256", "plain"):
            error = "invalid_request"
            problem = "AADSTS501491: Invalid size of Code_Challenge parameter."
        if problem:
            back = {"state": args["state"]} if "state" in args else {}
            return _answer(redirect_uri, args.get("response_mode") or "query",
                           {"error": error, "error_description": problem, **back})
        hint = (args.get("login_hint") or "").lower()
        accounts = self.state.accounts
        account = accounts.get(hint) or next(iter(accounts.values()), None)
        if account is None:
            return _error_page(400, 50020, "The emulator has no Microsoft account.")
        return redirect_uri, account

    def _issue_code(self, args: MultiDict[str, str], account: MsAccount, redirect_uri: str,
                    requested: set[str]) -> str:
        grant = self.state.grant(account.email, args["client_id"])
        grant.scopes |= requested
        challenge = args.get("code_challenge") or ""
        code = "M.C5" + secrets.token_urlsafe(48)
        self.state.codes[code] = AuthCode(
            grant=grant, client_id=args["client_id"], redirect_uri=redirect_uri,
            scopes=frozenset(requested), challenge=challenge,
            challenge_method=(args.get("code_challenge_method") or "plain") if challenge else "",
            issue_refresh_token="offline_access" in requested, nonce=args.get("nonce") or "",
            expires_at=time.time() + CODE_LIFETIME)
        return code

    # the token endpoint

    def token(self, request: Request, tenant: str) -> dict[str, Any]:
        form = request.form
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if request.authorization is not None and request.authorization.type == "basic":
            client_id = request.authorization.username or client_id
            secret = request.authorization.password or secret
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise IdentityError(400, "unsupported_grant_type", 70003,
                                f"The app requested an unsupported grant type '{grant_type}'.")
        with self.state.lock:
            client = self.state.client(client_id)
            if client is None:
                raise IdentityError(400, "unauthorized_client", 700016,
                                    f"Application with identifier '{client_id}' was not found "
                                    "in the directory.")
            if client.secret and not secrets.compare_digest(secret, client.secret):
                raise IdentityError(401, "invalid_client", 7000215,
                                    "Invalid client secret provided. Ensure the secret being "
                                    "sent in the request is the client secret value, not the "
                                    "client secret ID, for a secret added to app "
                                    f"'{client_id}'.")
            if grant_type == "authorization_code":
                grant, scopes, nonce = self._redeem(form, client_id)
            else:
                grant, scopes, nonce = self._refresh(form, client_id)
            return self._tokens(request, grant, scopes, nonce,
                                client_info=form.get("client_info") == "1")

    def _redeem(self, form: MultiDict[str, str],
                client_id: str) -> tuple[ConsentRecord, frozenset[str], str]:
        code = self.state.codes.get(form.get("code", ""))
        if code is not None and code.used:
            raise IdentityError(400, "invalid_grant", 54005,
                                "OAuth2 Authorization code was already redeemed, please retry "
                                "with a new valid code or use an existing refresh token.")
        if (code is None or code.expires_at < time.time() or code.client_id != client_id
                or code.grant.revoked):
            raise IdentityError(400, "invalid_grant", 70000,
                                "The provided value for the 'code' parameter is not valid.")
        if form.get("redirect_uri") != code.redirect_uri:
            raise IdentityError(400, "invalid_grant", 50148,
                                "The redirect_uri does not match the one used to get the code.")
        if code.challenge:
            verifier = form.get("code_verifier") or ""
            if not pkce_matches(verifier, code.challenge, code.challenge_method):
                raise IdentityError(400, "invalid_grant", 501481,
                                    "The Code_Verifier does not match the code_challenge "
                                    "supplied in the authorization request.")
        code.used = True
        return code.grant, code.scopes, code.nonce

    def _refresh(self, form: MultiDict[str, str],
                 client_id: str) -> tuple[ConsentRecord, frozenset[str], str]:
        token = self.state.refresh_tokens.get(form.get("refresh_token", ""))
        if token is None:
            raise IdentityError(400, "invalid_grant", 9002313,
                                "Invalid request. Request is malformed or invalid.")
        if token.grant.revoked:
            raise IdentityError(400, "invalid_grant", 50173,
                                "The provided grant has expired due to it being revoked, a "
                                "fresh auth token is needed. The user might have changed or "
                                "reset their password.")
        if token.grant.client_id != client_id:
            raise IdentityError(400, "invalid_grant", 70000,
                                "The refresh token was issued to a different client.")
        asked = normalize_scopes(form.get("scope", "")) or set(token.scopes)
        return token.grant, frozenset(asked & token.grant.scopes | (asked & RESERVED)), ""

    def access_token(self, grant: ConsentRecord, scopes: frozenset[str]) -> str:
        """A signed access token for Graph, as the identity platform issues (a JWT whose
        audience is Graph); Graph's handlers look it up rather than verify it."""
        state = self.state
        account = state.accounts[grant.email]
        now = int(time.time())
        access = oauth.id_token({
            "aud": GRAPH_APP_ID, "iss": f"https://sts.windows.net/{account.tid}/",
            "iat": now, "nbf": now, "exp": now + state.token_lifetime, "appid": grant.client_id,
            "scp": " ".join(sorted(graph_permissions(scopes) | (scopes & RESERVED))),
            "oid": account.oid, "tid": account.tid, "upn": account.email, "ver": "1.0",
            "uti": secrets.token_urlsafe(16)})
        state.access_tokens[access] = Token(grant, scopes, time.time() + state.token_lifetime)
        return access

    def _tokens(self, request: Request, grant: ConsentRecord,
                scopes: frozenset[str], nonce: str, *, client_info: bool) -> dict[str, Any]:
        state = self.state
        account = state.accounts[grant.email]
        now = int(time.time())
        access = self.access_token(grant, scopes)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": granted_scope(scopes),
            "expires_in": state.token_lifetime, "ext_expires_in": state.token_lifetime,
            "access_token": access}
        if "offline_access" in scopes:
            body["refresh_token"] = state.issue_refresh_token(grant, scopes)
        if "openid" in scopes:
            body["id_token"] = oauth.id_token(self._claims(request, account, grant, scopes,
                                                           nonce, now))
        if client_info:
            body["client_info"] = b64url(json.dumps({"uid": account.oid,
                                                     "utid": account.tid}).encode())
        return body

    @staticmethod
    def _claims(request: Request, account: MsAccount, grant: ConsentRecord,
                scopes: frozenset[str], nonce: str, now: int) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "ver": "2.0", "iss": f"{request.host_url.rstrip('/')}/{account.tid}/v2.0",
            "sub": b64url(hashlib.sha256(f"{account.oid}|{grant.client_id}".encode())
                          .digest())[:43],
            "aud": grant.client_id, "exp": now + 3600, "iat": now, "nbf": now,
            "oid": account.oid, "tid": account.tid, "preferred_username": account.email,
            "uti": secrets.token_urlsafe(16)}
        if "profile" in scopes:
            claims["name"] = account.name
        if "email" in scopes:
            claims["email"] = account.email
            # Whether the email's domain is verified as its owner's (an optional claim).
            claims["xms_edov"] = account.email_verified
        if nonce:
            claims["nonce"] = nonce
        return claims

