"""Group commit: writes that arrive while earlier ones are in flight go to the
store together.

A rating write alone is one round trip, one transaction and one WAL flush, and
most of its cost in both processes is that envelope rather than the row. Under
load the writes queue anyway; sending the queue as one call spends the envelope
once per batch. Nothing waits for a batch to fill: a write starts at once when
fewer than `max_in_flight` batches are running (after the current turn of the
event loop, so writes that arrived together leave together), and otherwise
joins the next batch, which starts the moment a running one ends. An idle
service therefore sends each write alone, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Runs `flush(items)` (one result per item, in order) over queued items,
    at most `max_size` per call and `max_in_flight` calls at once. A failed
    flush fails every item of its batch with the same exception."""

    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_size: int,
        max_in_flight: int,
    ) -> None:
        if max_size < 1 or max_in_flight < 1:
            raise ValueError("max_size and max_in_flight must be at least 1")
        self._flush = flush
        self._max_size = max_size
        self._max_in_flight = max_in_flight
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._in_flight = 0
        self._kick_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._in_flight < self._max_in_flight and not self._kick_scheduled:
            self._kick_scheduled = True
            loop.call_soon(self._kick)
        return await future

    def _kick(self) -> None:
        self._kick_scheduled = False
        while self._queue and self._in_flight < self._max_in_flight:
            batch = self._queue[: self._max_size]
            del self._queue[: self._max_size]
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"flush returned {len(results)} results for {len(batch)} items")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # its caller gave up (deadline): the write stands
                    future.set_result(result)
        finally:
            self._in_flight -= 1
            self._kick()
