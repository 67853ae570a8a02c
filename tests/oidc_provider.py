"""A small OpenID Connect provider on loopback for the single sign-on tests, built from authlib's
server parts (the authorization code grant with PKCE and the OpenID Connect extension): real
discovery, JWKS, authorization codes that work once, client authentication and RS256-signed ID
tokens. The test decides who "signs in" at the provider (``provider.user``) and may make the
provider misbehave the ways a real one can be misconfigured or attacked: an ID token for another
audience (``audience``), an expired one (``lifetime`` negative), a token signed by another key
(``sign_with_other_key``)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.servers import free_port, wait_for


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in ("openid", "profile", "email", "groups"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict[str, Any]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Request(OAuth2Request):
    def __init__(self, method: str, uri: str, headers: Any, args: dict[str, str], form: dict[str, str]) -> None:
        super().__init__(method, uri, headers=headers)
        self._args, self._form = args, form
        self.payload = BasicOAuth2Payload({**args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class Provider:
    """The provider's state and knobs; ``issuer`` is its base URL once it runs."""

    def __init__(self) -> None:
        self.issuer = ""
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.user: dict[str, Any] = {}
        self.audience: str | None = None      # None: the client's id
        self.lifetime = 300                    # seconds; negative gives an expired ID token
        self.sign_with_other_key = False
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.token_requests = 0


def _server(provider: Provider) -> AuthorizationServer:
    class Server(AuthorizationServer):
        def query_client(self, client_id: str) -> Client | None:
            return provider.clients.get(client_id)

        def save_token(self, token: dict, request: Any) -> None:
            pass

        def create_oauth2_request(self, request: Any) -> OAuth2Request:
            return request

        def create_json_request(self, request: Any) -> Any:
            return request

        def handle_response(self, status: int, body: Any, headers: Any) -> Response:
            headers = dict(headers)
            if status in (301, 302, 303) and "Location" in headers:
                return RedirectResponse(headers["Location"], status_code=302)
            return JSONResponse(body, status_code=status, headers={k: v for k, v in headers.items()
                                                                   if k.lower() != "content-type"})

        def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
            pass

    class Grant(AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code: str, request: Any) -> None:
            data = request.payload.data
            provider.codes[code] = Code(code, request.client.get_client_id(), data.get("redirect_uri"),
                                        request.payload.scope, dict(request.user), data.get("nonce"),
                                        data.get("code_challenge"), data.get("code_challenge_method"))

        def query_authorization_code(self, code: str, client: Client) -> Code | None:
            found = provider.codes.get(code)
            return found if found is not None and found.client_id == client.get_client_id() else None

        def delete_authorization_code(self, authorization_code: Code) -> None:
            provider.codes.pop(authorization_code.code, None)  # a code works once

        def authenticate_user(self, authorization_code: Code) -> dict[str, Any]:
            return authorization_code.user

    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce: str, request: Any) -> bool:
            return any(c.nonce == nonce for c in provider.codes.values())

        def resolve_client_private_key(self, client: Client) -> Any:
            return provider.other_key if provider.sign_with_other_key else provider.key

        def get_client_algorithm(self, client: Client) -> str:
            return "RS256"

        def get_encode_header(self, client: Client) -> dict[str, str]:
            return {"alg": "RS256", "kid": "test-key"}

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            now = int(time.time())
            return {"iss": provider.issuer, "aud": [provider.audience or client.get_client_id()],
                    "iat": now if provider.lifetime > 0 else now + provider.lifetime - 60,
                    "exp": now + provider.lifetime}

        def generate_user_info(self, user: dict[str, Any], scope: str) -> UserInfo:
            return UserInfo(**user)

    server = Server()
    server.register_token_generator("default", BearerTokenGenerator(
        access_token_generator=lambda *args, **kwargs: secrets.token_urlsafe(32)))
    server.register_grant(Grant, [CodeChallenge(required=True), IdToken(require_nonce=True)])
    return server


def _app(provider: Provider) -> Starlette:
    server = _server(provider)

    async def discovery(request: Request) -> Response:
        base = provider.issuer
        return JSONResponse({
            "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks", "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })

    async def jwks(request: Request) -> Response:
        return JSONResponse({"keys": [provider.key.as_dict(private=False)]})

    async def authorize(request: Request) -> Response:
        # The person signs in at the provider: here, the user the test chose.
        oauth = _Request("GET", str(request.url), request.headers, dict(request.query_params), {})
        return server.create_authorization_response(oauth, grant_user=provider.user)

    async def token(request: Request) -> Response:
        provider.token_requests += 1
        form = dict(parse_qsl((await request.body()).decode()))
        oauth = _Request("POST", str(request.url), request.headers, {}, form)
        return server.create_token_response(oauth)

    return Starlette(routes=[
        Route("/.well-known/openid-configuration", discovery), Route("/jwks", jwks),
        Route("/authorize", authorize), Route("/token", token, methods=["POST"]),
    ])


@contextmanager
def running_provider() -> Iterator[Provider]:
    """The provider on 127.0.0.1 (plain HTTP: loopback only, development settings allow it)."""
    import os

    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # the provider's own check of http://
    provider = Provider()
    port = free_port()
    provider.issuer = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(_app(provider), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30), "the OIDC provider did not start"
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(30)
