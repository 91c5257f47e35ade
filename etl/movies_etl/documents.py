"""Transform: the documents the API reads, assembled by PostgreSQL as JSON text.

Each query below reads a document's rows and renders the document in one go
(`row_to_json`, compact like orjson), and the ETL ships that text to Elasticsearch
untouched: decoding the rows and re-encoding documents in Python used to cost more
than everything else in a full load together.

Lists are ordered by name case-insensitively (Python's `str.casefold`), then
exactly, then by id: a total order, so documents are stable. The SQL reproduces it
without depending on the database's collation: ICU's lowercasing (collation
`und-x-icu`), then code-point comparisons (collation "C" on UTF-8). Lowercasing and
case folding differ only for a few characters (ß, final sigma, ligatures...); a
document containing one is re-sorted in Python by `in_python_order`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, LiteralString, NamedTuple

import orjson

from movies_index import GENRES, INDEX_NAMES, MOVIES, PERSONS, SPECS, Role

# The SQL spelling of `sort_key` for a list of rows `alias` labelled by `label`.
_BY_NAME: Final = 'lower({0}.{1} collate "und-x-icu") collate "C", {0}.{1} collate "C", {0}.id'

# Correlated sub-selects keep each document's links next to it, so one query serves
# a handful of ids (incremental, with a `where` appended) and a server-side cursor
# over a whole table (full load). Field order is the documents' key order.
FILM_DOCUMENTS: Final = f"""
select fw.id::text, row_to_json(d)::text
from content.film_work fw
cross join lateral (
    select fw.id, fw.title, fw.description,
        -- A double precision prints as "8" in JSON; orjson, and so the documents
        -- the API knows, print "8.0" (and null for NaN and infinities).
        case
            when fw.rating in ('NaN', 'Infinity', '-Infinity') then null
            when fw.rating = trunc(fw.rating) and abs(fw.rating) < 1e15
                then to_json(fw.rating::numeric(16, 1))
            else to_json(fw.rating)
        end as imdb_rating,
        fw.type, fw.creation_date,
        coalesce((
            select array_to_json(array_agg(g order by {_BY_NAME.format("g", "name")}))
            from (
                select g.id, g.name
                from content.genre_film_work gfw join content.genre g on g.id = gfw.genre_id
                where gfw.film_work_id = fw.id
            ) g
        ), '[]') as genres,
        coalesce(people.actors, '[]') as actors,
        coalesce(people.writers, '[]') as writers,
        coalesce(people.directors, '[]') as directors
    from (
        select
            array_to_json(array_agg(x order by {_BY_NAME.format("x", "full_name")})
                filter (where pfw.role = '{Role.ACTOR.value}')) as actors,
            array_to_json(array_agg(x order by {_BY_NAME.format("x", "full_name")})
                filter (where pfw.role = '{Role.WRITER.value}')) as writers,
            array_to_json(array_agg(x order by {_BY_NAME.format("x", "full_name")})
                filter (where pfw.role = '{Role.DIRECTOR.value}')) as directors
        from content.person_film_work pfw
        join content.person p on p.id = pfw.person_id
        cross join lateral (select p.id, p.full_name) x
        where pfw.film_work_id = fw.id
    ) people
) d
"""

# One entry per film, with every role the person has in it.
PERSON_DOCUMENTS: Final = f"""
select p.id::text, row_to_json(d)::text
from content.person p
cross join lateral (
    select p.id, p.full_name, coalesce((
        select array_to_json(array_agg(f order by {_BY_NAME.format("f", "title")}))
        from (
            select fw.id, fw.title, array_agg(pfw.role order by pfw.role collate "C") as roles
            from content.person_film_work pfw
            join content.film_work fw on fw.id = pfw.film_work_id
            where pfw.person_id = p.id
            group by fw.id
        ) f
    ), '[]') as films
) d
"""

GENRE_DOCUMENTS: Final = """
select g.id::text, row_to_json(d)::text
from content.genre g
cross join lateral (
    select g.id, g.name, g.description,
        (select count(*) from content.genre_film_work gfw where gfw.genre_id = g.id)
            as film_count
) d
"""


class DocumentSql(NamedTuple):
    """How PostgreSQL renders one index's documents."""

    # Every document, one row each: (id, JSON text).
    query: LiteralString
    # The column a `where` on ids filters, for a handful of documents.
    id_column: LiteralString
    # The table with one row per document, to count them.
    table: LiteralString

    @property
    def by_ids(self) -> LiteralString:
        """`query` for the ids given as its one parameter (a list)."""
        return self.query + " where " + self.id_column + " = any(%s)"


DOCUMENTS: Final[Mapping[str, DocumentSql]] = {
    MOVIES: DocumentSql(FILM_DOCUMENTS, "fw.id", "content.film_work"),
    GENRES: DocumentSql(GENRE_DOCUMENTS, "g.id", "content.genre"),
    PERSONS: DocumentSql(PERSON_DOCUMENTS, "p.id", "content.person"),
}
assert set(DOCUMENTS) == set(INDEX_NAMES), "every index needs its documents' SQL"


def sort_key(name: str, item_id: str) -> tuple[str, str, str]:
    """The order of every list: case-insensitive first, then exact, then id."""
    return (name.casefold(), name, item_id)


def in_python_order(index: str, source: str) -> str:
    """`source` with its lists in `sort_key` order, whatever characters they hold.

    The SQL lowercases where Python case-folds; the two agree unless the text holds
    one of the few characters they treat differently, so only then is the document
    decoded and re-sorted (ASCII text, nearly every document, is not even scanned).
    """
    if source.isascii() or source.lower() == source.casefold():
        return source
    doc = orjson.loads(source)
    for field, label in SPECS[index].ordered_lists.items():
        doc[field] = sorted(doc[field], key=_by(label))
    return orjson.dumps(doc).decode()


def _by(label: str) -> Callable[[dict[str, Any]], tuple[str, str, str]]:
    return lambda item: sort_key(item[label], item["id"])
