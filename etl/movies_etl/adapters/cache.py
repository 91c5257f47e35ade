"""Redis adapter: tells the API that the catalogue changed, so cached answers expire."""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from movies_index import redis_client, version_order

logger = logging.getLogger(__name__)

# Sets the version to ARGV[1] if that is larger, else one past the stored version:
# atomic, so two signals never hand out the same version. INCR keeps the arithmetic
# in Redis's 64-bit integers (Lua numbers are doubles).
_ADVANCE: Final = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1])
    return ARGV[1]
end
return tostring(redis.call('INCR', KEYS[1]))
"""


class RedisCacheSignal:
    """Moves the catalogue version forward and publishes it.

    The version key lets the API notice a change even if it missed the message
    (it was restarting, or its subscription dropped). Versions only grow, across
    a Redis failover too: each is at least the clock in microseconds and past both
    the stored version and the last one this ETL published. A promoted replica
    that missed the last increments therefore holds an older version; the API
    ignores that step back, and `reassert` publishes past it.
    """

    def __init__(self, client: aioredis.Redis, version_key: str, channel: str) -> None:
        self._redis = client
        self._key = version_key
        self._channel = channel
        self._failing = False
        self._advance: Any = client.register_script(_ADVANCE)
        self.last_version = 0

    async def signal(self) -> bool:
        """True once the API can see the new version; False (logged) if Redis is down.

        A failed signal is not an ETL failure: the documents are already in
        Elasticsearch, the caller just tries again later.
        """
        candidate = max(time.time_ns() // 1000, self.last_version + 1)
        try:
            raw = await self._advance(keys=[self._key], args=[str(candidate)])
            version = version_order(raw if isinstance(raw, bytes | str) else str(raw))
            await self._redis.publish(self._channel, str(version))
        except (RedisError, OSError) as exc:
            # Once per outage, not once per retry.
            log = logger.debug if self._failing else logger.warning
            log("cache signal failed, will retry: %s", exc)
            self._failing = True
            return False
        self.last_version = max(self.last_version, version)
        if self._failing:
            logger.info("cache signal delivered again (version %s)", version)
            self._failing = False
        logger.debug("cache version %s published on %s", version, self._channel)
        return True

    async def reassert(self) -> bool:
        """Publishes a new version if Redis went back behind the last one published.

        That happens when a replica that missed increments is promoted, or Redis
        restarts empty; until then an API starting afresh would read the old
        version and serve what was cached under it. False if Redis is down.
        """
        if not self.last_version:
            return True
        try:
            stored = version_order(await self._redis.get(self._key))
        except (RedisError, OSError) as exc:
            logger.debug("cache version check failed: %s", exc)
            return False
        if stored >= self.last_version:
            return True
        logger.warning(
            "cache version went back from %d to %d (failover or restart): publishing past it",
            self.last_version,
            stored,
        )
        return await self.signal()

    async def close(self) -> None:
        await self._redis.aclose()


def make_client(url: str, timeout: float, sentinels: str = "", master: str = "") -> aioredis.Redis:
    """One Redis server, or the master Sentinel names (`REDIS_SENTINELS`)."""
    return redis_client(
        url, sentinels, master, socket_timeout=timeout, socket_connect_timeout=timeout
    )
