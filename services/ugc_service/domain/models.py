"""What the service keeps, as plain values (no storage or wire types)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final, Generic, TypeVar

T = TypeVar("T")

MIN_SCORE: Final = 0
MAX_SCORE: Final = 10
SCORES: Final = range(MIN_SCORE, MAX_SCORE + 1)
MAX_REVIEW_CHARS: Final = 5000
# Roles that may edit or delete anyone's review.
MODERATOR_ROLES: Final = frozenset({"moderator", "admin"})


@dataclass(frozen=True, slots=True)
class RatingSummary:
    film_id: str
    total: int
    count: int
    # how many ratings of each score, MIN_SCORE..MAX_SCORE
    distribution: tuple[int, ...]
    my_score: int | None = None

    @property
    def average(self) -> float:
        return self.total / self.count if self.count else 0.0


class ReviewSort(Enum):
    NEWEST = "newest"
    HELPFUL = "helpful"


class Vote(Enum):
    UP = 1
    DOWN = -1


@dataclass(frozen=True, slots=True)
class Review:
    id: str
    film_id: str
    user_id: str
    text: str
    score: int | None
    spoiler: bool
    created_at: datetime
    edited_at: datetime | None
    votes_up: int
    votes_down: int
    # the lower bound of the Wilson score interval of the votes (stored by the store)
    helpfulness: float


@dataclass(frozen=True, slots=True)
class ReviewChanges:
    """An edit: None keeps a field; `clear_score` removes the score."""

    text: str | None = None
    score: int | None = None
    spoiler: bool | None = None
    clear_score: bool = False


@dataclass(frozen=True, slots=True)
class Bookmark:
    film_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Film:
    """What the catalogue says about a film, as much as this service shows."""

    id: str
    title: str
    imdb_rating: float | None


@dataclass(frozen=True, slots=True)
class BookmarkedFilm:
    bookmark: Bookmark
    film: Film | None  # None: the catalogue has no such film now, or did not answer


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str
