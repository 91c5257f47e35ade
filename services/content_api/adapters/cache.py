"""Cache adapter: serialized responses in Redis, versioned by the ETL's signal.

Every key embeds the catalogue version the ETL bumps after each batch it has
written (and refreshed) in Elasticsearch. A bump makes every older entry
unreachable at once, so staleness is bounded by how fast the new version
reaches us (pub/sub: milliseconds; polling fallback: `cache_version_poll_seconds`),
not by the TTL. The TTL only reclaims memory.

Versions only grow (`movies_index.version_order`): a version smaller than one
already seen comes from a Redis that lost increments (a promoted replica, a
restart) and is ignored, since entries cached under it may predate the change the
newer version announced. The ETL then publishes past it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol, cast

import redis.asyncio as aioredis
from cachetools import TTLCache
from redis.exceptions import RedisError

from movies_index import version_order

log = logging.getLogger(__name__)


class CachePort(Protocol):
    """What the service layer needs from a cache."""

    def version(self) -> str | None:
        """The current catalogue version, or None when the cache must be bypassed."""

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes) -> None: ...


class CacheStats:
    """Counters the tests and logs read; cheap enough for the hot path."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.version_changes = 0
        # Versions read that were older than one already seen, and ignored.
        self.versions_behind = 0


class RedisCache:
    """A cache that never fails a request: Redis errors turn into misses.

    After an error the cache stays bypassed for `retry_after` seconds, so a dead
    Redis costs one failed attempt per interval rather than one per request.
    A small in-process tier (LRU with the same TTL, bounded in payload bytes so
    that its share of the server's memory is fixed whatever the entries weigh)
    answers hot keys without a round trip; versioned keys keep it exactly as
    fresh as Redis.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        ttl_seconds: int,
        version_key: str,
        channel: str,
        poll_seconds: float,
        retry_after_seconds: float,
        local_bytes: int = 0,
    ) -> None:
        self._redis = client
        self._local: TTLCache[str, bytes] | None = (
            TTLCache(maxsize=local_bytes, ttl=ttl_seconds, getsizeof=len)
            if local_bytes > 0
            else None
        )
        self._ttl = ttl_seconds
        self._version_key = version_key
        self._channel = channel
        self._poll = poll_seconds
        self._retry_after = retry_after_seconds
        self._version: str | None = None
        # The newest version ever seen: the floor below which a version is a step back.
        self._newest: str | None = None
        self._behind: str | None = None  # the step back last logged, logged once
        self._down_until = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.stats = CacheStats()

    def version(self) -> str | None:
        if self._version is None or time.monotonic() < self._down_until:
            return None
        return self._version

    async def get(self, key: str) -> bytes | None:
        if self._local is not None and (local := self._local.get(key)) is not None:
            self.stats.hits += 1
            return local
        try:
            # The client is built without decode_responses: values are bytes.
            value = cast("bytes | None", await self._redis.get(key))
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        if value is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
            self._keep(key, value)
        return value

    async def set(self, key: str, value: bytes) -> None:
        self._keep(key, value)
        try:
            await self._redis.set(key, value, ex=self._ttl)
        except (RedisError, OSError) as exc:
            self._failed("set", exc)

    def _keep(self, key: str, value: bytes) -> None:
        # An entry larger than the whole tier stays in Redis only.
        if self._local is not None and len(value) <= self._local.maxsize:
            self._local[key] = value

    async def start(self) -> None:
        """Reads the version once, then follows it by pub/sub and by polling."""
        await self._refresh_version()
        self._tasks = [
            asyncio.create_task(self._poll_loop(), name="cache-version-poll"),
            asyncio.create_task(self._subscribe_loop(), name="cache-version-sub"),
        ]

    async def close(self) -> None:
        """Stops following the version, then closes the client.

        redis-py can swallow a cancellation that lands while `listen()` is still
        setting up (seen with a subscription a few milliseconds old), leaving the
        task waiting for a message forever. So the wait is bounded; closing the
        client then breaks that read, and the loop, seeing `_closing`, ends.
        """
        self._closing = True
        for task in self._tasks:
            task.cancel()
        pending: set[asyncio.Task[None]] = set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self._retry_after)
        await self._redis.aclose()
        if pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=self._retry_after)
            if pending:
                log.warning("cache version tasks did not stop", extra={"tasks": len(pending)})

    def _set_version(self, version: str) -> None:
        if self._newest is not None and version_order(version) < version_order(self._newest):
            self.stats.versions_behind += 1
            if version != self._behind:
                self._behind = version
                log.warning(
                    "catalogue version went back, keeping the newer one",
                    extra={"version": version, "newest": self._newest},
                )
            # Entries cached under the newest version were built from data at least
            # that new, wherever they are stored now.
            version = self._newest
        else:
            self._newest = version
        if version != self._version:
            log.info("catalogue version changed", extra={"version": version})
            self.stats.version_changes += 1
            self._version = version
            # A restarted Redis starts counting again: an old version string may
            # come back, so entries of the in-process tier never outlive a change.
            if self._local is not None:
                self._local.clear()

    async def _refresh_version(self) -> None:
        try:
            raw = cast("bytes | None", await self._redis.get(self._version_key))
        except (RedisError, OSError) as exc:
            self._failed("version", exc)
            return
        self._down_until = 0.0
        self._set_version(raw.decode() if raw is not None else "0")

    async def _poll_loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(self._poll)
            await self._refresh_version()

    async def _subscribe_loop(self) -> None:
        while not self._closing:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message["data"]
                            self._set_version(
                                data.decode() if isinstance(data, bytes) else str(data)
                            )
            except (RedisError, OSError) as exc:
                if self._closing:
                    return
                self._failed("subscribe", exc)
                await asyncio.sleep(self._retry_after)

    def _failed(self, op: str, exc: BaseException) -> None:
        self.stats.errors += 1
        now = time.monotonic()
        if now >= self._down_until:
            log.warning(
                "redis unavailable, serving from elasticsearch",
                extra={"op": op, "error": repr(exc)[:200], "redis_errors": self.stats.errors},
            )
        self._down_until = now + self._retry_after
        # The version may have moved while we could not hear about it.
        self._version = None
