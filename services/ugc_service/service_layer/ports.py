"""What the service layer needs from storage and from the catalogue: small
interfaces, so the store can change (the storage study) and tests can fake."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ugc_service.domain.models import (
    Bookmark,
    Film,
    RatingSummary,
    Review,
    ReviewChanges,
    ReviewSort,
    Vote,
)

# The sort key of the last review of a page: (created_at, id) or (helpfulness, id).
ReviewKey = tuple[datetime, str] | tuple[float, str]


class UgcStore(Protocol):
    """Ratings, reviews, votes and bookmarks. Every write that moves an
    aggregate (a film's rating summary, a review's vote counters) changes it in
    the same transaction as the row, and writing the same value twice is one write."""

    async def put_rating(self, film_id: str, user_id: str, score: int) -> RatingSummary:
        """The film's summary after the write, with the user's score."""
        ...

    async def delete_rating(self, film_id: str, user_id: str) -> None: ...

    async def rating_summary(self, film_id: str, user_id: str | None) -> RatingSummary: ...

    async def create_review(
        self, film_id: str, user_id: str, text: str, score: int | None, spoiler: bool
    ) -> Review:
        """Raises AlreadyExistsError when the user has reviewed the film."""
        ...

    async def get_review(self, review_id: str) -> Review | None: ...

    async def update_review(self, review_id: str, changes: ReviewChanges) -> Review | None: ...

    async def delete_review(self, review_id: str) -> bool: ...

    async def list_reviews(
        self, film_id: str, sort: ReviewSort, after: ReviewKey | None, limit: int
    ) -> list[Review]: ...

    async def put_vote(self, review_id: str, user_id: str, vote: Vote) -> Review | None:
        """The review with its new counters; None if the review is gone."""
        ...

    async def delete_vote(self, review_id: str, user_id: str) -> Review | None: ...

    async def put_bookmark(self, user_id: str, film_id: str) -> Bookmark: ...

    async def delete_bookmark(self, user_id: str, film_id: str) -> None: ...

    async def list_bookmarks(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Bookmark]: ...


class Catalogue(Protocol):
    """The content API's view of films."""

    async def film(self, film_id: str) -> Film | None:
        """The film, or None if the catalogue has no such film. Raises
        CatalogueUnavailableError when the catalogue did not answer."""
        ...


class CatalogueUnavailableError(Exception):
    """The content API did not answer (after the client's retries)."""
