"""Redis adapter: tells the API that the catalogue changed, so cached answers expire."""

from __future__ import annotations

import logging

from redis import asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class RedisCacheSignal:
    """Bumps the catalogue version and publishes it.

    The version key lets the API notice a change even if it missed the message
    (it was restarting, or its subscription dropped).
    """

    def __init__(self, client: aioredis.Redis, version_key: str, channel: str) -> None:
        self._redis = client
        self._key = version_key
        self._channel = channel
        self._failing = False

    async def signal(self) -> bool:
        """True once the API can see the new version; False (logged) if Redis is down.

        A failed signal is not an ETL failure: the documents are already in
        Elasticsearch, the caller just tries again later.
        """
        try:
            version = await self._redis.incr(self._key)
            await self._redis.publish(self._channel, str(version))
        except (RedisError, OSError) as exc:
            # Once per outage, not once per retry.
            log = logger.debug if self._failing else logger.warning
            log("cache signal failed, will retry: %s", exc)
            self._failing = True
            return False
        if self._failing:
            logger.info("cache signal delivered again (version %s)", version)
            self._failing = False
        logger.debug("cache version %s published on %s", version, self._channel)
        return True

    async def close(self) -> None:
        await self._redis.aclose()


def make_client(url: str, timeout: float) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
