"""Per-account sign-in throttling in Redis: after a run of failures each further
attempt must wait an exponentially growing delay. Counted per email, existing or
not, so the throttle itself does not reveal which accounts exist."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Final

import redis.asyncio as aioredis

_PREFIX: Final = "auth:login_failures:"


class LoginThrottle:
    def __init__(
        self,
        redis: aioredis.Redis,
        threshold: int,
        base_seconds: float,
        max_seconds: float,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._threshold = threshold
        self._base = base_seconds
        self._max = max_seconds
        self._window = window_seconds
        self._clock = clock

    @staticmethod
    def _key(email: str) -> str:
        return _PREFIX + hashlib.sha256(email.encode()).hexdigest()

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` failures in a row."""
        if failures < self._threshold:
            return 0.0
        return float(min(self._max, self._base * 2 ** (failures - self._threshold)))

    async def retry_after(self, email: str) -> float:
        """Seconds until the account may try again; 0 when it may now."""
        failures, last = await self._redis.hmget(self._key(email), ["n", "at"])
        if failures is None or last is None:
            return 0.0
        wait = float(last) + self.delay(int(failures)) - self._clock()
        return max(0.0, wait)

    async def failed(self, email: str) -> None:
        key = self._key(email)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "n", 1)
            pipe.hset(key, "at", repr(self._clock()))
            pipe.expire(key, self._window)
            await pipe.execute()

    async def succeeded(self, email: str) -> None:
        await self._redis.delete(self._key(email))
