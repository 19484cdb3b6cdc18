"""A small OpenID Connect provider for the single sign-on tests, run in its own process.

    python -m tests.accounts.oidc_provider --port 8765 --client-id casebridge \
        --client-secret s3cret

It speaks the parts of OpenID Connect Core and Discovery that casebridge uses: discovery,
JWKS, the authorization endpoint (it approves the preset test person at once, without a
page) and the token endpoint (client_secret_basic, authorization code with PKCE S256,
each code used once). ID tokens are signed RS256 with a key made at start-up.

What the next ID token says is set by the test: ``POST /_scenario`` with a JSON object,
whose keys replace the defaults until the next scenario:

- ``sub``, ``claims`` (more claims: names, roles), ``acr``, ``amr``;
- ``aud`` (another audience), ``exp_offset`` (seconds from now; negative: expired),
  ``auth_age`` (seconds since the person authenticated), ``bad_signature`` (signed with
  another key under the same key id), ``nonce`` and ``iss`` (other values than the
  right ones), ``error`` (the authorization endpoint answers with this OAuth error
  instead of a code).

Nothing here is for production; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import secrets
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

REPO = Path(__file__).resolve().parents[2]

DEFAULT_SCENARIO = {
    "sub": "person-1",
    "claims": {},
    "acr": None,
    "amr": None,
    "aud": None,
    "exp_offset": 300,
    "auth_age": 0,
    "bad_signature": False,
    "error": None,
    "nonce": None,
    "iss": None,
}


class Provider:
    def __init__(self, issuer: str, client_id: str, client_secret: str):
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.scenario = dict(DEFAULT_SCENARIO)
        self.codes: dict[str, dict] = {}

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": ["openid", "profile", "email"],
        }

    def jwks(self) -> dict:
        return KeySet([self.key]).as_dict(private=False)

    def authorize(self, query: dict[str, str]) -> tuple[int, dict, dict]:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return 400, {}, {"error": "invalid_request"}
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            return 400, {}, {"error": "invalid_request"}
        answer = {"state": query.get("state", "")}
        if self.scenario["error"]:
            answer["error"] = self.scenario["error"]
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {
                "redirect_uri": redirect_uri,
                "nonce": query.get("nonce"),
                "challenge": query.get("code_challenge", ""),
                "scenario": dict(self.scenario),
                "prompt": query.get("prompt"),
                "max_age": query.get("max_age"),
            }
            answer["code"] = code
        return 302, {"Location": f"{redirect_uri}?{urlencode(answer)}"}, {}

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        if not authorization.startswith("Basic "):
            return 401, {"error": "invalid_client"}
        client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if not verifier or challenge != grant["challenge"]:
            return 400, {"error": "invalid_grant"}
        scenario = grant["scenario"]
        now = int(time.time())
        claims = {
            "iss": scenario["iss"] or self.issuer,
            "sub": scenario["sub"],
            "aud": scenario["aud"] or self.client_id,
            "exp": now + scenario["exp_offset"],
            "iat": now if scenario["exp_offset"] > 0 else now + scenario["exp_offset"] - 60,
            "auth_time": now - scenario["auth_age"],
            **({"nonce": scenario["nonce"] or grant["nonce"]} if grant["nonce"] else {}),
            **({"acr": scenario["acr"]} if scenario["acr"] else {}),
            **({"amr": scenario["amr"]} if scenario["amr"] else {}),
            **scenario["claims"],
        }
        key = self.other_key if scenario["bad_signature"] else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }


def handler_for(provider: Provider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # quiet: the tests read no access log
            pass

        def _send(self, status: int, body: dict | None = None, headers: dict | None = None):
            data = json.dumps(body or {}).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._send(200, provider.metadata())
            elif url.path == "/jwks":
                self._send(200, provider.jwks())
            elif url.path == "/authorize":
                status, headers, body = provider.authorize(query)
                self._send(status, body, headers)
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self):
            url = urlsplit(self.path)
            if url.path == "/token":
                status, body = provider.token(self._form(), self.headers.get("Authorization", ""))
                self._send(status, body, {"Cache-Control": "no-store"})
            elif url.path == "/_scenario":
                length = int(self.headers.get("Content-Length") or 0)
                provider.scenario = {**DEFAULT_SCENARIO, **json.loads(self.rfile.read(length))}
                self._send(200, provider.scenario)
            else:
                self._send(404, {"error": "not_found"})

    return Handler


class Control:
    """The test's handle on a running provider: its address and its next answer."""

    def __init__(self, url: str, client_id: str, client_secret: str):
        self.url = url
        self.client_id = client_id
        self.client_secret = client_secret

    def scenario(self, **values) -> None:
        """What the next ID token says (module docstring); defaults for the rest."""
        values.setdefault("claims", {"groups": ["liaison"], "preferred_username": "kim"})
        response = requests.post(f"{self.url}/_scenario", json=values, timeout=5)
        response.raise_for_status()


@contextlib.contextmanager
def running(client_id: str, client_secret: str):
    """Start the provider in its own process on a free loopback port; stop it after."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "tests.accounts.oidc_provider", "--port", str(port)]
    command += ["--client-id", client_id, "--client-secret", client_secret]
    process = subprocess.Popen(command, cwd=REPO)  # noqa: S603 - this file, by path
    url = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(200):
            try:
                requests.get(f"{url}/.well-known/openid-configuration", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the test provider did not start")
        yield Control(url, client_id, client_secret)
    finally:
        process.terminate()
        process.wait(timeout=10)


def providers_file(url: str, organisations: list[str], *, client_id: str) -> str:
    """A CASEBRIDGE_SSO_FILE for these organisations, all at the provider ``url``; the
    secret is read from CB_TEST_SSO_SECRET."""
    blocks = []
    for code in organisations:
        blocks.append(
            f"""
[[provider]]
organisation = "{code}"
issuer = "{url}"
allow_http = true
client_id = "{client_id}"
client_secret_env = "CB_TEST_SSO_SECRET"
role_claim = "groups"
mfa_acr = ["urn:test:mfa"]
mfa_amr = ["otp", "hwk"]

[provider.roles]
liaison = "security_liaison"
coordinator = "coordinator"
"""
        )
    return "\n".join(blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", default="casebridge")
    parser.add_argument("--client-secret", required=True)
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    provider = Provider(issuer, args.client_id, args.client_secret)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(provider))
    server.serve_forever()


if __name__ == "__main__":
    main()
