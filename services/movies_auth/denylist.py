"""The Redis deny-list of revoked session ids, written by the auth service and
read by every service's token check.

An access token cannot be recalled once issued; ending a session therefore
lists its id here for as long as a token of that session may still be valid
(the access token's remaining lifetime), and every check refuses listed ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import redis.asyncio as aioredis

KEY_PREFIX: Final = "auth:revoked_sid:"


def key(session_id: str) -> str:
    return f"{KEY_PREFIX}{session_id}"


class DenyList:
    """Reads (and, for the auth service, writes) revoked session ids."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def is_revoked(self, session_id: str) -> bool:
        return bool(await self._redis.exists(key(session_id)))

    async def revoke(self, ttl_by_session: Mapping[str, int]) -> None:
        """Lists each session for its number of seconds (at least one)."""
        if not ttl_by_session:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid, ttl in ttl_by_session.items():
                pipe.set(key(sid), b"1", ex=max(1, ttl))
            await pipe.execute()
