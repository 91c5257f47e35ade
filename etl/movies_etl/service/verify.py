"""The ETL's self-check: does Elasticsearch still hold what PostgreSQL says it should?

The change queue only says what changed; it cannot notice documents lost behind the
ETL's back (a node that died before a flush, a delete by hand, a restored snapshot).
So at start-up and every `ETL_VERIFY_INTERVAL_SECONDS` the verifier compares, per
index, the document count with the row count and a random sample of documents with
the documents their current rows render, and repairs what differs:
- a few ids missing, extra or stale: their documents are rewritten from the current
  rows (deleted where the row is gone), as a queue replay would;
- counts far apart (past `ETL_VERIFY_REBUILD_FRACTION`): a full rebuild.

It runs under the ETL's lock with an empty queue, so nothing the ETL itself is about
to write can pass for a mismatch. A change an editor commits during the check may
still show as one; repairing it writes the current rows, which is what the queue
would write too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from movies_etl.domain import actions, chunks
from movies_etl.ports import AuditCatalog, AuditIndex, AuditSession
from movies_etl.service.common import CacheNotifier, SyncOptions
from movies_etl.service.rebuild import FullRebuild
from movies_index import INDEX_NAMES

logger = logging.getLogger(__name__)

STATE_KEY = "last_verification"


@dataclass(slots=True)
class IndexCheck:
    """What one index held compared with its source table."""

    database: int
    documents: int | None
    missing: int = 0
    extra: int = 0
    sampled: int = 0
    stale: int = 0
    repaired: int = 0

    @property
    def consistent(self) -> bool:
        return self.documents == self.database and not (self.missing or self.extra or self.stale)


@dataclass(slots=True)
class Verification:
    """One run of the self-check, as `etl status` shows it."""

    at: str
    outcome: str
    indices: dict[str, IndexCheck] = field(default_factory=dict)
    rebuild_reason: str | None = None
    duration_seconds: float = 0.0

    def state(self) -> dict[str, Any]:
        return asdict(self)


def far_apart(database: int, documents: int | None, fraction: float) -> bool:
    """Whether replaying ids cannot be the cheaper repair: a missing alias, or counts
    differing by more than `fraction` of the table (a lost index, a wiped shard)."""
    if documents is None:
        return True
    return abs(database - documents) > fraction * max(database, 1)


def stale_ids(rendered: Mapping[str, str], stored: Mapping[str, Any]) -> set[str]:
    """Sampled ids whose stored document is absent or differs from the rendered one."""
    return {i for i, text in rendered.items() if stored.get(i) != orjson.loads(text)}


class Verifier:
    """Compares the read model with the catalogue and repairs what differs."""

    def __init__(
        self,
        catalog: AuditCatalog,
        index: AuditIndex,
        rebuild: FullRebuild,
        notifier: CacheNotifier,
        options: SyncOptions,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._catalog = catalog
        self._index = index
        self._rebuild = rebuild
        self._notifier = notifier
        self._opt = options
        self._clock = clock
        self._next_at: float | None = None

    def due(self) -> bool:
        return self._next_at is None or self._clock() >= self._next_at

    async def verify_if_due(self) -> Verification | None:
        """`etl run` calls this whenever it is idle; start-up counts as due."""
        if not self.due():
            return None
        result = await self.verify()
        if result.outcome != "postponed":
            self._next_at = self._clock() + self._opt.verify_interval_seconds
        return result

    async def verify(self) -> Verification:
        """One check and its repair; recorded for `etl status`, logged either way."""
        started = self._clock()
        now = datetime.now(UTC).isoformat()
        async with self._catalog.exclusive() as session:
            pending = (await self._catalog.backlog()).pending
            if pending:
                # The queue explains differences of its own; check once it is drained.
                logger.debug("verification postponed: %d changes pending", pending)
                return Verification(now, "postponed")
            result = Verification(now, "consistent")
            rows = await self._catalog.counts()
            for name in INDEX_NAMES:
                check = await self._check(session, name, rows[name])
                result.indices[name] = check
                if far_apart(check.database, check.documents, self._opt.verify_rebuild_fraction):
                    result.rebuild_reason = (
                        f"verification: {self._index.alias(name)} holds {check.documents}"
                        f" documents for {check.database} rows"
                    )
            if result.rebuild_reason is None:
                if any(not check.consistent for check in result.indices.values()):
                    result.outcome = "repaired"
                await self._index.set_expected(
                    {self._index.alias(n): c.database for n, c in result.indices.items()}
                )
            else:
                result.outcome = "rebuilt"
            result.duration_seconds = round(self._clock() - started, 3)
            await session.record(STATE_KEY, result.state())
        if result.rebuild_reason is not None:
            await self._rebuild.rebuild(result.rebuild_reason)
        elif result.outcome == "repaired":
            self._notifier.changed()
            await self._notifier.flush()
        self._log(result)
        return result

    async def _check(self, session: AuditSession, name: str, database: int) -> IndexCheck:
        alias = self._index.alias(name)
        await self._index.refresh([alias])
        documents = await self._index.count(alias)
        check = IndexCheck(database, documents)
        if far_apart(database, documents, self._opt.verify_rebuild_fraction):
            return check
        repair: set[str] = set()
        if documents != database:
            # Counts alone cannot say which: compare the id sets.
            wanted = await session.ids(name)
            held = await self._index.ids(alias)
            check.missing = len(wanted - held)
            check.extra = len(held - wanted)
            repair |= wanted ^ held
        sample = [str(i) for i in await session.sample(name, self._opt.verify_sample_size)]
        rendered = {doc.id: doc.json for doc in await session.documents(name, map(UUID, sample))}
        stale = stale_ids(rendered, await self._index.sources(alias, sample))
        check.sampled, check.stale = len(sample), len(stale)
        repair |= stale
        if repair:
            check.repaired = await self._rewrite(session, name, map(UUID, repair))
            await self._index.refresh([alias])
        return check

    async def _rewrite(self, session: AuditSession, name: str, ids: Iterable[UUID]) -> int:
        alias = self._index.alias(name)
        written = 0
        for chunk in chunks(ids, self._opt.bulk_size):
            docs = await session.documents(name, chunk)
            written += await self._index.write(alias, actions(chunk, docs), require_alias=True)
        return written

    def _log(self, result: Verification) -> None:
        summary = {
            name: {k: v for k, v in asdict(check).items() if v}
            for name, check in result.indices.items()
        }
        log = logger.info if result.outcome == "consistent" else logger.warning
        log("verification %s in %.3fs: %s", result.outcome, result.duration_seconds, summary)
