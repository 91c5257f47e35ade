"""The full rebuild: a new generation of every index from one snapshot, swapped in at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime

from movies_etl.domain import Action, Source, Upsert
from movies_etl.ports import Catalog, Index, RetryPolicy, SourceSnapshot
from movies_etl.service.common import CacheNotifier, SyncOptions
from movies_index import INDICES, MOVIES

logger = logging.getLogger(__name__)


class FullRebuild:
    """Rebuilds the indices behind the aliases, when asked or when they cannot be trusted."""

    def __init__(
        self,
        catalog: Catalog,
        index: Index,
        notifier: CacheNotifier,
        options: SyncOptions,
        retry: RetryPolicy,
    ) -> None:
        self._catalog = catalog
        self._index = index
        self._notifier = notifier
        self._opt = options
        self._retry = retry
        self._generation_key = f"generation:{index.prefix}"

    async def reindex(self) -> dict[str, int]:
        """`etl reindex`: a full rebuild behind the aliases, whatever the state."""
        counts: dict[str, int] = {}
        async for attempt in self._retry(False):
            with attempt:
                counts = await self.rebuild("requested")
        return counts

    async def reason(self) -> str | None:
        """Why the aliases cannot be trusted to hold what the queue assumes, if so.

        The queue only describes changes since the last rebuild, so incremental sync
        is sound only on a generation this ETL built and recorded.
        """
        current = await self._index.current()
        if any(not found for found in current.values()):
            return "an alias is missing"
        recorded = await self._catalog.get_state(self._generation_key)
        if recorded != {alias: found[0] for alias, found in current.items()}:
            return "the aliases point to indices this ETL did not build"
        return None

    async def if_needed(self) -> None:
        await self.rebuild(None)

    async def rebuild(self, reason: str | None) -> dict[str, int]:
        """Fills a new generation from one snapshot and swaps every alias to it.

        `reason=None` means "if still needed": it is decided again under the lock,
        so an ETL that waited for another one's rebuild does not repeat it.
        """
        async with self._catalog.exclusive() as session:
            reason = reason or await self.reason()
            # Generations no alias points to were left by an interrupted rebuild; under
            # the lock nobody else is filling one.
            await self._index.drop(await self._index.orphans())
            if reason is None:
                return {}
            logger.info("full rebuild: %s", reason)
            started = time.monotonic()
            await session.analyze()
            async with self._catalog.snapshot() as snapshot:
                generation = await self._index.create_generation()
                counts = await self._fill(snapshot, generation)
            previous = await self._index.publish_generation(generation)
            state = {
                "at": datetime.now(UTC).isoformat(),
                "reason": reason,
                "documents": counts,
                "duration_seconds": round(time.monotonic() - started, 3),
                "indices": dict(generation),
            }
            recorded = {self._index.alias(name): index for name, index in generation.items()}
            replayed = await session.acknowledge_snapshot(
                snapshot.token, {self._generation_key: recorded, "last_rebuild": state}
            )
        self._notifier.changed()
        await self._notifier.flush()
        elapsed = time.monotonic() - started
        logger.info(
            "full rebuild done in %.1fs: %s (%.0f films/s); %d queued changes already covered",
            elapsed,
            counts,
            counts.get(MOVIES, 0) / elapsed if elapsed else 0.0,
            replayed,
        )
        await self._index.drop(previous, self._opt.old_index_grace_seconds)
        return counts

    async def _fill(
        self, snapshot: SourceSnapshot, generation: Mapping[str, str]
    ) -> dict[str, int]:
        """Fills every index at once; they share the bulk-request budget."""
        budget = asyncio.Semaphore(self._opt.bulk_concurrency)
        size = self._opt.fetch_size
        async with asyncio.TaskGroup() as group:
            tasks = {
                spec.name: group.create_task(
                    self._pipeline(
                        generation[spec.name], _upserts(snapshot.stream(spec.name, size)), budget
                    )
                )
                for spec in INDICES
            }
        return {name: task.result() for name, task in tasks.items()}

    async def _pipeline(
        self, index: str, batches: AsyncGenerator[list[Action]], budget: asyncio.Semaphore
    ) -> int:
        """Extract+transform feeds a bounded queue; bulk writers drain it.

        The bound keeps memory flat however large the catalogue: reading waits for
        Elasticsearch rather than piling documents up.
        """
        queue: asyncio.Queue[list[Action] | None] = asyncio.Queue(self._opt.bulk_concurrency * 2)
        written = 0
        next_report = self._opt.progress_every

        async def produce() -> None:
            # aclosing: a failed load closes the stream's connection at once.
            async with contextlib.aclosing(batches) as stream:
                async for batch in stream:
                    for start in range(0, len(batch), self._opt.bulk_size):
                        await queue.put(batch[start : start + self._opt.bulk_size])
            # Only on success: after a failure the task group cancels the writers.
            for _ in range(self._opt.bulk_concurrency):
                await queue.put(None)

        async def consume() -> None:
            nonlocal written, next_report
            while (batch := await queue.get()) is not None:
                async with budget:
                    await self._write_patiently(index, batch)
                written += len(batch)
                if written >= next_report:
                    logger.info("%s: %d documents written", index, written)
                    next_report += self._opt.progress_every

        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            for _ in range(self._opt.bulk_concurrency):
                group.create_task(consume())
        return written

    async def _write_patiently(self, index: str, batch: list[Action]) -> None:
        # A hiccup of Elasticsearch should not restart a rebuild from zero.
        async for attempt in self._retry(False):
            with attempt:
                await self._index.write(index, batch)


async def _upserts(batches: AsyncGenerator[list[Source]]) -> AsyncGenerator[list[Action]]:
    async with contextlib.aclosing(batches) as stream:
        async for docs in stream:
            yield [Upsert(doc.id, doc.json) for doc in docs]
