"""The ETL's self-check against in-memory fakes: what it finds, how it repairs, what it records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest

from movies_etl.bootstrap import services
from movies_etl.service import IncrementalSync, Verifier
from movies_etl.service.verify import STATE_KEY, far_apart, stale_ids
from tests.unit.test_etl_service import (
    OPTIONS,
    FakeCache,
    FakeCatalog,
    FakeIndex,
    FakeSession,
    PersonRow,
    film,
)


class AuditFakeSession(FakeSession):
    async def ids(self, index: str) -> set[str]:
        return {str(i) for i in self.c.table(index)}

    async def sample(self, index: str, size: int) -> list[UUID]:
        return list(self.c.table(index))[:size]

    async def record(self, key: str, state: dict[str, Any]) -> None:
        self.c.state[key] = state


@dataclass
class AuditFakeCatalog(FakeCatalog):
    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[AuditFakeSession]:
        yield AuditFakeSession(self)


@dataclass
class AuditFakeIndex(FakeIndex):
    expected: dict[str, int] = field(default_factory=dict)

    async def ids(self, alias: str) -> set[str]:
        return set(self.docs[self.aliases[alias]])

    async def sources(self, alias: str, ids: Iterable[str]) -> dict[str, Any]:
        held = self.docs[self.aliases[alias]]
        return {i: held[i] for i in ids if i in held}

    async def set_expected(self, expected: Mapping[str, int]) -> None:
        self.expected.update(expected)


World = tuple[AuditFakeCatalog, AuditFakeIndex, IncrementalSync, Verifier]


@pytest.fixture
async def world() -> World:
    """A catalogue of 20 films and 5 people, fully indexed."""
    catalog = AuditFakeCatalog()
    index = AuditFakeIndex(catalog=catalog)
    for n in range(20):
        f = film(f"Film {n}")
        catalog.films[f.id] = f
    for n in range(5):
        p = PersonRow(UUID(int=n + 1), f"Person {n}")
        catalog.persons[p.id] = p
    wired = services(catalog, index, FakeCache(), OPTIONS, (catalog, index))
    assert wired.verifier is not None
    await wired.sync.run_once()
    return catalog, index, wired.sync, wired.verifier


def movies(index: AuditFakeIndex) -> dict[str, dict[str, Any]]:
    return index.docs[index.aliases["t_movies"]]


async def test_a_consistent_index_is_left_alone_and_the_check_recorded(world: World) -> None:
    catalog, index, _, verifier = world
    result = await verifier.verify()
    assert result.outcome == "consistent"
    assert result.indices["movies"].documents == result.indices["movies"].database == 20
    assert catalog.state[STATE_KEY]["outcome"] == "consistent"
    assert index.expected == {"t_movies": 20, "t_genres": 0, "t_persons": 5}


async def test_documents_deleted_behind_its_back_come_back(world: World) -> None:
    catalog, index, _, verifier = world
    lost = sorted(movies(index))[:2]
    for doc_id in lost:
        del movies(index)[doc_id]
    generations = index.generations

    result = await verifier.verify()

    assert result.outcome == "repaired"
    assert result.indices["movies"].missing == 2
    assert set(lost) <= set(movies(index))
    assert index.generations == generations, "a few missing ids are replayed, not rebuilt"
    assert catalog.state[STATE_KEY]["indices"]["movies"]["repaired"] >= 2


async def test_a_stale_document_in_the_sample_is_rewritten(world: World) -> None:
    _, index, _, verifier = world
    doc_id = sorted(movies(index))[0]
    movies(index)[doc_id] = {**movies(index)[doc_id], "title": "edited by hand"}

    result = await verifier.verify()

    assert result.outcome == "repaired"
    assert result.indices["movies"].stale == 1
    assert movies(index)[doc_id]["title"] != "edited by hand"


async def test_an_emptied_index_is_rebuilt(world: World) -> None:
    catalog, index, _, verifier = world
    movies(index).clear()
    generations = index.generations

    result = await verifier.verify()

    assert result.outcome == "rebuilt"
    assert index.generations == generations + 1
    assert len(movies(index)) == len(catalog.films)


async def test_verification_waits_for_a_drained_queue(world: World) -> None:
    catalog, _, _, verifier = world
    f = film("New")
    catalog.films[f.id] = f
    catalog.change("film_work", f.id, "I")

    assert (await verifier.verify_if_due()) is not None
    assert verifier.due(), "a postponed check stays due"
    assert (await verifier.verify()).outcome == "postponed"


def test_far_apart_means_a_missing_alias_or_a_large_share() -> None:
    assert far_apart(100, None, 0.2)
    assert far_apart(100, 0, 0.2)
    assert not far_apart(100, 90, 0.2)
    assert not far_apart(0, 0, 0.2)


def test_stale_ids_compare_decoded_documents() -> None:
    rendered = {"a": '{"id":"a","x":1.5}', "b": '{"id":"b"}', "c": '{"id":"c"}'}
    stored = {"a": {"id": "a", "x": 1.5}, "b": {"id": "b", "x": 2}}
    assert stale_ids(rendered, stored) == {"b", "c"}
