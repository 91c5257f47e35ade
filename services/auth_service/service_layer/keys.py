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
    """A rotated key is published in the JWKS at once but signs only from its
    `active_from`, once every JWKS cache (the edge's above all) can have fetched
    it; the key it replaces signs until then and stays in the JWKS until the
    last access token it signed has expired (one token lifetime plus leeway)."""

    def __init__(
        self,
        store: PostgresStore,
        kek: bytes,
        access_ttl_seconds: int,
        leeway_seconds: int,
        activation_delay_seconds: float = 0.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._kek = kek
        self._grace = timedelta(seconds=access_ttl_seconds + leeway_seconds)
        self._activation_delay = timedelta(seconds=activation_delay_seconds)
        self._clock = clock
        self._unsealed: dict[str, crypto.KeyPair] = {}
        self._keys: list[StoredKey] = []

    async def ensure(self) -> None:
        """Makes the first key on a fresh database (signing at once), then loads the keys."""
        pair = crypto.generate()
        if await self._store.add_signing_key(self._sealed(pair), only_if_none=True):
            log.info("created the first signing key", extra={"kid": pair.kid})
        await self.reload()

    async def rotate(self, now: bool = False) -> tuple[str, datetime]:
        """Adds a key that signs after the activation delay (at once with `now`,
        an emergency: the edge refuses its tokens until its JWKS cache expires);
        returns its kid and when it starts signing."""
        pair = crypto.generate()
        delay = timedelta(0) if now else self._activation_delay
        await self._store.add_signing_key(
            self._sealed(pair), only_if_none=False, activation_delay=delay
        )
        pruned = await self._store.prune_signing_keys(self._grace)
        await self.reload()
        active_from = next(k.active_from for k in self._keys if k.kid == pair.kid)
        log.info(
            "rotated the signing key",
            extra={"kid": pair.kid, "active_from": active_from.isoformat(), "pruned": pruned},
        )
        return pair.kid, active_from

    async def reload(self) -> None:
        keys = await self._store.signing_keys()
        if not keys:
            raise RuntimeError("no signing key: run `auth keys rotate` or start the service")
        now = self._clock()
        # The keys that sign now or will: unsealed ahead, so a key takes over at
        # its active_from exactly, not at the next reload.
        unsealed: dict[str, crypto.KeyPair] = {}
        for key in keys:
            if key.retired_at is not None and key.retired_at <= now:
                continue
            if key.retired_at is not None and key.retired_at <= key.active_from:
                continue  # superseded before it ever signed
            pair = self._unsealed.get(key.kid)
            if pair is None:
                try:
                    pair = crypto.unseal(key.kid, key.private_key, key.public_jwk, self._kek)
                except InvalidTag as exc:
                    raise RuntimeError(
                        "AUTH_KEY_ENCRYPTION_KEY does not open the stored signing keys: "
                        "it differs from the one they were sealed with"
                    ) from exc
            unsealed[key.kid] = pair
        if not unsealed:
            raise RuntimeError("no key can sign: run `auth keys rotate --now`")
        self._unsealed = unsealed
        self._keys = keys

    def signing_key(self) -> crypto.KeyPair:
        """The key whose activation came last among those already active."""
        if not self._keys:
            raise RuntimeError("KeyRing.ensure() was not awaited")
        now = self._clock()
        candidates = [k for k in self._keys if k.kid in self._unsealed and k.active_from <= now]
        if not candidates:
            # Only pending keys are left (a stale reload): the earliest one.
            candidates = [
                min((k for k in self._keys if k.kid in self._unsealed), key=lambda k: k.active_from)
            ]
        newest = max(candidates, key=lambda k: (k.active_from, k.created_at))
        return self._unsealed[newest.kid]

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 key set of the keys whose tokens may be valid now or soon
        (pending ones included), newest first."""
        now = self._clock()
        return {
            "keys": [
                key.public_jwk
                for key in self._keys
                if key.retired_at is None or key.retired_at + self._grace > now
            ]
        }

    def _sealed(self, pair: crypto.KeyPair) -> StoredKey:
        now = self._clock()
        return StoredKey(
            kid=pair.kid,
            algorithm=crypto.ALGORITHM,
            public_jwk=pair.public_jwk,
            private_key=crypto.seal(pair, self._kek),
            created_at=now,
            retired_at=None,
            active_from=now,
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
