"""Steady concurrent load for failover tests: every call's outcome, in order.

A test marks a point (`mark()`), breaks something, waits for a number of calls
to complete after it (`wait_for`), and counts what went wrong since the mark.
Waiting for calls, not seconds, keeps the test about load rather than timing.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final, Self

from tests.support.procs import eventually

OK: Final = "ok"
# A stuck call must not hang the test: it counts as an error after this.
CALL_TIMEOUT_S: Final = 10.0

# One call: returns OK or a short label of what went wrong (a status, an exception).
Call = Callable[[int], Awaitable[str]]


class Load:
    """`concurrency` workers calling `call(i)` back to back until the block ends."""

    def __init__(self, call: Call, concurrency: int) -> None:
        self._call = call
        self._concurrency = concurrency
        self._counter = itertools.count()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.outcomes: list[str] = []

    async def _worker(self) -> None:
        while not self._stop.is_set():
            try:
                outcome = await asyncio.wait_for(self._call(next(self._counter)), CALL_TIMEOUT_S)
            except Exception as exc:  # a failed call is data, not a test error
                outcome = type(exc).__name__
            self.outcomes.append(outcome)

    async def __aenter__(self) -> Self:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self._concurrency)]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def mark(self) -> int:
        return len(self.outcomes)

    async def wait_for(self, calls: int, after: int, within: float) -> None:
        """Until `calls` more calls have completed after the mark `after`."""
        await eventually(
            lambda: len(self.outcomes) - after >= calls, within, f"{calls} calls under load"
        )

    def errors(self, since: int = 0, until: int | None = None) -> Counter[str]:
        return Counter(o for o in self.outcomes[since:until] if o != OK)

    def count(self, since: int = 0, until: int | None = None) -> int:
        return len(self.outcomes[since:until])
