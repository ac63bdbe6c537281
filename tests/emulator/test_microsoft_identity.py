"""The Microsoft emulator's identity platform, driven by the real msal over TLS with the
emulator's own CA: discovery, PKCE, the consent page, tokens, refresh and revocation."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests

from calsync.emulator.microsoft import MicrosoftEmulator
from tests.servers.microsoft import (
    CLIENT_ID,
    CLIENT_SECRET,
    EMAIL,
    REDIRECT_URI,
    SCOPES,
    consent,
    graph,
    msal_app,
    running,
)

# msal recommends form_post over query; both are what Microsoft supports.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post':UserWarning")


def test_tls_is_verified_against_the_emulators_ca_only(microsoft: MicrosoftEmulator) -> None:
    url = microsoft.authority() + "/v2.0/.well-known/openid-configuration"
    config = requests.get(url, verify=microsoft.ca_path, timeout=5).json()
    assert config["authorization_endpoint"] == microsoft.authority() + "/oauth2/v2.0/authorize"
    assert config["token_endpoint"] == microsoft.authority() + "/oauth2/v2.0/token"
    assert config["issuer"] == f"{microsoft.base_url}/{{tenantid}}/v2.0"
    localhost = url.replace("127.0.0.1", "localhost")
    assert requests.get(localhost, verify=microsoft.ca_path, timeout=5).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):  # the system's CAs don't know it
        requests.get(url, verify=True, timeout=5)


def test_code_flow_with_pkce_consent_and_id_token(microsoft: MicrosoftEmulator) -> None:
    app = msal_app(microsoft)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, login_hint=EMAIL)
    asked = parse_qs(urlsplit(flow["auth_uri"]).query)
    assert asked["code_challenge_method"] == ["S256"]
    result = app.acquire_token_by_auth_code_flow(flow, consent(microsoft, flow["auth_uri"]))
    assert "error" not in result, result
    claims = result["id_token_claims"]
    assert claims["preferred_username"] == EMAIL and claims["email"] == EMAIL
    # msal sends the nonce's SHA-256 and checks the id_token carries what it sent
    assert claims["aud"] == CLIENT_ID and claims["nonce"] == asked["nonce"][0]
    assert claims["tid"] and claims["oid"] and claims["ver"] == "2.0"
    assert result["refresh_token"] and result["token_type"] == "Bearer"
    assert {"Calendars.ReadWrite", "User.Read", "email"} <= set(result["scope"].split())
    me = graph(microsoft, "GET", "me", result["access_token"]).json()
    assert me["userPrincipalName"] == EMAIL and me["id"] == claims["oid"]
    assert me["displayName"] == "Ann Example"
    # msal keeps the account it signed in (keyed by Microsoft's client_info), and finds
    # its token again without a request
    [account] = app.get_accounts()
    assert account["username"] == EMAIL
    asked = len(microsoft.requests)
    silent = app.acquire_token_silent(SCOPES, account=account)
    assert silent is not None and silent["access_token"] == result["access_token"]
    assert len(microsoft.requests) == asked


def test_code_flow_with_form_post(microsoft: MicrosoftEmulator) -> None:
    app = msal_app(microsoft)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI,
                                       response_mode="form_post")
    page = requests.get(flow["auth_uri"] + "&auto=1", verify=microsoft.ca_path, timeout=5)
    assert page.status_code == 200 and f'action="{REDIRECT_URI}"' in page.text
    posted = {html.unescape(name): html.unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    assert set(posted) == {"code", "state", "session_state"}
    result = app.acquire_token_by_auth_code_flow(flow, posted)
    assert result.get("access_token"), result


def test_a_code_works_once_and_only_with_its_verifier(microsoft: MicrosoftEmulator) -> None:
    app = msal_app(microsoft)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    answer = consent(microsoft, flow["auth_uri"])
    token_uri = microsoft.authority() + "/oauth2/v2.0/token"
    form = {"grant_type": "authorization_code", "code": answer["code"], "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "redirect_uri": REDIRECT_URI,
            "code_verifier": "not-the-verifier"}
    wrong = requests.post(token_uri, data=form, verify=microsoft.ca_path, timeout=5)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert wrong.json()["error_codes"] == [501481]
    assert app.acquire_token_by_auth_code_flow(flow, answer).get("access_token")
    again = requests.post(token_uri, data={**form, "code_verifier": flow["code_verifier"]},
                          verify=microsoft.ca_path, timeout=5)
    assert again.json()["error"] == "invalid_grant"
    assert again.json()["error_description"].startswith("AADSTS54005:")


def test_refresh_and_revocation(microsoft: MicrosoftEmulator) -> None:
    app = msal_app(microsoft)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    first = app.acquire_token_by_auth_code_flow(flow, consent(microsoft, flow["auth_uri"]))
    refreshed = app.acquire_token_by_refresh_token(first["refresh_token"], SCOPES)
    assert refreshed["access_token"] != first["access_token"]
    assert graph(microsoft, "GET", "me/calendars", refreshed["access_token"]).status_code == 200

    microsoft.revoke_grant(EMAIL)
    refused = app.acquire_token_by_refresh_token(refreshed["refresh_token"], SCOPES)
    assert refused["error"] == "invalid_grant"
    assert refused["error_description"].startswith("AADSTS50173:")
    answer = graph(microsoft, "GET", "me/calendars", refreshed["access_token"])
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_consent_denied_and_bad_clients(microsoft: MicrosoftEmulator) -> None:
    app = msal_app(microsoft)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    denied = consent(microsoft, flow["auth_uri"], decision="deny")
    assert denied["error"] == "access_denied" and denied["state"] == flow["state"]
    assert denied["error_description"].startswith("AADSTS65004:")

    result = msal_app(microsoft, secret="wrong").acquire_token_by_auth_code_flow(
        flow, consent(microsoft, flow["auth_uri"]))
    assert result["error"] == "invalid_client" and 7000215 in result["error_codes"]

    mismatch = requests.get(flow["auth_uri"].replace("127.0.0.1%3A5000", "evil.example"),
                            verify=microsoft.ca_path, timeout=5, allow_redirects=False)
    assert mismatch.status_code == 400 and "AADSTS50011" in mismatch.text


def test_graph_refuses_missing_expired_and_narrow_tokens(microsoft: MicrosoftEmulator) -> None:
    empty = graph(microsoft, "GET", "me", "")
    assert empty.status_code == 401
    assert empty.json()["error"]["message"] == "Access token is empty."
    tokens = microsoft.issue_tokens(EMAIL, CLIENT_ID)
    microsoft.expire_access_tokens()
    assert graph(microsoft, "GET", "me", tokens["access_token"]).status_code == 401
    narrow = microsoft.issue_tokens(EMAIL, CLIENT_ID, scopes=("User.Read", "openid"))
    answer = graph(microsoft, "GET", "me/calendars", narrow["access_token"])
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "ErrorAccessDenied"
    assert graph(microsoft, "GET", "me", narrow["access_token"]).status_code == 200


def test_the_tenant_segment_admits_its_accounts(microsoft: MicrosoftEmulator) -> None:
    microsoft.add_account("pat@outlook.example", personal=True)
    personal = msal_app(microsoft, tenant="consumers")
    flow = personal.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI,
                                            login_hint="pat@outlook.example")
    result = personal.acquire_token_by_auth_code_flow(flow, consent(microsoft, flow["auth_uri"]))
    assert result["id_token_claims"]["tid"] == "9188040d-6c67-4c5b-b112-36a304b66dad"
    work = msal_app(microsoft, tenant="organizations")
    flow = work.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI,
                                        login_hint="pat@outlook.example")
    page = requests.get(flow["auth_uri"], verify=microsoft.ca_path, timeout=5)
    assert page.status_code == 400 and "AADSTS50020" in page.text


def test_an_unavailable_token_endpoint(microsoft: MicrosoftEmulator) -> None:
    tokens = microsoft.issue_tokens(EMAIL, CLIENT_ID)
    microsoft.fail_next(1, 503, path_contains="/oauth2/v2.0/token", retry_after=2)
    token_uri = microsoft.authority() + "/oauth2/v2.0/token"
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    busy = requests.post(token_uri, data=form, verify=microsoft.ca_path, timeout=5)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert busy.json()["error"] == "temporarily_unavailable"
    # msal raises on a 5xx from the token endpoint rather than answering an error dict
    microsoft.fail_next(1, 503, path_contains="/oauth2/v2.0/token")
    with pytest.raises(msal.exceptions.MsalServiceError):
        msal_app(microsoft).acquire_token_by_refresh_token(tokens["refresh_token"], SCOPES)
    assert requests.post(token_uri, data=form, verify=microsoft.ca_path,
                         timeout=5).json()["access_token"]


def test_a_plain_http_front_for_browsers_serves_the_consent_page_only() -> None:
    with running(browser_port=0) as microsoft:
        front = microsoft.state.browser_base
        assert front.startswith("http://127.0.0.1:")
        app = msal_app(microsoft)
        flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
        assert flow["auth_uri"].startswith(f"{front}/common/oauth2/v2.0/authorize?")
        page = requests.get(flow["auth_uri"], timeout=5)  # no TLS: nothing to verify
        assert page.status_code == 200 and "Allow" in page.text
        result = app.acquire_token_by_auth_code_flow(flow, consent(microsoft, flow["auth_uri"]))
        assert result.get("access_token"), result  # redeemed over TLS, as always
        for path in ("/common/oauth2/v2.0/token", "/v1.0/me",
                     "/common/v2.0/.well-known/openid-configuration"):
            assert requests.post(front + path, timeout=5).status_code == 404
