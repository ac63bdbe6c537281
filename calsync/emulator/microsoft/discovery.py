"""The identity platform's discovery documents: the OpenID configuration an authority
(`<host>/<tenant>`) publishes, which msal reads for its endpoints, and the signing keys."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from calsync.emulator import oauth
from calsync.emulator.common import b64url

MULTI_TENANT = ("common", "organizations", "consumers")


def configuration(request: Request, tenant: str, browser_base: str = "") -> dict[str, Any]:
    """The v2.0 OpenID configuration of `<host>/<tenant>`; a multi-tenant authority's
    issuer keeps Microsoft's `{tenantid}` placeholder. `browser_base` moves the
    authorization endpoint (the one page a browser visits) to a plain-HTTP front."""
    base = request.host_url.rstrip("/")
    issuer_tenant = "{tenantid}" if tenant in MULTI_TENANT else tenant
    return {
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                  "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token",
                                     "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{browser_base or base}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True, "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "preferred_username",
                             "name", "tid", "ver", "email", "oid"],
        "kerberos_endpoint": f"{base}/{tenant}/kerberos",
        "tenant_region_scope": None, "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }

def keys(request: Request, tenant: str) -> dict[str, Any]:
    """The JWKS that verifies id_tokens: one key for every tenant (the process's, which
    the Google emulator signs with too)."""
    key, kid = oauth.signing_key()
    numbers = key.public_key().public_numbers()

    def as_b64(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"keys": [{"kty": "RSA", "use": "sig", "kid": kid, "n": as_b64(numbers.n),
                      "e": as_b64(numbers.e)}]}
