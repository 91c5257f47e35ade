"""The study's workload: a seeded, streamed generator of ratings, reviews, votes and bookmarks.

Skew is what makes a UGC store hard, so it is built in: film popularity and user activity
follow Zipf-Mandelbrot laws (weight ∝ 1/(rank + q)), so a few films get most ratings and
reviews and a few users most of the writes. Counts per film and per user are allotted
deterministically from those weights; the rows of film (or user) i come from a random
generator seeded with (seed, table, i), so every table can be streamed on its own, in any
order, one partition at a time, and the same seed gives the same rows. Memory is bounded
by the per-film/per-user count tables (O(films + users)), never by the number of rows.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

# Full scale: the sizes. --scale multiplies every count (films and users too).
FULL_RATINGS: Final = 10_000_000
FULL_REVIEWS: Final = 1_000_000
FULL_VOTES: Final = 5_000_000
FULL_BOOKMARKS: Final = 2_000_000
FULL_FILMS: Final = 20_000
FULL_USERS: Final = 1_000_000
MIN_FILMS: Final = 50
MIN_USERS: Final = 2_000

# Zipf-Mandelbrot offsets: the top film gets ~1.2% of all ratings at full scale (120k),
# the most active user ~0.1% (10k ratings).
FILM_Q: Final = 10.0
USER_Q: Final = 100.0
# No film is rated by more than this share of users, no user bookmarks more than this
# share of films (keeps distinct sampling cheap at tiny scales).
MAX_SHARE: Final = 0.5
# Rows span three years before this instant.
EPOCH_END: Final = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())
SPAN_S: Final = 3 * 365 * 86_400
REVIEW_WORDS_MEAN: Final = 60
REVIEW_MAX_CHARS: Final = 5_000

FILM: Final = 1
USER: Final = 2
REVIEW: Final = 3
_MASK48: Final = (1 << 48) - 1
_MIX: Final = 0x9E3779B97F4B  # odd: n * _MIX mod 2^48 is a bijection


def uuid_int(kind: int, n: int) -> int:
    """A distinct, random-looking version-4 UUID (as an int) for entity n of a kind.

    The high bits are a bijective hash of n, so ids spread over the key space the way
    real random UUIDs do (B-tree inserts land anywhere, not at the right edge).
    """
    h = ((n * _MIX) ^ (kind * 0x5BD1E995)) & _MASK48
    return (h << 80) | ((0x4000 | kind) << 64) | (0x8000 << 48) | n


def uuid_hex(kind: int, n: int) -> str:
    """The same UUID as 32 hex digits (PostgreSQL's uuid input takes them without dashes)."""
    return f"{uuid_int(kind, n):032x}"


_WORDS: Final = [
    "film",
    "story",
    "actor",
    "actress",
    "plot",
    "scene",
    "camera",
    "music",
    "score",
    "ending",
    "twist",
    "character",
    "director",
    "script",
    "dialogue",
    "pacing",
    "visual",
    "effects",
    "drama",
    "comedy",
    "thriller",
    "horror",
    "romance",
    "action",
    "slow",
    "brilliant",
    "boring",
    "moving",
    "funny",
    "dark",
    "beautiful",
    "shot",
    "sequel",
    "original",
    "performance",
    "cast",
    "role",
    "soundtrack",
    "editing",
    "light",
    "colour",
    "mood",
    "tension",
    "hero",
    "villain",
    "world",
    "mystery",
    "war",
    "love",
    "family",
    "journey",
    "city",
    "night",
    "summer",
    "time",
    "memory",
    "dream",
    "truth",
    "power",
    "fear",
    "hope",
    "loss",
    "friendship",
    "the",
    "a",
    "an",
    "and",
    "but",
    "or",
    "of",
    "to",
    "in",
    "on",
    "with",
    "for",
    "from",
    "at",
    "by",
    "is",
    "was",
    "it",
    "this",
    "that",
    "very",
    "quite",
    "too",
]


@dataclass(frozen=True, slots=True)
class Sizes:
    ratings: int
    reviews: int
    votes: int
    bookmarks: int
    films: int
    users: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        if scale <= 0:
            raise ValueError("scale must be positive")
        return cls(
            ratings=round(FULL_RATINGS * scale),
            reviews=round(FULL_REVIEWS * scale),
            votes=round(FULL_VOTES * scale),
            bookmarks=round(FULL_BOOKMARKS * scale),
            films=max(MIN_FILMS, round(FULL_FILMS * scale)),
            users=max(MIN_USERS, round(FULL_USERS * scale)),
        )


@dataclass(frozen=True, slots=True)
class Ratings:
    """One film's ratings (one partition in Cassandra)."""

    film: int
    users: list[int]
    scores: list[int]
    times: list[int]  # unix seconds


@dataclass(frozen=True, slots=True)
class Reviews:
    """One film's reviews; vote counters match the rows Votes yields."""

    film: int
    ids: list[int]  # review numbers (uuid_int(REVIEW, n))
    authors: list[int]
    bodies: list[str]
    scores: list[int | None]
    spoilers: list[bool]
    times: list[int]
    up: list[int]
    down: list[int]


@dataclass(frozen=True, slots=True)
class Votes:
    """The votes on one review."""

    review: int
    film: int
    users: list[int]
    values: list[int]  # +1 / -1
    times: list[int]


@dataclass(frozen=True, slots=True)
class Bookmarks:
    """One user's watch list."""

    user: int
    films: list[int]
    times: list[int]


def zipf_weights(n: int, q: float) -> list[float]:
    return [1.0 / (rank + 1 + q) for rank in range(n)]


def allot(total: int, weights: Sequence[float], cap: int) -> list[int]:
    """Splits total over weights by largest remainder, each share at most cap."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [min(cap, math.floor(x)) for x in exact]
    short = total - sum(counts)
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - math.floor(exact[i]))
    for i in reversed(by_remainder):
        if short <= 0:
            break
        if counts[i] < cap:
            counts[i] += 1
            short -= 1
    return counts


def distinct_sample(
    rng: random.Random, cum: Sequence[float], k: int, exclude: int = -1
) -> list[int]:
    """k distinct indices drawn by the cumulative weights cum (without replacement)."""
    top = cum[-1]
    n = len(cum)
    picked: set[int] = set()
    while len(picked) < k:
        for _ in range(k - len(picked)):
            i = bisect.bisect_right(cum, rng.random() * top)
            if i < n and i != exclude:
                picked.add(i)
    out = list(picked)
    rng.shuffle(out)
    return out


class Workload:
    """Every table of the study at one scale and seed, streamable partition by partition."""

    def __init__(self, scale: float, seed: int = 42) -> None:
        self.scale = scale
        self.seed = seed
        self.sizes = Sizes.at(scale)
        s = self.sizes
        self.film_weights = zipf_weights(s.films, FILM_Q)
        self.user_weights = zipf_weights(s.users, USER_Q)
        self.film_cum = list(itertools.accumulate(self.film_weights))
        self.user_cum = list(itertools.accumulate(self.user_weights))
        user_cap = max(1, int(s.users * MAX_SHARE))
        self.ratings_per_film = allot(s.ratings, self.film_weights, user_cap)
        self.reviews_per_film = allot(s.reviews, self.film_weights, user_cap)
        # A popular film's reviews draw more votes each: weight ∝ reviews × popularity^0.5.
        vote_weights = [
            r * math.sqrt(w) for r, w in zip(self.reviews_per_film, self.film_weights, strict=True)
        ]
        self.votes_per_film = allot(s.votes, vote_weights, user_cap * 8)
        self.review_base = [0, *itertools.accumulate(self.reviews_per_film)][:-1]
        self.bookmarks_per_user = allot(
            s.bookmarks, self.user_weights, max(1, int(s.films * MAX_SHARE))
        )

    def _rng(self, table: str, i: int) -> random.Random:
        return random.Random(f"{self.seed}:{table}:{i}")

    @staticmethod
    def _times(rng: random.Random, k: int) -> list[int]:
        return [EPOCH_END - int(rng.random() * SPAN_S) for _ in range(k)]

    @cached_property
    def totals(self) -> dict[str, int]:
        return {
            "ratings": sum(self.ratings_per_film),
            "reviews": sum(self.reviews_per_film),
            "votes": sum(sum(self._vote_plan(f)[0]) for f in range(self.sizes.films)),
            "bookmarks": sum(self.bookmarks_per_user),
        }

    def ratings(self) -> Iterator[Ratings]:
        for film, count in enumerate(self.ratings_per_film):
            if count:
                yield self.film_ratings(film)

    def film_ratings(self, film: int) -> Ratings:
        count = self.ratings_per_film[film]
        rng = self._rng("ratings", film)
        mean = rng.gauss(6.5, 1.3)
        users = distinct_sample(rng, self.user_cum, count)
        scores = [min(10, max(0, round(rng.gauss(mean, 2.0)))) for _ in users]
        return Ratings(film, users, scores, self._times(rng, count))

    def review_counts(self, film: int) -> tuple[list[int], list[int]]:
        """Up and down votes of each of a film's reviews, as loaded."""
        counts, up = self._vote_plan(film)
        return up, [c - u for c, u in zip(counts, up, strict=True)]

    def _vote_plan(self, film: int) -> tuple[list[int], list[int]]:
        """Votes and up-votes per review of a film: a few reviews draw most of them."""
        n = self.reviews_per_film[film]
        if not n:
            return [], []
        rng = self._rng("vote-plan", film)
        weights = [rng.paretovariate(1.2) for _ in range(n)]
        cap = max(0, int(self.sizes.users * MAX_SHARE) - 1)
        counts = allot(self.votes_per_film[film], weights, cap)
        up = []
        for c in counts:
            p = rng.betavariate(4, 2)
            up.append(sum(rng.random() < p for _ in range(c)))
        return counts, up

    def _authors(self, film: int) -> list[int]:
        return distinct_sample(
            self._rng("review-authors", film), self.user_cum, self.reviews_per_film[film]
        )

    def reviews(self) -> Iterator[Reviews]:
        for film, count in enumerate(self.reviews_per_film):
            if not count:
                continue
            rng = self._rng("reviews", film)
            counts, up = self._vote_plan(film)
            bodies = []
            for _ in range(count):
                words = max(1, int(rng.expovariate(1 / REVIEW_WORDS_MEAN)))
                body = " ".join(rng.choices(_WORDS, k=words))[:REVIEW_MAX_CHARS]
                bodies.append(body.capitalize() + ".")
            base = self.review_base[film]
            yield Reviews(
                film=film,
                ids=list(range(base, base + count)),
                authors=self._authors(film),
                bodies=bodies,
                scores=[rng.randint(0, 10) if rng.random() < 0.7 else None for _ in range(count)],
                spoilers=[rng.random() < 0.1 for _ in range(count)],
                times=self._times(rng, count),
                up=up,
                down=[c - u for c, u in zip(counts, up, strict=True)],
            )

    def votes(self) -> Iterator[Votes]:
        for film, count in enumerate(self.reviews_per_film):
            if not count:
                continue
            counts, up = self._vote_plan(film)
            authors = self._authors(film)
            rng = self._rng("votes", film)
            base = self.review_base[film]
            for k in range(count):
                if not counts[k]:
                    continue
                users = distinct_sample(rng, self.user_cum, counts[k], exclude=authors[k])
                values = [1] * up[k] + [-1] * (counts[k] - up[k])
                yield Votes(base + k, film, users, values, self._times(rng, counts[k]))

    def bookmarks(self) -> Iterator[Bookmarks]:
        for user, count in enumerate(self.bookmarks_per_user):
            if count:
                yield self.user_bookmarks(user)

    def user_bookmarks(self, user: int) -> Bookmarks:
        count = self.bookmarks_per_user[user]
        rng = self._rng("bookmarks", user)
        films = distinct_sample(rng, self.film_cum, count)
        return Bookmarks(user, films, self._times(rng, count))

    def query_films(self, n: int, salt: str) -> list[int]:
        """Films to read, drawn by popularity (reads follow the same skew as writes)."""
        rng = self._rng(f"query-films-{salt}", 0)
        return [
            bisect.bisect_right(self.film_cum, rng.random() * self.film_cum[-1]) for _ in range(n)
        ]

    def query_users(self, n: int, salt: str) -> list[int]:
        """Users who read their bookmarks, drawn by activity, among those who have some."""
        rng = self._rng(f"query-users-{salt}", 0)
        out: list[int] = []
        while len(out) < n:
            u = bisect.bisect_right(self.user_cum, rng.random() * self.user_cum[-1])
            if u < self.sizes.users and self.bookmarks_per_user[u]:
                out.append(u)
        return out
