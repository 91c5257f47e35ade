"""The use cases: validation, the film check against the catalogue, who may
do what, and keyset paging; storage is behind `UgcStore`."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from datetime import datetime
from typing import Final

from movies_auth import Principal
from ugc_service.domain.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from ugc_service.domain.models import (
    MAX_REVIEW_CHARS,
    MAX_SCORE,
    MIN_SCORE,
    MODERATOR_ROLES,
    BookmarkedFilm,
    Film,
    Page,
    RatingSummary,
    Review,
    ReviewChanges,
    ReviewSort,
    Vote,
)
from ugc_service.service_layer import paging
from ugc_service.service_layer.paging import PageLimits
from ugc_service.service_layer.ports import (
    Catalogue,
    CatalogueUnavailableError,
    ReviewKey,
    UgcStore,
)

log = logging.getLogger(__name__)

# Plain text: no control characters but line breaks and tabs.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_VOTES: Final = {"up": Vote.UP, "down": Vote.DOWN}


def _uuid(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidArgumentError(f"{field} must be a UUID", "INVALID_ID") from None


def _score(value: int | None, *, required: bool) -> int | None:
    if value is None:
        if required:
            raise InvalidArgumentError(
                f"score is required: an integer from {MIN_SCORE} to {MAX_SCORE}", "SCORE_REQUIRED"
            )
        return None
    if not MIN_SCORE <= value <= MAX_SCORE:
        raise InvalidArgumentError(
            f"score must be an integer from {MIN_SCORE} to {MAX_SCORE}", "INVALID_SCORE"
        )
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise InvalidArgumentError("text must not be empty", "TEXT_EMPTY")
    if len(value) > MAX_REVIEW_CHARS:
        raise InvalidArgumentError(
            f"text is limited to {MAX_REVIEW_CHARS} characters ({len(value)} sent)",
            "TEXT_TOO_LONG",
        )
    if _CONTROL.search(value):
        raise InvalidArgumentError(
            "text is plain text: no control characters but line breaks and tabs",
            "TEXT_INVALID",
        )
    return value


def _time(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgumentError(
            "page_token is not a token this list returned; start again without it",
            "INVALID_PAGE_TOKEN",
        ) from None
    return at


class UgcService:
    def __init__(self, store: UgcStore, catalogue: Catalogue, limits: PageLimits) -> None:
        self._store = store
        self._catalogue = catalogue
        self._limits = limits

    async def _require_film(self, film_id: str) -> str:
        """The film must be in the catalogue; a write cannot proceed unchecked."""
        film_id = _uuid(film_id, "film_id")
        await self._require(film_id)
        return film_id

    async def _require(self, film_id: str) -> Film:
        film_id = _uuid(film_id, "film_id")
        try:
            film = await self._catalogue.film(film_id)
        except CatalogueUnavailableError:
            raise UnavailableError(
                "the catalogue is unavailable, so the film cannot be checked; retry later",
                "CATALOGUE_UNAVAILABLE",
            ) from None
        if film is None:
            raise NotFoundError(f"film {film_id} not found", "FILM_NOT_FOUND")
        return film

    async def _known_film(self, film_id: str) -> str:
        """For reads: an unknown film is 404, but a catalogue outage does not stop
        a read of what this service holds."""
        film_id = _uuid(film_id, "film_id")
        try:
            film = await self._catalogue.film(film_id)
        except CatalogueUnavailableError:
            log.warning("catalogue unavailable; read served unchecked", extra={"film": film_id})
            return film_id
        if film is None:
            raise NotFoundError(f"film {film_id} not found", "FILM_NOT_FOUND")
        return film_id

    # Ratings
    async def put_rating(self, who: Principal, film_id: str, score: int | None) -> RatingSummary:
        checked = _score(score, required=True)
        assert checked is not None
        film_id = await self._require_film(film_id)
        return await self._store.put_rating(film_id, who.user_id, checked)

    async def delete_rating(self, who: Principal, film_id: str) -> None:
        await self._store.delete_rating(_uuid(film_id, "film_id"), who.user_id)

    async def rating(self, who: Principal | None, film_id: str) -> RatingSummary:
        film_id = await self._known_film(film_id)
        return await self._store.rating_summary(film_id, who.user_id if who else None)

    # Reviews
    async def create_review(
        self, who: Principal, film_id: str, text: str, score: int | None, spoiler: bool
    ) -> Review:
        text = _text(text)
        score = _score(score, required=False)
        film_id = await self._require_film(film_id)
        return await self._store.create_review(film_id, who.user_id, text, score, spoiler)

    async def _review_to_change(self, who: Principal, review_id: str) -> Review:
        review = await self._store.get_review(_uuid(review_id, "review_id"))
        if review is None:
            raise NotFoundError(f"review {review_id} not found", "REVIEW_NOT_FOUND")
        if review.user_id != who.user_id and not (who.roles & MODERATOR_ROLES):
            raise PermissionDeniedError(
                "only the review's author or a moderator may change it", "NOT_REVIEW_AUTHOR"
            )
        return review

    async def update_review(self, who: Principal, review_id: str, changes: ReviewChanges) -> Review:
        if changes.clear_score and changes.score is not None:
            raise InvalidArgumentError("send score or clear_score, not both", "SCORE_CONFLICT")
        changes = ReviewChanges(
            text=None if changes.text is None else _text(changes.text),
            score=_score(changes.score, required=False),
            spoiler=changes.spoiler,
            clear_score=changes.clear_score,
        )
        review = await self._review_to_change(who, review_id)
        updated = await self._store.update_review(review.id, changes)
        if updated is None:
            raise NotFoundError(f"review {review_id} not found", "REVIEW_NOT_FOUND")
        return updated

    async def delete_review(self, who: Principal, review_id: str) -> None:
        review = await self._review_to_change(who, review_id)
        await self._store.delete_review(review.id)

    async def reviews(
        self, film_id: str, sort: str, page_size: int | None, page_token: str
    ) -> Page[Review]:
        try:
            order = ReviewSort(sort or ReviewSort.NEWEST.value)
        except ValueError:
            raise InvalidArgumentError(
                "sort must be `newest` or `helpful`", "INVALID_SORT"
            ) from None
        limit = self._limits.size(page_size)
        kind = f"reviews:{order.value}"
        first = float if order is ReviewSort.HELPFUL else str
        key = paging.decode(page_token, kind, (first, str))
        after: ReviewKey | None = None
        if key is not None:
            last_id = _uuid(key[1], "page_token")
            after = (
                (float(key[0]), last_id)
                if order is ReviewSort.HELPFUL
                else (_time(key[0]), last_id)
            )
        film_id = await self._known_film(film_id)
        rows = await self._store.list_reviews(film_id, order, after, limit + 1)
        token = ""
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            sort_key: float | str = (
                last.helpfulness if order is ReviewSort.HELPFUL else last.created_at.isoformat()
            )
            token = paging.encode(kind, [sort_key, last.id])
        return Page(rows, token)

    async def _review_to_vote_on(self, who: Principal, review_id: str) -> str:
        review = await self._store.get_review(_uuid(review_id, "review_id"))
        if review is None:
            raise NotFoundError(f"review {review_id} not found", "REVIEW_NOT_FOUND")
        if review.user_id == who.user_id:
            raise PermissionDeniedError("you cannot vote on your own review", "OWN_REVIEW")
        return review.id

    async def put_vote(self, who: Principal, review_id: str, value: str) -> Review:
        vote = _VOTES.get(value)
        if vote is None:
            raise InvalidArgumentError("value must be `up` or `down`", "INVALID_VOTE")
        checked = await self._review_to_vote_on(who, review_id)
        review = await self._store.put_vote(checked, who.user_id, vote)
        if review is None:
            raise NotFoundError(f"review {review_id} not found", "REVIEW_NOT_FOUND")
        return review

    async def delete_vote(self, who: Principal, review_id: str) -> Review:
        checked = await self._review_to_vote_on(who, review_id)
        review = await self._store.delete_vote(checked, who.user_id)
        if review is None:
            raise NotFoundError(f"review {review_id} not found", "REVIEW_NOT_FOUND")
        return review

    # Bookmarks
    async def put_bookmark(self, who: Principal, film_id: str) -> BookmarkedFilm:
        film_id = _uuid(film_id, "film_id")
        film = await self._require(film_id)
        return BookmarkedFilm(await self._store.put_bookmark(who.user_id, film_id), film)

    async def delete_bookmark(self, who: Principal, film_id: str) -> None:
        await self._store.delete_bookmark(who.user_id, _uuid(film_id, "film_id"))

    async def bookmarks(
        self, who: Principal, page_size: int | None, page_token: str
    ) -> Page[BookmarkedFilm]:
        limit = self._limits.size(page_size)
        key = paging.decode(page_token, "bookmarks", (str, str))
        after = None if key is None else (_time(key[0]), _uuid(key[1], "page_token"))
        rows = await self._store.list_bookmarks(who.user_id, after, limit + 1)
        token = ""
        if len(rows) > limit:
            rows = rows[:limit]
            token = paging.encode("bookmarks", [rows[-1].created_at.isoformat(), rows[-1].film_id])
        films = await asyncio.gather(*(self._film_or_none(b.film_id) for b in rows))
        return Page(
            [BookmarkedFilm(b, f) for b, f in zip(rows, films, strict=True)],
            token,
        )

    async def _film_or_none(self, film_id: str) -> Film | None:
        """A watch list still lists a film the catalogue cannot describe now."""
        try:
            return await self._catalogue.film(film_id)
        except CatalogueUnavailableError:
            return None
