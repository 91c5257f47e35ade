"""gRPC entrypoint: thin handlers, the token policy, the error table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

import grpc
from google.protobuf import empty_pb2, timestamp_pb2
from google.protobuf.message import Message

from movies_auth import AccessPolicy, current_principal, optional_principal
from movies_grpc import REFLECTION_V1, Failure, RpcRunner, method_handlers
from movies_pg import UNAVAILABLE_ERRORS
from ugc.v1 import bookmark_service_pb2 as bookmark_pb
from ugc.v1 import rating_service_pb2 as rating_pb
from ugc.v1 import review_service_pb2 as review_pb
from ugc_service.bootstrap import App
from ugc_service.domain.errors import (
    AlreadyExistsError,
    DomainError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from ugc_service.domain.models import BookmarkedFilm, RatingSummary, Review, ReviewChanges

Context = grpc.aio.ServicerContext[Any, Any]
Call = Callable[[Any, Context], Awaitable[Message]]

ERROR_DOMAIN: Final = "ugc.v1"
_STATUS: Final[dict[type[BaseException], grpc.StatusCode]] = {
    InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    AlreadyExistsError: grpc.StatusCode.ALREADY_EXISTS,
    NotFoundError: grpc.StatusCode.NOT_FOUND,
    PermissionDeniedError: grpc.StatusCode.PERMISSION_DENIED,
    UnavailableError: grpc.StatusCode.UNAVAILABLE,
}
_STORE_DOWN: Final = Failure(
    grpc.StatusCode.UNAVAILABLE, "the UGC store is unavailable; retry later", "BACKEND_UNAVAILABLE"
)
_BACKEND_ERRORS: Final[dict[type[BaseException], Failure]] = dict.fromkeys(
    UNAVAILABLE_ERRORS, _STORE_DOWN
)
_TIMEOUT: Final = Failure(
    grpc.StatusCode.UNAVAILABLE, "the service is busy; retry later", "DEADLINE_EXCEEDED"
)

RATINGS = rating_pb.DESCRIPTOR.services_by_name["RatingService"]
REVIEWS = review_pb.DESCRIPTOR.services_by_name["ReviewService"]
BOOKMARKS = bookmark_pb.DESCRIPTOR.services_by_name["BookmarkService"]
SERVICES: Final = (RATINGS, REVIEWS, BOOKMARKS)
SERVICE_NAMES: Final = tuple(s.full_name for s in SERVICES)


def access_policy() -> AccessPolicy:
    """A film's reviews are public; its rating summary too, with the caller's
    own score when a token is sent; everything else needs a signed-in user."""
    public = {
        f"/{REVIEWS.full_name}/ListFilmReviews",
        "/grpc.health.v1.Health/",
        "/grpc.reflection.v1alpha.ServerReflection/",
        f"/{REFLECTION_V1}/",
    }
    optional = frozenset({f"/{RATINGS.full_name}/GetFilmRating"})
    return AccessPolicy(public=frozenset(public), optional=optional)


def _ts(at: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(at)
    return ts


def rating_pb2(summary: RatingSummary) -> rating_pb.FilmRating:
    return rating_pb.FilmRating(
        film_id=summary.film_id,
        average=summary.average,
        count=summary.count,
        distribution=list(summary.distribution),
        my_score=summary.my_score,
    )


def review_pb2(review: Review) -> review_pb.Review:
    return review_pb.Review(
        review_id=review.id,
        film_id=review.film_id,
        author_id=review.user_id,
        text=review.text,
        score=review.score,
        spoiler=review.spoiler,
        votes_up=review.votes_up,
        votes_down=review.votes_down,
        create_time=_ts(review.created_at),
        edit_time=None if review.edited_at is None else _ts(review.edited_at),
    )


def bookmark_pb2(item: BookmarkedFilm) -> bookmark_pb.Bookmark:
    film = item.film
    return bookmark_pb.Bookmark(
        film_id=item.bookmark.film_id,
        create_time=_ts(item.bookmark.created_at),
        title=film.title if film else "",
        imdb_rating=film.imdb_rating if film else None,
    )


def _opt(request: Message, field: str) -> Any:
    return getattr(request, field) if request.HasField(field) else None


class Handlers:
    """One thin method per RPC: parse, call the service layer, build the reply."""

    def __init__(self, app: App) -> None:
        self._ugc = app.ugc

    # RatingService
    async def put_rating(self, r: rating_pb.PutRatingRequest, c: Context) -> Message:
        summary = await self._ugc.put_rating(current_principal(), r.film_id, _opt(r, "score"))
        return rating_pb2(summary)

    async def delete_rating(self, r: rating_pb.DeleteRatingRequest, c: Context) -> Message:
        await self._ugc.delete_rating(current_principal(), r.film_id)
        return empty_pb2.Empty()

    async def get_film_rating(self, r: rating_pb.GetFilmRatingRequest, c: Context) -> Message:
        return rating_pb2(await self._ugc.rating(optional_principal(), r.film_id))

    # ReviewService
    async def create_review(self, r: review_pb.CreateReviewRequest, c: Context) -> Message:
        review = await self._ugc.create_review(
            current_principal(), r.film_id, r.text, _opt(r, "score"), r.spoiler
        )
        return review_pb2(review)

    async def update_review(self, r: review_pb.UpdateReviewRequest, c: Context) -> Message:
        changes = ReviewChanges(
            text=_opt(r, "text"),
            score=_opt(r, "score"),
            spoiler=_opt(r, "spoiler"),
            clear_score=r.clear_score,
        )
        return review_pb2(await self._ugc.update_review(current_principal(), r.review_id, changes))

    async def delete_review(self, r: review_pb.DeleteReviewRequest, c: Context) -> Message:
        await self._ugc.delete_review(current_principal(), r.review_id)
        return empty_pb2.Empty()

    async def list_film_reviews(self, r: review_pb.ListFilmReviewsRequest, c: Context) -> Message:
        page = await self._ugc.reviews(r.film_id, r.sort, _opt(r, "page_size"), r.page_token)
        return review_pb.ListFilmReviewsResponse(
            reviews=[review_pb2(x) for x in page.items], next_page_token=page.next_page_token
        )

    async def put_review_vote(self, r: review_pb.PutReviewVoteRequest, c: Context) -> Message:
        return review_pb2(await self._ugc.put_vote(current_principal(), r.review_id, r.value))

    async def delete_review_vote(self, r: review_pb.DeleteReviewVoteRequest, c: Context) -> Message:
        return review_pb2(await self._ugc.delete_vote(current_principal(), r.review_id))

    # BookmarkService
    async def put_bookmark(self, r: bookmark_pb.PutBookmarkRequest, c: Context) -> Message:
        return bookmark_pb2(await self._ugc.put_bookmark(current_principal(), r.film_id))

    async def delete_bookmark(self, r: bookmark_pb.DeleteBookmarkRequest, c: Context) -> Message:
        await self._ugc.delete_bookmark(current_principal(), r.film_id)
        return empty_pb2.Empty()

    async def list_bookmarks(self, r: bookmark_pb.ListBookmarksRequest, c: Context) -> Message:
        page = await self._ugc.bookmarks(current_principal(), _opt(r, "page_size"), r.page_token)
        return bookmark_pb.ListBookmarksResponse(
            bookmarks=[bookmark_pb2(x) for x in page.items], next_page_token=page.next_page_token
        )

    def table(self) -> dict[str, dict[str, Call]]:
        return {
            RATINGS.name: {
                "PutRating": self.put_rating,
                "DeleteRating": self.delete_rating,
                "GetFilmRating": self.get_film_rating,
            },
            REVIEWS.name: {
                "CreateReview": self.create_review,
                "UpdateReview": self.update_review,
                "DeleteReview": self.delete_review,
                "ListFilmReviews": self.list_film_reviews,
                "PutReviewVote": self.put_review_vote,
                "DeleteReviewVote": self.delete_review_vote,
            },
            BOOKMARKS.name: {
                "PutBookmark": self.put_bookmark,
                "DeleteBookmark": self.delete_bookmark,
                "ListBookmarks": self.list_bookmarks,
            },
        }


def rpc_runner(deadline_seconds: float) -> RpcRunner:
    """Request id, deadline, and domain errors → status codes (AIP-193)."""
    return RpcRunner(
        deadline_seconds=deadline_seconds,
        error_domain=ERROR_DOMAIN,
        domain_error=DomainError,
        statuses=_STATUS,
        on_timeout=_TIMEOUT,
        backend_errors=_BACKEND_ERRORS,
    )


def generic_handlers(app: App) -> list[grpc.GenericRpcHandler]:
    runner = rpc_runner(app.settings.request_deadline_seconds)
    return method_handlers(SERVICES, Handlers(app).table(), runner)
