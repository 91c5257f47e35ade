"""The signing keys in memory, and access tokens signed with the newest.

Where private keys live, and why: in PostgreSQL (`auth.signing_keys`), each
encrypted with AES-256-GCM under AUTH_KEY_ENCRYPTION_KEY, which comes from the
environment and never touches the database. Every replica of the service and
the `auth keys rotate` command then see the same keys without a shared file
system, a rotation is one transaction, and a database dump or backup alone
cannot sign a token.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.exceptions import InvalidTag

from auth_service.adapters import crypto
from auth_service.adapters.postgres import PostgresStore, StoredKey

log = logging.getLogger(__name__)


class KeyRing:
    """The newest key signs; a retired key stays in the JWKS until the last
    access token it signed has expired (one token lifetime plus leeway)."""

    def __init__(
        self,
        store: PostgresStore,
        kek: bytes,
        access_ttl_seconds: int,
        leeway_seconds: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._kek = kek
        self._grace = timedelta(seconds=access_ttl_seconds + leeway_seconds)
        self._clock = clock
        self._signing: crypto.KeyPair | None = None
        self._keys: list[StoredKey] = []

    async def ensure(self) -> None:
        """Makes the first key on a fresh database, then loads the keys."""
        pair = crypto.generate()
        if await self._store.add_signing_key(self._sealed(pair), only_if_none=True):
            log.info("created the first signing key", extra={"kid": pair.kid})
        await self.reload()

    async def rotate(self) -> str:
        """Adds a key that signs from now on; returns its kid."""
        pair = crypto.generate()
        await self._store.add_signing_key(self._sealed(pair), only_if_none=False)
        pruned = await self._store.prune_signing_keys(self._grace)
        log.info("rotated the signing key", extra={"kid": pair.kid, "pruned": pruned})
        await self.reload()
        return pair.kid

    async def reload(self) -> None:
        keys = await self._store.signing_keys()
        if not keys:
            raise RuntimeError("no signing key: run `auth keys rotate` or start the service")
        newest = keys[0]
        if self._signing is None or self._signing.kid != newest.kid:
            try:
                self._signing = crypto.unseal(
                    newest.kid, newest.private_key, newest.public_jwk, self._kek
                )
            except InvalidTag as exc:
                raise RuntimeError(
                    "AUTH_KEY_ENCRYPTION_KEY does not open the stored signing keys: "
                    "it differs from the one they were sealed with"
                ) from exc
            log.info("signing with key", extra={"kid": newest.kid})
        self._keys = keys

    def signing_key(self) -> crypto.KeyPair:
        if self._signing is None:
            raise RuntimeError("KeyRing.ensure() was not awaited")
        return self._signing

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 key set of the keys whose tokens may still be valid, newest first."""
        now = self._clock()
        return {
            "keys": [
                key.public_jwk
                for key in self._keys
                if key.retired_at is None or key.retired_at + self._grace > now
            ]
        }

    def _sealed(self, pair: crypto.KeyPair) -> StoredKey:
        return StoredKey(
            kid=pair.kid,
            algorithm=crypto.ALGORITHM,
            public_jwk=pair.public_jwk,
            private_key=crypto.seal(pair, self._kek),
            created_at=self._clock(),
            retired_at=None,
        )


class TokenIssuer:
    """Signs access tokens (PyJWT, EdDSA) with the key ring's signing key."""

    def __init__(
        self,
        keys: KeyRing,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def issue(self, user_id: str, session_id: str, roles: tuple[str, ...]) -> str:
        now = int(self._clock())
        key = self._keys.signing_key()
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": user_id,
            "sid": session_id,
            "roles": list(roles),
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, key.private_key, algorithm=crypto.ALGORITHM, headers={"kid": key.kid}
        )
