"""Verifies an access token: signature by a JWKS key, issuer, audience, expiry,
required claims, then the deny-list. Only the key decides the algorithm, so a
token cannot choose `none` or an HMAC keyed with the public key."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Protocol

import jwt
from cachetools import LRUCache

from movies_auth.jwks import JwksCache
from movies_auth.principal import Principal

REQUIRED_CLAIMS: Final = ("iss", "aud", "sub", "sid", "iat", "exp", "jti")


class RevocationCheck(Protocol):
    """The deny-list as the verifier needs it (`DenyList` in production)."""

    async def is_revoked(self, session_id: str) -> bool: ...


class InvalidTokenError(Exception):
    """The token proves nothing; `reason` is an UPPER_SNAKE code for clients."""

    def __init__(self, message: str, reason: str = "INVALID_TOKEN") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class TokenVerifier:
    def __init__(
        self,
        jwks: JwksCache,
        denylist: RevocationCheck,
        issuer: str,
        audience: str,
        leeway_seconds: float = 0.0,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jwks = jwks
        self._denylist = denylist
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._clock = clock
        # A client sends the same token for minutes: the signature and claims
        # of an exact token string are checked once, its expiry on every call,
        # the deny-list on every call. 0 turns the cache off.
        self._verified: LRUCache[str, Principal] | None = (
            LRUCache(maxsize=cache_size) if cache_size else None
        )

    async def verify(self, token: str) -> Principal:
        cached = self._verified.get(token) if self._verified is not None else None
        if cached is not None:
            if cached.expires_at + self._leeway <= self._clock():
                raise InvalidTokenError("the access token has expired", "TOKEN_EXPIRED")
            principal = cached
        else:
            principal = await self._verify_signed(token)
            if self._verified is not None:
                self._verified[token] = principal
        if await self._denylist.is_revoked(principal.session_id):
            raise InvalidTokenError("the session of this access token has ended", "SESSION_REVOKED")
        return principal

    async def _verify_signed(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("the access token is malformed") from exc
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("the access token names no key (kid)")
        key = await self._jwks.get(kid)
        if key is None:
            raise InvalidTokenError("the access token was signed by an unknown key")
        if header.get("alg") != key.algorithm_name:
            raise InvalidTokenError("the access token's algorithm does not match its key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("the access token has expired", "TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"the access token is invalid: {exc}") from exc
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidTokenError("the access token's roles claim is not a list of names")
        return Principal(
            user_id=str(claims["sub"]),
            session_id=str(claims["sid"]),
            roles=frozenset(roles),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
        )
