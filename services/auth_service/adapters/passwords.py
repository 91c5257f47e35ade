"""argon2id password hashing (argon2-cffi), off the event loop.

A hash takes tens of milliseconds of CPU by design, so it runs in a worker
thread; argon2's C code releases the GIL, letting other calls proceed.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError


class PasswordHasher:
    def __init__(
        self, time_cost: int, memory_cost_kib: int, parallelism: int, max_concurrency: int = 2
    ) -> None:
        # Its own threads: a burst of sign-ins queues here instead of taking
        # every thread of the loop's default executor.
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="argon2")
        self._hasher = Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        # Checked when the email is unknown, so a miss costs what a hit costs and
        # the response time does not say whether the account exists.
        self._dummy = self._hasher.hash("not a password of anyone")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._hasher.hash, password
        )

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._verify, password_hash, password
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)
