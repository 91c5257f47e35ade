"""A small hand-made catalogue the API tests index themselves.

Small enough to know every answer by heart, shaped to hit the edge cases: a
film without rating or description, a Russian title and plot, a person in
several roles, a genre with no films, titles that differ only in case.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk

import movies_index as indices
from movies_etl.adapters.search import create_versioned_index, indices_behind_alias, swap_aliases

G_ACTION = "11111111-0000-4000-8000-000000000001"
G_DRAMA = "11111111-0000-4000-8000-000000000002"
G_SCIFI = "11111111-0000-4000-8000-000000000003"
G_COMEDY = "11111111-0000-4000-8000-000000000004"
G_WESTERN = "11111111-0000-4000-8000-000000000005"

P_LUCAS = "22222222-0000-4000-8000-000000000001"
P_HAMILL = "22222222-0000-4000-8000-000000000002"
P_FORD = "22222222-0000-4000-8000-000000000003"
P_TARKOVSKY = "22222222-0000-4000-8000-000000000004"

F_NEW_HOPE = "3d825f60-9fff-4dfe-b294-1a45fa1e115d"
F_EMPIRE = "33333333-0000-4000-8000-000000000002"
F_SOLARIS = "33333333-0000-4000-8000-000000000003"
F_UNRATED = "33333333-0000-4000-8000-000000000004"
F_QUIET = "33333333-0000-4000-8000-000000000005"
F_COMEDY = "33333333-0000-4000-8000-000000000006"
MISSING = "99999999-0000-4000-8000-000000000000"

GENRE_NAMES = {
    G_ACTION: "Action",
    G_DRAMA: "Drama",
    G_SCIFI: "Sci-Fi",
    G_COMEDY: "Comedy",
    G_WESTERN: "Western",
}
PERSON_NAMES = {
    P_LUCAS: "George Lucas",
    P_HAMILL: "Mark Hamill",
    P_FORD: "Harrison Ford",
    P_TARKOVSKY: "Андрей Тарковский",
}


def _people(*ids: str) -> list[dict[str, str]]:
    return sorted(
        ({"id": i, "full_name": PERSON_NAMES[i]} for i in ids), key=lambda p: p["full_name"]
    )


def _genres(*ids: str) -> list[dict[str, str]]:
    return sorted(({"id": i, "name": GENRE_NAMES[i]} for i in ids), key=lambda g: g["name"])


def _film(
    fid: str,
    title: str,
    rating: float | None,
    description: str | None,
    genres: list[str],
    actors: tuple[str, ...] = (),
    writers: tuple[str, ...] = (),
    directors: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "id": fid,
        "title": title,
        "imdb_rating": rating,
        "description": description,
        "type": "movie",
        "creation_date": None,
        "genres": _genres(*genres),
        "actors": _people(*actors),
        "writers": _people(*writers),
        "directors": _people(*directors),
    }


FILMS = [
    _film(
        F_NEW_HOPE,
        "Star Wars: Episode IV - A New Hope",
        8.6,
        "Luke Skywalker joins forces with a Jedi Knight to rescue a princess.",
        [G_ACTION, G_SCIFI],
        (P_HAMILL, P_FORD),
        (P_LUCAS,),
        (P_LUCAS,),
    ),
    _film(
        F_EMPIRE,
        "Star Wars: Episode V - The Empire Strikes Back",
        8.7,
        "The rebels are brutally overpowered by the Empire on the ice planet Hoth.",
        [G_ACTION, G_SCIFI],
        (P_HAMILL, P_FORD),
        (P_LUCAS,),
    ),
    _film(
        F_SOLARIS,
        "Солярис",
        8.0,
        "Психолог отправляется на космическую станцию над океаном планеты.",
        [G_DRAMA, G_SCIFI],
        directors=(P_TARKOVSKY,),
    ),
    _film(F_UNRATED, "The Unrated Film", None, None, [G_DRAMA]),
    _film(F_QUIET, "a quiet drama", 5.0, "Nothing happens, beautifully.", [G_DRAMA]),
    _film(
        F_COMEDY, "Zany Stars", 6.1, "Stand-up comedians in space.", [G_COMEDY], actors=(P_FORD,)
    ),
]


def _genre_docs() -> list[dict[str, Any]]:
    counts = {
        gid: sum(any(g["id"] == gid for g in f["genres"]) for f in FILMS) for gid in GENRE_NAMES
    }
    return [
        {"id": gid, "name": name, "description": None, "film_count": counts[gid]}
        for gid, name in GENRE_NAMES.items()
    ]


def _person_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for pid, name in PERSON_NAMES.items():
        films: list[dict[str, Any]] = []
        for f in FILMS:
            roles = [
                role
                for field, role in (
                    ("actors", "actor"),
                    ("writers", "writer"),
                    ("directors", "director"),
                )
                if any(p["id"] == pid for p in f[field])
            ]
            if roles:
                films.append({"id": f["id"], "title": f["title"], "roles": sorted(roles)})
        docs.append(
            {"id": pid, "full_name": name, "films": sorted(films, key=lambda x: x["title"])}
        )
    return docs


DOCS = {indices.MOVIES: FILMS, indices.GENRES: _genre_docs(), indices.PERSONS: _person_docs()}


async def load(es: AsyncElasticsearch, prefix: str) -> None:
    """(Re)creates the three aliases under `prefix` and indexes the catalogue."""
    for name in indices.INDEX_NAMES:
        alias = indices.alias_name(name, prefix)
        old = await indices_behind_alias(es, alias)
        index = await create_versioned_index(es, name, prefix)
        await async_bulk(
            es,
            ({"_index": index, "_id": d["id"], "_source": d} for d in DOCS[name]),
            refresh="wait_for",
        )
        await swap_aliases(es, {alias: index})
        for o in old:
            await es.indices.delete(index=o)
