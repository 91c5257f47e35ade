"""The incremental sync: queued changes in, the documents they made stale rewritten."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from movies_etl.domain import actions, chunks, plan_changes, stale_documents
from movies_etl.ports import Catalog, Index, QueueSession, RetryPolicy
from movies_etl.service.common import CacheNotifier, SyncOptions
from movies_etl.service.rebuild import FullRebuild
from movies_etl.service.verify import Verifier
from movies_index import GENRES, MOVIES, PERSONS

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BatchResult:
    changes: int
    documents: int = 0
    rebuild_reason: str | None = None


class IncrementalSync:
    """Follows the change queue; hands over to the full rebuild when replaying cannot do."""

    def __init__(
        self,
        catalog: Catalog,
        index: Index,
        notifier: CacheNotifier,
        options: SyncOptions,
        retry: RetryPolicy,
        rebuild: FullRebuild,
        verifier: Verifier | None = None,
    ) -> None:
        self._catalog = catalog
        self._index = index
        self._notifier = notifier
        self._opt = options
        self._retry = retry
        self.rebuild = rebuild
        self.verifier = verifier

    async def run_forever(self, stop: asyncio.Event) -> None:
        """`etl run`: follows the queue until `stop` is set; never gives up on a backend."""
        check_generation = True
        while not stop.is_set():
            busy = False
            async for attempt in self._retry(True):
                with attempt:
                    if check_generation:
                        await self.rebuild.if_needed()
                        check_generation = False
                    busy = await self._step(max_seq=None)
                    if not busy and self.verifier is not None:
                        # Idle: the queue is drained, so the self-check compares like
                        # with like (start-up, then every ETL_VERIFY_INTERVAL_SECONDS).
                        await self.verifier.verify_if_due()
                if attempt.retry_state.outcome and attempt.retry_state.outcome.failed:
                    # After an outage the indices may have been lost or replaced.
                    check_generation = True
                if stop.is_set():
                    return
            await self._notifier.flush()
            if not busy:
                await self._wait(stop, self._idle_seconds())

    async def run_once(self) -> int:
        """`etl once`: rebuilds if needed, then drains what is queued now; returns rows done.

        Rows queued after the pass started are left to the next pass, so a pass
        ends even while editors keep writing.
        """
        done = 0
        async for attempt in self._retry(False):
            with attempt:
                await self.rebuild.if_needed()
                async with self._catalog.exclusive() as session:
                    max_seq = await session.max_seq()
        if max_seq is None:
            await self._notifier.flush()
            return 0
        busy = True
        while busy:
            async for attempt in self._retry(False):
                with attempt:
                    before = time.monotonic()
                    result = await self._batch(max_seq)
                    busy = result.changes > 0 or result.rebuild_reason is not None
                    if result.rebuild_reason:
                        await self.rebuild.rebuild(result.rebuild_reason)
                    done += result.changes
                    if result.changes:
                        logger.debug(
                            "batch of %d in %.3fs", result.changes, time.monotonic() - before
                        )
            await self._notifier.flush()
        return done

    async def _step(self, max_seq: int | None) -> bool:
        """One batch (or the rebuild it calls for); True if more work is likely waiting."""
        result = await self._batch(max_seq)
        if result.rebuild_reason:
            await self.rebuild.rebuild(result.rebuild_reason)
            return True
        return result.changes >= self._opt.batch_size

    async def _batch(self, max_seq: int | None) -> BatchResult:
        started = time.monotonic()
        async with self._catalog.exclusive() as session:
            changes = await session.fetch_changes(self._opt.batch_size, max_seq)
            if not changes:
                return BatchResult(0)
            plan = plan_changes(changes)
            if plan.rebuild:
                return BatchResult(0, rebuild_reason="a table was truncated")
            if len(changes) >= self._opt.batch_size and await session.pending_at_least(
                self._opt.reindex_backlog
            ):
                return BatchResult(
                    0, rebuild_reason=f"over {self._opt.reindex_backlog} changes pending"
                )
            films = await session.films_of_persons(plan.films_of_persons)
            films |= await session.films_of_genres(plan.films_of_genres)
            persons = await session.persons_of_films(plan.persons_of_films)
            stale = stale_documents(plan, films, persons)
            written = 0
            touched: list[str] = []
            for name, ids in stale.items():
                if ids:
                    written += await self._sync(session, name, ids)
                    touched.append(self._index.alias(name))
            if touched:
                await self._index.refresh(touched)
            oldest = min(change.changed_at for change in changes)
            state = {
                "at": datetime.now(UTC).isoformat(),
                "changes": len(changes),
                "documents": written,
                "films": len(stale[MOVIES]),
                "persons": len(stale[PERSONS]),
                "genres": len(stale[GENRES]),
                "duration_seconds": round(time.monotonic() - started, 3),
                "lag_seconds": round((datetime.now(UTC) - oldest).total_seconds(), 3),
            }
            await session.acknowledge([c.seq for c in changes], "last_batch", state)
        self._notifier.changed()
        logger.info(
            "batch: %d changes -> %d films, %d persons, %d genres in %.3fs",
            len(changes),
            state["films"],
            state["persons"],
            state["genres"],
            state["duration_seconds"],
        )
        return BatchResult(len(changes), written)

    async def _sync(self, session: QueueSession, name: str, ids: set[UUID]) -> int:
        """Rewrites the documents of `ids` from their current rows, in bulk-sized chunks."""
        alias = self._index.alias(name)
        written = 0
        for chunk in chunks(ids, self._opt.bulk_size):
            docs = await session.documents(name, chunk)
            written += await self._index.write(alias, actions(chunk, docs), require_alias=True)
        return written

    def _idle_seconds(self) -> float:
        """The poll period, or the signal retry while the API's caches miss news
        (after a Redis restart they would otherwise wait a whole poll)."""
        if self._notifier.pending:
            return min(self._opt.poll_interval_seconds, self._opt.signal_retry_seconds)
        return self._opt.poll_interval_seconds

    async def _wait(self, stop: asyncio.Event, seconds: float) -> None:
        waiter = asyncio.create_task(self._catalog.wait_for_change(seconds))
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, stopper):
                task.cancel()
            await asyncio.gather(waiter, stopper, return_exceptions=True)
