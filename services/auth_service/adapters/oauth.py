"""An OAuth 2.0 authorization-code client with PKCE (RFC 7636) for one
provider: the authorize URL, the code exchange, and the user-info call.
Yandex ID first; every URL is configurable, so tests run a stand-in provider."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx


class ProviderRejectedError(Exception):
    """The provider refused the code or the token (invalid_grant and the like)."""


class ProviderUnavailableError(Exception):
    """The provider did not answer, or answered something unusable."""


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    userinfo_url: str
    redirect_uri: str
    scope: str


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    subject: str
    email: str | None


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OAuthProvider:
    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self._http = http

    def authorize_url(self, state: str, code_challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if self.config.scope:
            query["scope"] = self.config.scope
        return f"{self.config.authorize_url}?{urlencode(query)}"

    async def identity(self, code: str, code_verifier: str) -> ExternalIdentity:
        """Exchanges the code (once: providers refuse a replay) and reads who it is."""
        token = await self._exchange(code, code_verifier)
        try:
            # Yandex ID wants `OAuth <token>`; RFC 6750 providers take `Bearer`.
            reply = await self._http.get(
                self.config.userinfo_url,
                params={"format": "json"},
                headers={"Authorization": f"OAuth {token}"},
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"user info: {exc!r}") from exc
        if reply.status_code in (400, 401, 403):
            raise ProviderRejectedError(f"user info refused: {reply.status_code}")
        if reply.status_code != httpx.codes.OK:
            raise ProviderUnavailableError(f"user info: HTTP {reply.status_code}")
        info = reply.json()
        subject = info.get("id") or info.get("sub")
        if not subject:
            raise ProviderUnavailableError("user info carries no id")
        email = info.get("default_email") or info.get("email")
        return ExternalIdentity(str(subject), str(email) if email else None)

    async def _exchange(self, code: str, code_verifier: str) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": code_verifier,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
        }
        try:
            reply = await self._http.post(self.config.token_url, data=form)
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"token: {exc!r}") from exc
        if reply.status_code in (400, 401):
            raise ProviderRejectedError(f"code refused: {reply.text[:200]}")
        if reply.status_code != httpx.codes.OK:
            raise ProviderUnavailableError(f"token: HTTP {reply.status_code}")
        token = reply.json().get("access_token")
        if not token:
            raise ProviderUnavailableError("token reply carries no access_token")
        return str(token)


class OAuthStates:
    """Pending sign-ins in Redis, keyed by `state`, each usable once and for a
    few minutes: what the callback needs (the PKCE verifier, who is linking)."""

    _PREFIX = "auth:oauth_state:"

    def __init__(self, redis: Any, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def put(self, state: str, data: dict[str, str]) -> None:
        await self._redis.set(self._PREFIX + state, json.dumps(data), ex=self._ttl)

    async def take(self, state: str) -> dict[str, str] | None:
        raw = await self._redis.getdel(self._PREFIX + state)
        return dict(json.loads(raw)) if raw else None
