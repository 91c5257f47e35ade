"""Synthetic catalogues of any size, for demos and scale tests.

Seeded and deterministic: the same `--films` and `--seed` give the same rows and
ids, so a second run changes nothing. The shape follows real catalogues: 1-4
genres per film with popular genres more common, a handful of directors and
writers and a cast of a few to fifteen actors, and people drawn from a skewed
(Zipf-like) popularity so a few appear in hundreds of films and most in a few.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from psycopg import AsyncConnection

from movies_etl import schema
from movies_etl.adapters.postgres import ANALYZE
from movies_etl.adapters.writer import insert_rows
from movies_etl.schema import Film, Genre, GenreLink, Person, PersonLink

logger = logging.getLogger(__name__)

# (name, relative popularity)
GENRES: Final = (
    ("Drama", 30), ("Comedy", 20), ("Thriller", 12), ("Action", 12), ("Romance", 10),
    ("Crime", 9), ("Adventure", 8), ("Horror", 7), ("Documentary", 6), ("Mystery", 5),
    ("Sci-Fi", 5), ("Fantasy", 5), ("Family", 4), ("Animation", 4), ("Biography", 3),
    ("History", 3), ("Music", 2), ("War", 2), ("Sport", 2), ("Musical", 1), ("Western", 1),
    ("Short", 1), ("Film-Noir", 1), ("Reality-TV", 1), ("Talk-Show", 1), ("Game-Show", 1),
)  # fmt: skip
_ADJECTIVES: Final = (
    "Silent", "Last", "Dark", "Golden", "Broken", "Hidden", "Lost", "Eternal", "Crimson",
    "Frozen", "Wild", "Secret", "Burning", "Distant", "Electric", "Forgotten", "Midnight",
    "Northern", "Shattered", "Restless", "Iron", "Hollow", "Brave", "Final", "Quiet",
)  # fmt: skip
_NOUNS: Final = (
    "River", "Empire", "Garden", "Storm", "Kingdom", "Signal", "Harbor", "Mirror", "Voyage",
    "Frontier", "Promise", "Station", "Shadow", "Horizon", "Letter", "Island", "Machine",
    "Protocol", "Symphony", "Orchard", "Citadel", "Labyrinth", "Comet", "Lighthouse", "Witness",
)  # fmt: skip
_RU_ADJECTIVES: Final = (
    "Тихий", "Последний", "Тёмный", "Золотой", "Северный", "Далёкий", "Ночной", "Белый",
)  # fmt: skip
# Cyrillic on purpose: the `title.ru` sub-field needs something to analyse.
_RU_NOUNS: Final = ("дом", "город", "берег", "поезд", "сад", "лес", "маяк", "путь")
_PLACES: Final = (
    "a small coastal town", "a failing space colony", "post-war Berlin", "a remote research station",
    "the Siberian taiga", "a crumbling Hollywood studio", "a Tokyo night market", "an island prison",
)  # fmt: skip
_HEROES: Final = (
    "a retired detective", "two estranged sisters", "a young engineer", "a disgraced surgeon",
    "an ambitious journalist", "a reluctant heir", "a rookie pilot", "a travelling musician",
)  # fmt: skip
_GOALS: Final = (
    "uncover a conspiracy", "win back a lost fortune", "survive one last winter",
    "find a missing child", "outwit a ruthless rival", "keep a dangerous promise",
    "rebuild a broken family", "stop a catastrophe nobody else believes in",
)  # fmt: skip
_FIRST: Final = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra",
    "Paul", "Ashley", "Steven", "Emily", "Andrew", "Donna", "Kenneth", "Michelle", "Ivan", "Olga",
    "Dmitri", "Anna", "Pierre", "Amelie", "Hiroshi", "Yuki", "Carlos", "Lucia", "Ahmed", "Fatima",
)  # fmt: skip
_LAST: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell",
    "Petrov", "Ivanova", "Dubois", "Moreau", "Tanaka", "Suzuki", "Rossi", "Bianchi", "Kowalski",
    "Novak", "Schmidt", "Fischer", "Haddad", "Okafor", "Silva", "Santos", "Larsen", "Nielsen",
)  # fmt: skip
_INITIALS: Final = tuple("ABCDEFGHJKLMNPRSTW")

FILM_TYPES: Final = (("movie", 80), ("tv_show", 20))
GENRES_PER_FILM: Final = ((1, 30), (2, 35), (3, 25), (4, 10))
DIRECTORS_PER_FILM: Final = ((0, 3), (1, 88), (2, 9))
WRITERS_PER_FILM: Final = ((0, 5), (1, 45), (2, 32), (3, 18))
PERSONS_PER_FILM: Final = 0.6
# Popularity of the person of rank r is 1 / (r + offset): with the offset at 1 % of
# the pool, the busiest person appears in a few hundred films at any catalogue size
# (as the busiest real actors do) while the median stays at a handful.
ZIPF_EXPONENT: Final = 1.0
ZIPF_OFFSET_SHARE: Final = 0.01
ZIPF_MIN_OFFSET: Final = 50


@dataclass(frozen=True, slots=True)
class GeneratedCounts:
    films: int
    genres: int
    persons: int
    genre_links: int
    person_links: int


class _Pool:
    """People of one role, drawn with Zipf-like popularity (a few busy ones, a long tail)."""

    def __init__(self, people: Sequence[UUID], rng: random.Random) -> None:
        self._people = list(people)
        rng.shuffle(self._people)
        offset = max(ZIPF_MIN_OFFSET, len(people) * ZIPF_OFFSET_SHARE)
        self._cum = list(
            itertools.accumulate(
                1.0 / (rank + offset) ** ZIPF_EXPONENT for rank in range(len(people))
            )
        )

    def draw(self, rng: random.Random, k: int) -> list[UUID]:
        total = self._cum[-1]
        picked = {
            self._people[bisect.bisect_left(self._cum, rng.random() * total)] for _ in range(k)
        }
        return sorted(picked)


def _weighted(rng: random.Random, table: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([value for value, _ in table], [weight for _, weight in table])[0]


class CatalogGenerator:
    """Yields a synthetic catalogue chunk by chunk; the same seed, the same catalogue."""

    def __init__(self, films: int, seed: int) -> None:
        self.films = films
        self.seed = seed
        self._rng = random.Random(f"movies-etl:{seed}:{films}")
        self.genres = [Genre(schema.genre_id(name), name, None) for name, _ in GENRES]
        self._genre_weights = [weight for _, weight in GENRES]
        persons = max(20, int(films * PERSONS_PER_FILM))
        self.persons = [Person(self._uuid(), self._name()) for _ in range(persons)]
        ids = [p.id for p in self.persons]
        # Overlapping slices: some directors also write, some writers also act.
        self._directors = _Pool(ids[: max(3, persons * 8 // 100)], self._rng)
        self._writers = _Pool(ids[persons * 5 // 100 : max(6, persons * 25 // 100)], self._rng)
        self._actors = _Pool(ids[persons * 15 // 100 :], self._rng)

    def _uuid(self) -> UUID:
        return UUID(int=self._rng.getrandbits(128), version=4)

    def _name(self) -> str:
        rng = self._rng
        initial = f" {rng.choice(_INITIALS)}." if rng.random() < 0.3 else ""
        return f"{rng.choice(_FIRST)}{initial} {rng.choice(_LAST)}"

    def _title(self) -> str:
        rng = self._rng
        if rng.random() < 0.1:
            return f"{rng.choice(_RU_ADJECTIVES)} {rng.choice(_RU_NOUNS)}"
        title = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        if rng.random() < 0.15:
            title += f" {rng.choice(('II', 'III', 'Returns', 'Reborn'))}"
        return title

    def _description(self) -> str | None:
        rng = self._rng
        if rng.random() < 0.25:
            return None
        return (
            f"In {rng.choice(_PLACES)}, {rng.choice(_HEROES)} must {rng.choice(_GOALS)}. "
            f"Meanwhile {rng.choice(_HEROES)} tries to {rng.choice(_GOALS)}."
        )

    def _film(self) -> Film:
        rng = self._rng
        rating = None if rng.random() < 0.02 else round(min(10.0, max(1.0, rng.gauss(6.4, 1.1))), 1)
        created = None
        if rng.random() > 0.05:
            created = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(95 * 365))
        return Film(self._uuid(), self._title(), self._description(), created, rating,
                    _weighted(rng, FILM_TYPES))  # fmt: skip

    def chunks(self, size: int) -> Iterator[tuple[list[Film], list[GenreLink], list[PersonLink]]]:
        """Films with all their links, `size` films at a time."""
        rng = self._rng
        for start in range(0, self.films, size):
            films: list[Film] = []
            glinks: list[GenreLink] = []
            plinks: list[PersonLink] = []
            for _ in range(min(size, self.films - start)):
                film = self._film()
                films.append(film)
                k = _weighted(rng, GENRES_PER_FILM)
                picked = {g.id for g in rng.choices(self.genres, self._genre_weights, k=k)}
                glinks.extend(GenreLink(self._uuid(), g, film.id) for g in sorted(picked))
                cast_size = min(15, max(1, round(rng.gauss(7, 3))))
                for role, people in (
                    ("director", self._directors.draw(rng, _weighted(rng, DIRECTORS_PER_FILM))),
                    ("writer", self._writers.draw(rng, _weighted(rng, WRITERS_PER_FILM))),
                    ("actor", self._actors.draw(rng, cast_size)),
                ):
                    plinks.extend(PersonLink(self._uuid(), p, film.id, role) for p in people)
            yield films, glinks, plinks


async def generate(
    conn: AsyncConnection[Any], films: int, seed: int, chunk_size: int = 5000
) -> GeneratedCounts:
    """Writes a synthetic catalogue; each chunk of films commits with all its links."""
    started = time.monotonic()
    gen = CatalogGenerator(films, seed)
    async with conn.transaction():
        await insert_rows(conn, "genre", schema.GENRE_COLUMNS, gen.genres)
    for start in range(0, len(gen.persons), chunk_size * 4):
        async with conn.transaction():
            await insert_rows(
                conn, "person", schema.PERSON_COLUMNS, gen.persons[start : start + chunk_size * 4]
            )
    logger.info("generate: %d persons written", len(gen.persons))
    done = glinks = plinks = 0
    for film_rows, genre_links, person_links in gen.chunks(chunk_size):
        async with conn.transaction():
            await insert_rows(conn, "film_work", schema.FILM_COLUMNS, film_rows)
            await insert_rows(conn, "genre_film_work", schema.GENRE_LINK_COLUMNS, genre_links)
            await insert_rows(conn, "person_film_work", schema.PERSON_LINK_COLUMNS, person_links)
        done += len(film_rows)
        glinks += len(genre_links)
        plinks += len(person_links)
        elapsed = time.monotonic() - started
        logger.info(
            "generate: %d/%d films (%.0f films/s)", done, films, done / elapsed if elapsed else 0
        )
    await conn.execute(ANALYZE)
    return GeneratedCounts(done, len(gen.genres), len(gen.persons), glinks, plinks)
