"""The ETL's service layer: incremental sync from the change queue and full rebuilds.

Correctness rests on three rules:
- a queue row is deleted only after Elasticsearch acknowledged every document it
  implies, so a crash at any moment leaves it queued and it is replayed;
- documents are rebuilt from the current rows, never patched from the change, so a
  replay, a duplicate or an out-of-order row converges to the same result;
- a full rebuild fills a new generation of indices from one snapshot, swaps the
  aliases atomically, and drops only the queue rows that snapshot already saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from movies_etl.adapters.postgres import Change
from movies_etl.adapters.search import Action, Delete, Upsert
from movies_etl.documents import Source
from movies_etl.ports import CacheSignal, Catalog, Index, QueueSession, SourceSnapshot
from movies_etl.resilience import retrying
from movies_index import GENRES, MOVIES, PERSONS

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """The knobs of the service layer, taken from `Settings` by the bootstrap."""

    batch_size: int = 2000
    bulk_size: int = 1000
    bulk_concurrency: int = 3
    fetch_size: int = 2000
    reindex_backlog: int = 200_000
    poll_interval_seconds: float = 5.0
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    retry_give_up_seconds: float = 600.0
    old_index_grace_seconds: float = 2.0
    progress_every: int = 50_000


@dataclass
class Plan:
    """Which documents a batch of changes may have made stale.

    `*_of_*` sets name entities whose neighbours must be rebuilt too; they are
    resolved against the current links, which is what the documents will show.
    """

    films: set[UUID] = field(default_factory=set)
    persons: set[UUID] = field(default_factory=set)
    genres: set[UUID] = field(default_factory=set)
    films_of_persons: set[UUID] = field(default_factory=set)
    films_of_genres: set[UUID] = field(default_factory=set)
    persons_of_films: set[UUID] = field(default_factory=set)
    rebuild: bool = False


def plan_changes(changes: Iterable[Change]) -> Plan:
    """Maps queue rows to stale documents.

    An inserted entity has no links yet (links arrive as their own rows) and a
    deleted one takes its links with it (cascade, again their own rows), so only
    an update of what the neighbours show (op 'U') reaches them: a renamed person
    shows in every film that lists them, a renamed film in every person's
    filmography, a renamed genre in its films. Any other update (op 'u': a rating,
    a genre's description) rebuilds the row's own document only.
    """
    plan = Plan()
    for change in changes:
        entity_id, film_id = change.entity_id, change.film_id
        match change.entity:
            case "film_work" if entity_id:
                plan.films.add(entity_id)
                if change.op == "U":
                    plan.persons_of_films.add(entity_id)
            case "person" if entity_id:
                plan.persons.add(entity_id)
                if change.op == "U":
                    plan.films_of_persons.add(entity_id)
            case "genre" if entity_id:
                plan.genres.add(entity_id)
                if change.op == "U":
                    plan.films_of_genres.add(entity_id)
            case "person_film_work" if entity_id and film_id:
                plan.films.add(film_id)
                plan.persons.add(entity_id)
            case "genre_film_work" if entity_id and film_id:
                plan.films.add(film_id)
                plan.genres.add(entity_id)
            case _:
                # 'truncate', or a row this version does not understand: only a full
                # rebuild is sure to be right.
                plan.rebuild = True
    return plan


@dataclass(frozen=True, slots=True)
class BatchResult:
    changes: int
    documents: int = 0
    rebuild_reason: str | None = None


def chunks(items: Iterable[UUID], size: int) -> Iterator[list[UUID]]:
    batch: list[UUID] = []
    for item in sorted(items):
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _actions(wanted: Sequence[UUID], docs: Sequence[Source]) -> list[Action]:
    """Upserts for documents whose rows exist, deletes for ids that no longer do."""
    found = {doc.id for doc in docs}
    actions: list[Action] = [Upsert(doc.id, doc.json) for doc in docs]
    actions.extend(Delete(str(i)) for i in wanted if str(i) not in found)
    return actions


class Synchronizer:
    """Keeps the three indices equal to the catalogue."""

    def __init__(
        self, catalog: Catalog, index: Index, cache: CacheSignal, options: SyncOptions
    ) -> None:
        self._catalog = catalog
        self._index = index
        self._cache = cache
        self._opt = options
        self._signal_pending = False
        self._generation_key = f"generation:{index.prefix}"

    # -- commands ---------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        """`etl run`: follows the queue until `stop` is set; never gives up on a backend."""
        check_generation = True
        while not stop.is_set():
            busy = False
            async for attempt in self._retrying(forever=True):
                with attempt:
                    if check_generation:
                        await self._rebuild_if_needed()
                        check_generation = False
                    busy = await self._step(max_seq=None)
                if attempt.retry_state.outcome and attempt.retry_state.outcome.failed:
                    # After an outage the indices may have been lost or replaced.
                    check_generation = True
                if stop.is_set():
                    return
            await self._flush_signal()
            if not busy:
                await self._wait(stop)

    async def run_once(self) -> int:
        """`etl once`: rebuilds if needed, then drains what is queued now; returns rows done.

        Rows queued after the pass started are left to the next pass, so a pass
        ends even while editors keep writing.
        """
        done = 0
        async for attempt in self._retrying(forever=False):
            with attempt:
                await self._rebuild_if_needed()
                async with self._catalog.exclusive() as session:
                    max_seq = await session.max_seq()
        if max_seq is None:
            await self._flush_signal()
            return 0
        busy = True
        while busy:
            async for attempt in self._retrying(forever=False):
                with attempt:
                    before = time.monotonic()
                    result = await self._batch(max_seq)
                    busy = result.changes > 0 or result.rebuild_reason is not None
                    if result.rebuild_reason:
                        await self.rebuild(result.rebuild_reason)
                    done += result.changes
                    if result.changes:
                        logger.debug(
                            "batch of %d in %.3fs", result.changes, time.monotonic() - before
                        )
            await self._flush_signal()
        return done

    async def reindex(self) -> dict[str, int]:
        """`etl reindex`: a full rebuild behind the aliases, whatever the state."""
        counts: dict[str, int] = {}
        async for attempt in self._retrying(forever=False):
            with attempt:
                counts = await self.rebuild("requested")
        return counts

    async def status(self) -> dict[str, Any]:
        """`etl status`: queue lag, what the last batch and rebuild did, counts per index.

        An unreachable Elasticsearch is reported, not raised: that is when the
        report is needed most.
        """
        backlog = await self._catalog.backlog()
        state = await self._catalog.load_state()
        db = await self._catalog.counts()
        per_index: dict[str, dict[str, int | None]] = {}
        aliases: dict[str, list[str]] | str
        try:
            for name, rows in ((MOVIES, db.films), (GENRES, db.genres),
                               (PERSONS, db.persons)):  # fmt: skip
                alias = self._index.alias(name)
                per_index[alias] = {"documents": await self._index.count(alias), "database": rows}
            aliases = await self._index.current()
        except Exception as exc:
            aliases = f"elasticsearch unavailable: {exc}"
        return {
            "pending_changes": backlog.pending,
            "lag_seconds": round(backlog.oldest_age_seconds or 0.0, 3),
            "indices": per_index,
            "aliases": aliases,
            "last_batch": state.get("last_batch"),
            "last_rebuild": state.get("last_rebuild"),
        }

    # -- incremental --------------------------------------------------------------

    async def _step(self, max_seq: int | None) -> bool:
        """One batch (or the rebuild it calls for); True if more work is likely waiting."""
        result = await self._batch(max_seq)
        if result.rebuild_reason:
            await self.rebuild(result.rebuild_reason)
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
            films, persons, genres = await self._resolve(session, plan)
            written = 0
            touched: list[str] = []
            if films:
                written += await self._sync(MOVIES, films, session.films)
                touched.append(self._index.alias(MOVIES))
            if persons:
                written += await self._sync(PERSONS, persons, session.persons)
                touched.append(self._index.alias(PERSONS))
            if genres:
                written += await self._sync(GENRES, genres, session.genres)
                touched.append(self._index.alias(GENRES))
            if touched:
                await self._index.refresh(touched)
            oldest = min(change.changed_at for change in changes)
            state = {
                "at": datetime.now(UTC).isoformat(),
                "changes": len(changes),
                "documents": written,
                "films": len(films),
                "persons": len(persons),
                "genres": len(genres),
                "duration_seconds": round(time.monotonic() - started, 3),
                "lag_seconds": round((datetime.now(UTC) - oldest).total_seconds(), 3),
            }
            await session.acknowledge([c.seq for c in changes], "last_batch", state)
        self._signal_pending = True
        logger.info(
            "batch: %d changes -> %d films, %d persons, %d genres in %.3fs",
            len(changes),
            len(films),
            len(persons),
            len(genres),
            state["duration_seconds"],
        )
        return BatchResult(len(changes), written)

    async def _sync(
        self,
        name: str,
        ids: set[UUID],
        load: Callable[[list[UUID]], Awaitable[list[Source]]],
    ) -> int:
        """Rewrites the documents of `ids` from their current rows, in bulk-sized chunks."""
        alias = self._index.alias(name)
        written = 0
        for chunk in chunks(ids, self._opt.bulk_size):
            actions = _actions(chunk, await load(chunk))
            written += await self._index.write(alias, actions, require_alias=True)
        return written

    async def _resolve(
        self, session: QueueSession, plan: Plan
    ) -> tuple[set[UUID], set[UUID], set[UUID]]:
        films = plan.films | await session.films_of_persons(plan.films_of_persons)
        films |= await session.films_of_genres(plan.films_of_genres)
        persons = plan.persons | await session.persons_of_films(plan.persons_of_films)
        return films, persons, set(plan.genres)

    # -- full rebuild ---------------------------------------------------------------

    async def _rebuild_if_needed(self) -> None:
        await self.rebuild(None)

    async def rebuild_reason(self) -> str | None:
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

    async def rebuild(self, reason: str | None) -> dict[str, int]:
        """Fills a new generation from one snapshot and swaps every alias to it.

        `reason=None` means "if still needed": it is decided again under the lock,
        so an ETL that waited for another one's rebuild does not repeat it.
        """
        async with self._catalog.exclusive() as session:
            reason = reason or await self.rebuild_reason()
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
        self._signal_pending = True
        await self._flush_signal()
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

    async def _fill(self, snapshot: SourceSnapshot, generation: dict[str, str]) -> dict[str, int]:
        """Fills the three indices at once; they share the bulk-request budget."""
        budget = asyncio.Semaphore(self._opt.bulk_concurrency)
        size = self._opt.fetch_size
        async with asyncio.TaskGroup() as group:
            films = group.create_task(
                self._pipeline(
                    generation[MOVIES],
                    _upserts(snapshot.stream_films(size)),
                    budget,
                )
            )
            persons = group.create_task(
                self._pipeline(
                    generation[PERSONS],
                    _upserts(snapshot.stream_persons(size)),
                    budget,
                )
            )
            genres = group.create_task(
                self._pipeline(
                    generation[GENRES],
                    _upserts(snapshot.stream_genres(size)),
                    budget,
                )
            )
        return {
            MOVIES: films.result(),
            PERSONS: persons.result(),
            GENRES: genres.result(),
        }

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
        async for attempt in self._retrying(forever=False):
            with attempt:
                await self._index.write(index, batch)

    # -- helpers --------------------------------------------------------------------

    async def _flush_signal(self) -> None:
        if self._signal_pending:
            self._signal_pending = not await self._cache.signal()

    async def _wait(self, stop: asyncio.Event) -> None:
        waiter = asyncio.create_task(self._catalog.wait_for_change(self._opt.poll_interval_seconds))
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, stopper):
                task.cancel()
            await asyncio.gather(waiter, stopper, return_exceptions=True)

    def _retrying(self, forever: bool) -> Any:
        return retrying(
            self._opt.retry_initial_seconds,
            self._opt.retry_max_seconds,
            None if forever else self._opt.retry_give_up_seconds,
            only_transient=not forever,
        )


async def _upserts(batches: AsyncGenerator[list[Source]]) -> AsyncGenerator[list[Action]]:
    async with contextlib.aclosing(batches) as stream:
        async for docs in stream:
            yield [Upsert(doc.id, doc.json) for doc in docs]
