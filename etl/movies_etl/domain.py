"""What the ETL reasons about, free of any store: queued changes, the documents they
make stale, and what is written for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, TypeVar
from uuid import UUID

from movies_index import GENRES, MOVIES, PERSONS

E = TypeVar("E", bound=StrEnum)


class Entity(StrEnum):
    """The table a queued change comes from (`content.etl_change.entity`)."""

    FILM = "film_work"
    GENRE = "genre"
    PERSON = "person"
    GENRE_LINK = "genre_film_work"
    PERSON_LINK = "person_film_work"
    # Some table was truncated: only a full rebuild is sure to be right.
    TRUNCATE = "truncate"


class ChangeOp(StrEnum):
    """What happened to the row (`content.etl_change.op`, written by the triggers)."""

    INSERTED = "I"
    # An update of what other documents show too: a film's title, a person's or a
    # genre's name.
    UPDATED_SHOWN = "U"
    # An update only the row's own document shows: a rating, a description.
    UPDATED_OWN = "u"
    DELETED = "D"
    TRUNCATED = "T"


def _parse(kind: type[E], value: str) -> E | None:
    try:
        return kind(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Change:
    """One queued row: something about an entity may be stale.

    `entity` or `op` is None when this version does not know the value (a newer
    migration wrote it): only a full rebuild is then sure to be right.
    """

    seq: int
    entity: Entity | None
    entity_id: UUID | None
    film_id: UUID | None
    op: ChangeOp | None
    changed_at: dt.datetime

    @classmethod
    def from_row(
        cls,
        seq: int,
        entity: str,
        entity_id: UUID | None,
        film_id: UUID | None,
        op: str,
        changed_at: dt.datetime,
    ) -> Change:
        return cls(
            seq, _parse(Entity, entity), entity_id, film_id, _parse(ChangeOp, op), changed_at
        )


# Rows per source table, keyed by the index their documents go to.
Counts = Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Backlog:
    """What is waiting in the change queue."""

    pending: int
    oldest_age_seconds: float | None


class Source(NamedTuple):
    """One document as Elasticsearch stores it: its id and its JSON text."""

    id: str
    json: str


@dataclass(frozen=True, slots=True)
class Upsert:
    """Replace the whole document: the ETL always writes complete documents.

    `source` is the document's JSON text, sent as it is: never decoded here.
    """

    id: str
    source: str


@dataclass(frozen=True, slots=True)
class Delete:
    id: str


Action = Upsert | Delete


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
    an update of what the neighbours show (`UPDATED_SHOWN`) reaches them: a renamed
    person shows in every film that lists them, a renamed film in every person's
    filmography, a renamed genre in its films. Any other update (a rating, a
    genre's description) rebuilds the row's own document only.
    """
    plan = Plan()
    for change in changes:
        entity_id, film_id = change.entity_id, change.film_id
        shown = change.op is ChangeOp.UPDATED_SHOWN
        match change.entity:
            case _ if change.op is None:
                plan.rebuild = True
            case Entity.FILM if entity_id:
                plan.films.add(entity_id)
                if shown:
                    plan.persons_of_films.add(entity_id)
            case Entity.PERSON if entity_id:
                plan.persons.add(entity_id)
                if shown:
                    plan.films_of_persons.add(entity_id)
            case Entity.GENRE if entity_id:
                plan.genres.add(entity_id)
                if shown:
                    plan.films_of_genres.add(entity_id)
            case Entity.PERSON_LINK if entity_id and film_id:
                plan.films.add(film_id)
                plan.persons.add(entity_id)
            case Entity.GENRE_LINK if entity_id and film_id:
                plan.films.add(film_id)
                plan.genres.add(entity_id)
            case _:
                # A truncate, or a row this version does not understand.
                plan.rebuild = True
    return plan


def stale_documents(plan: Plan, films: set[UUID], persons: set[UUID]) -> dict[str, set[UUID]]:
    """Index name -> ids to rewrite, given the plan and its neighbours resolved."""
    return {MOVIES: plan.films | films, PERSONS: plan.persons | persons, GENRES: set(plan.genres)}


def chunks(items: Iterable[UUID], size: int) -> Iterator[list[UUID]]:
    batch: list[UUID] = []
    for item in sorted(items):
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def actions(wanted: Sequence[UUID], docs: Sequence[Source]) -> list[Action]:
    """Upserts for documents whose rows exist, deletes for ids that no longer do."""
    found = {doc.id for doc in docs}
    result: list[Action] = [Upsert(doc.id, doc.json) for doc in docs]
    result.extend(Delete(str(i)) for i in wanted if str(i) not in found)
    return result
