"""The OpenID Connect relying party, with authlib: discovery, the authorization code flow with
PKCE (S256), state and nonce, the code exchange with the client secret, and the ID token checked
against the issuer's JWKS (signature, ``iss``, ``aud``/``azp``, ``exp``/``iat``, ``nonce``,
``at_hash``). Every failure is an SsoRefused naming what failed, for the audit trail."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from balise.accounts.ports import PendingSignIn, SsoRefused, VerifiedIdentity
from balise.settings import OidcProvider

DISCOVERY_TTL_SECONDS = 3600
LEEWAY_SECONDS = 60
TIMEOUT_SECONDS = 10.0


class OidcRelyingParty:
    def __init__(self, provider: OidcProvider) -> None:
        self.provider = provider
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(self.provider.client_id, self.provider.secret(), scope=self.provider.scopes,
                            redirect_uri=redirect_uri, code_challenge_method="S256", timeout=TIMEOUT_SECONDS,
                            follow_redirects=False)

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._fetched_at > DISCOVERY_TTL_SECONDS:
                url = f"{self.provider.issuer}/.well-known/openid-configuration"
                try:
                    found = httpx.get(url, timeout=TIMEOUT_SECONDS, follow_redirects=False)
                    found.raise_for_status()
                    metadata = found.json()
                except (httpx.HTTPError, ValueError) as exc:
                    raise SsoRefused(f"discovery failed: {exc.__class__.__name__}") from None
                # OpenID Connect Discovery 1.0 §4.3: the document names the issuer it was asked for.
                if metadata.get("issuer", "").rstrip("/") != self.provider.issuer:
                    raise SsoRefused(f"discovery names issuer {metadata.get('issuer')!r}, not the configured one")
                self._metadata, self._jwks, self._fetched_at = metadata, None, time.monotonic()
            return self._metadata

    def _key_set(self, force: bool = False) -> KeySet:
        metadata = self.metadata()
        if self._jwks is None or force:
            try:
                found = httpx.get(metadata["jwks_uri"], timeout=TIMEOUT_SECONDS, follow_redirects=False)
                found.raise_for_status()
                self._jwks = found.json()
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                raise SsoRefused(f"JWKS fetch failed: {exc.__class__.__name__}") from None
        return KeySet.import_key_set(self._jwks)

    def start(self, redirect_uri: str) -> tuple[str, PendingSignIn]:
        """The provider's authorization URL to send the browser to, and what to keep until it returns."""
        metadata = self.metadata()
        pending = PendingSignIn(provider=self.provider.name, state=secrets.token_urlsafe(32),
                                nonce=secrets.token_urlsafe(32), code_verifier=secrets.token_urlsafe(64),
                                redirect_uri=redirect_uri)
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=pending.state,
                                                     nonce=pending.nonce, code_verifier=pending.code_verifier)
        return url, pending

    def finish(self, pending: PendingSignIn, code: str) -> VerifiedIdentity:
        """Exchange the code and check the ID token; SsoRefused says what failed."""
        metadata = self.metadata()
        try:
            with self._client(pending.redirect_uri) as client:
                token = client.fetch_token(metadata["token_endpoint"], grant_type="authorization_code", code=code,
                                           code_verifier=pending.code_verifier)
        except Exception as exc:  # noqa: BLE001 - authlib's OAuthError, httpx errors, a non-JSON answer
            error = getattr(exc, "error", None) or exc.__class__.__name__
            raise SsoRefused(f"the provider refused the code ({error})") from None
        id_token = token.get("id_token")
        if not id_token:
            raise SsoRefused("the token response has no ID token")
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in algorithms if a != "none"]
        registry = JWSRegistry(algorithms=algorithms)
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(), registry=registry)
            except InvalidKeyIdError:  # the issuer rotated its keys
                decoded = jwt.decode(id_token, self._key_set(force=True), registry=registry)
            audience = decoded.claims.get("aud")
            audiences = audience if isinstance(audience, list) else [audience]
            if self.provider.client_id not in audiences:
                raise SsoRefused(f"ID token refused: aud {audience!r} is not this client")
            claims = CodeIDToken(decoded.claims, decoded.header,
                                 {"iss": {"essential": True, "values": [self.provider.issuer, self.provider.issuer + "/"]},
                                  "sub": {"essential": True}},
                                 {"nonce": pending.nonce, "client_id": self.provider.client_id,
                                  "access_token": token.get("access_token")})
            claims.validate(now=int(time.time()), leeway=LEEWAY_SECONDS)
        except SsoRefused:
            raise
        except (JoseError, ValueError) as exc:
            raise SsoRefused(f"ID token refused: {_describe(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - authlib.jose claim errors
            raise SsoRefused(f"ID token refused: {_describe(exc)}") from None
        return VerifiedIdentity(issuer=self.provider.issuer, subject=str(claims["sub"]), claims=dict(claims))


def _describe(exc: Exception) -> str:
    error = getattr(exc, "error", None)
    description = getattr(exc, "description", None) or str(exc)
    return f"{error}: {description}" if error else f"{exc.__class__.__name__}: {description}"
