"""The service layer against in-memory fakes: acknowledgement order, retries, rebuilds."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest

from movies_etl.adapters.search import TransientBulkError
from movies_etl.bootstrap import services
from movies_etl.domain import Action, Backlog, Change, Counts, Delete, Source, Upsert
from movies_etl.service import IncrementalSync, SyncOptions

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
OPTIONS = SyncOptions(
    batch_size=10,
    bulk_size=10,
    bulk_concurrency=2,
    fetch_size=10,
    retry_initial_seconds=0.001,
    retry_max_seconds=0.001,
    retry_give_up_seconds=5,
    old_index_grace_seconds=0,
)


@dataclass(frozen=True)
class FilmRow:
    """A film and its links; the fake renders a small document from it."""

    id: UUID
    title: str
    genres: list[UUID] = field(default_factory=list)
    # (person id, full name)
    actors: list[tuple[UUID, str]] = field(default_factory=list)

    def source(self) -> Source:
        actors = [{"id": str(p), "full_name": n} for p, n in self.actors]
        return _source(self.id, {"title": self.title, "actors": actors})


@dataclass(frozen=True)
class PersonRow:
    id: UUID
    full_name: str

    def source(self) -> Source:
        return _source(self.id, {"full_name": self.full_name})


@dataclass(frozen=True)
class GenreRow:
    id: UUID
    name: str

    def source(self) -> Source:
        return _source(self.id, {"name": self.name})


def _source(id_: UUID, fields: dict[str, Any]) -> Source:
    return Source(str(id_), orjson.dumps({"id": str(id_), **fields}).decode())


@dataclass
class FakeCatalog:
    """Tables as rows plus the change queue; enough for the service layer."""

    films: dict[UUID, FilmRow] = field(default_factory=dict)
    persons: dict[UUID, PersonRow] = field(default_factory=dict)
    genres: dict[UUID, GenreRow] = field(default_factory=dict)
    queue: list[Change] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    snapshots_acknowledged: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)

    def change(self, entity: str, entity_id: UUID, op: str = "U") -> None:
        self.queue.append(Change.from_row(len(self.queue) + 1, entity, entity_id, None, op, NOW))

    def table(self, index: str) -> Mapping[UUID, FilmRow | PersonRow | GenreRow]:
        tables: dict[str, Mapping[UUID, FilmRow | PersonRow | GenreRow]] = {
            "movies": self.films,
            "persons": self.persons,
            "genres": self.genres,
        }
        return tables[index]

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[FakeSession]:
        yield FakeSession(self)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[FakeSnapshot]:
        yield FakeSnapshot(self)

    async def get_state(self, key: str) -> Any:
        return self.state.get(key)

    async def load_state(self) -> dict[str, Any]:
        return dict(self.state)

    async def counts(self) -> Counts:
        return {"movies": len(self.films), "genres": len(self.genres), "persons": len(self.persons)}

    async def backlog(self) -> Backlog:
        return Backlog(len(self.queue), None)

    async def wait_for_change(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return False


class FakeReader:
    def __init__(self, catalog: FakeCatalog) -> None:
        self.c = catalog

    async def documents(self, index: str, ids: Iterable[UUID]) -> list[Source]:
        rows = self.c.table(index)
        return [rows[i].source() for i in ids if i in rows]


class FakeSession(FakeReader):
    async def fetch_changes(self, limit: int, max_seq: int | None = None) -> list[Change]:
        return [c for c in self.c.queue if max_seq is None or c.seq <= max_seq][:limit]

    async def max_seq(self) -> int | None:
        return max((c.seq for c in self.c.queue), default=None)

    async def pending_at_least(self, n: int) -> bool:
        return len(self.c.queue) >= n

    async def analyze(self) -> None:
        return None

    async def films_of_persons(self, ids: Iterable[UUID]) -> set[UUID]:
        wanted = set(ids)
        return {f.id for f in self.c.films.values() if wanted & {p for p, _ in f.actors}}

    async def films_of_genres(self, ids: Iterable[UUID]) -> set[UUID]:
        wanted = set(ids)
        return {f.id for f in self.c.films.values() if wanted & set(f.genres)}

    async def persons_of_films(self, ids: Iterable[UUID]) -> set[UUID]:
        return {p for i in ids if i in self.c.films for p, _ in self.c.films[i].actors}

    async def acknowledge(self, seqs: Sequence[int], state_key: str, state: dict[str, Any]) -> None:
        self.c.queue = [c for c in self.c.queue if c.seq not in set(seqs)]
        self.c.state[state_key] = state

    async def acknowledge_snapshot(self, snapshot: str, states: dict[str, dict[str, Any]]) -> int:
        self.c.snapshots_acknowledged.append(snapshot)
        done = len(self.c.queue)
        self.c.queue.clear()
        self.c.state.update(states)
        return done


class FakeSnapshot:
    token = "snapshot-1"

    def __init__(self, catalog: FakeCatalog) -> None:
        self.c = catalog

    async def stream(self, index: str, size: int) -> AsyncGenerator[list[Source]]:
        yield [row.source() for row in self.c.table(index).values()]


@dataclass
class FakeIndex:
    """Concrete indices, aliases, and a switch to refuse the next bulk requests."""

    prefix: str = "t_"
    docs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    fail_next_writes: int = 0
    queue_seen_at_write: list[int] = field(default_factory=list)
    catalog: FakeCatalog | None = None
    generations: int = 0

    def alias(self, name: str) -> str:
        return f"{self.prefix}{name}"

    async def write(
        self, index: str, actions: Iterable[Action], require_alias: bool = False
    ) -> int:
        if self.catalog is not None:
            self.queue_seen_at_write.append(len(self.catalog.queue))
        if self.fail_next_writes:
            self.fail_next_writes -= 1
            raise TransientBulkError("429 too many requests")
        target = self.docs[self.aliases.get(index, index)]
        actions = list(actions)
        for a in actions:
            if isinstance(a, Upsert):
                target[a.id] = orjson.loads(a.source)
            elif isinstance(a, Delete):
                target.pop(a.id, None)
        return len(actions)

    async def refresh(self, targets: Iterable[str]) -> None:
        return None

    async def current(self) -> dict[str, list[str]]:
        return {
            self.alias(n): [self.aliases[self.alias(n)]] if self.alias(n) in self.aliases else []
            for n in ("movies", "genres", "persons")
        }

    async def create_generation(self) -> dict[str, str]:
        self.generations += 1
        names = {n: f"{self.alias(n)}_v{self.generations}" for n in ("movies", "genres", "persons")}
        for index in names.values():
            self.docs[index] = {}
        return names

    async def publish_generation(self, generation: Mapping[str, str]) -> list[str]:
        old = [self.aliases[self.alias(n)] for n in generation if self.alias(n) in self.aliases]
        self.aliases.update({self.alias(n): index for n, index in generation.items()})
        return old

    async def drop(self, names: Iterable[str], grace_seconds: float = 0.0) -> None:
        for name in names:
            self.docs.pop(name, None)

    async def orphans(self) -> list[str]:
        return [i for i in self.docs if i not in self.aliases.values()]

    async def count(self, alias: str) -> int | None:
        return len(self.docs[self.aliases[alias]]) if alias in self.aliases else None


@dataclass
class FakeCache:
    fail_next: int = 0
    signals: int = 0
    delivered: asyncio.Event = field(default_factory=asyncio.Event)

    async def signal(self) -> bool:
        if self.fail_next:
            self.fail_next -= 1
            return False
        self.signals += 1
        self.delivered.set()
        return True


def film(title: str, person: tuple[UUID, str] | None = None) -> FilmRow:
    return FilmRow(uuid4(), title, actors=[person] if person else [])


@pytest.fixture
def world() -> tuple[FakeCatalog, FakeIndex, FakeCache, IncrementalSync]:
    catalog = FakeCatalog()
    index = FakeIndex(catalog=catalog)
    cache = FakeCache()
    return catalog, index, cache, services(catalog, index, cache, OPTIONS).sync


World = tuple[FakeCatalog, FakeIndex, FakeCache, IncrementalSync]


async def test_first_pass_rebuilds_and_records_the_generation(world: World) -> None:
    catalog, index, cache, sync = world
    f = film("Solaris")
    catalog.films[f.id] = f
    catalog.change("film_work", f.id, "I")

    await sync.run_once()

    assert index.docs[index.aliases["t_movies"]][str(f.id)]["title"] == "Solaris"
    assert catalog.snapshots_acknowledged == ["snapshot-1"]
    assert catalog.state["generation:t_"] == {
        "t_movies": "t_movies_v1", "t_genres": "t_genres_v1", "t_persons": "t_persons_v1"
    }  # fmt: skip
    assert cache.signals >= 1


async def test_queue_rows_are_dropped_only_after_elasticsearch_accepted(world: World) -> None:
    catalog, index, _, sync = world
    await sync.run_once()
    who = uuid4()
    catalog.persons[who] = PersonRow(who, "Stanislaw Lem")
    f = film("Solaris", (who, "Stanislaw Lem"))
    catalog.films[f.id] = f
    catalog.change("person", who, "U")
    index.fail_next_writes = 2
    index.queue_seen_at_write.clear()

    await sync.run_once()

    # Two refused writes and the retries all saw the change still queued.
    assert index.queue_seen_at_write[:3] == [1, 1, 1]
    assert catalog.queue == []
    movies = index.docs[index.aliases["t_movies"]]
    assert movies[str(f.id)]["actors"] == [{"id": str(who), "full_name": "Stanislaw Lem"}]


async def test_a_vanished_row_is_deleted_from_the_index(world: World) -> None:
    catalog, index, _, sync = world
    f = film("Stalker")
    catalog.films[f.id] = f
    await sync.run_once()
    del catalog.films[f.id]
    catalog.change("film_work", f.id, "D")

    await sync.run_once()

    assert str(f.id) not in index.docs[index.aliases["t_movies"]]


async def test_a_failed_cache_signal_is_retried(world: World) -> None:
    catalog, _, cache, sync = world
    await sync.run_once()
    before = cache.signals
    f = film("Mirror")
    catalog.films[f.id] = f
    catalog.change("film_work", f.id, "I")
    cache.fail_next = 1

    await sync.run_once()

    # Refused once, delivered on the next turn of the loop.
    assert cache.fail_next == 0
    assert cache.signals == before + 1


async def test_an_idle_run_retries_a_refused_cache_signal_within_a_second(world: World) -> None:
    """After a Redis restart the news reaches the API's caches within a second, not a poll."""
    catalog, _, cache, sync = world
    f = film("Mirror")
    catalog.films[f.id] = f
    catalog.change("film_work", f.id, "I")
    cache.fail_next = 3  # Redis refuses a few times, as while it restarts
    stop = asyncio.Event()
    run = asyncio.create_task(sync.run_forever(stop))
    try:
        async with asyncio.timeout(5):
            await cache.delivered.wait()
    finally:
        stop.set()
        await run

    assert OPTIONS.poll_interval_seconds > 1
    # While the signal was pending, the idle wait was the short retry.
    assert catalog.waits[0] == OPTIONS.signal_retry_seconds <= 1


async def test_aliases_not_built_by_this_etl_are_rebuilt(world: World) -> None:
    _, index, _, sync = world
    await sync.run_once()
    index.aliases["t_movies"] = "someone_elses_index"
    index.docs["someone_elses_index"] = {}

    assert await sync.rebuild.reason() == "the aliases point to indices this ETL did not build"
    await sync.run_once()

    assert await sync.rebuild.reason() is None
    assert index.aliases["t_movies"] == "t_movies_v2"
