"""The UGC service over gRPC against real servers: the tests' own auth server
(tokens, roles, deny-list), the tests' own content API (which films exist) and
a fresh PostgreSQL database. Every RPC, the permissions, idempotent PUTs,
concurrent ratings of one film, the aggregate rebuild check, keyset paging under
inserts, unknown films, and the catalogue down."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc
import pytest
import pytest_asyncio

from auth.v1 import role_service_pb2 as rpb
from auth.v1 import user_service_pb2 as upb
from tests.support import catalog
from tests.support.auth import (
    AuthServer,
    Stubs,
    bearer,
    dsn,
    reason,
    register_and_login,
    rpc_error,
    start_auth,
)
from tests.support.procs import Proc, eventually, free_port
from tests.support.servers import ApiServer
from tests.support.tcp_proxy import TcpProxy
from tests.support.ugc import UgcServer, UgcStubs, start_ugc
from ugc.v1 import bookmark_service_pb2 as bpb
from ugc.v1 import rating_service_pb2 as rtpb
from ugc.v1 import review_service_pb2 as rvpb

USERS = 60
ADMIN_EMAIL, ADMIN_PASSWORD = "ugc-admin@example.org", "admin password 123"
Code = grpc.StatusCode
# The request deadline of the server whose store is cut: a stalled store must
# be answered 503 within it.
STORE_DEADLINE_S = 2.0


@dataclass(frozen=True)
class User:
    user_id: str
    token: str

    @property
    def md(self) -> tuple[tuple[str, str]]:
        return bearer(self.token)


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth("ugc", test_redis.port)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def ugc(server: AuthServer, test_redis: Proc, api: ApiServer) -> Iterator[UgcServer]:
    yield from start_ugc("grpc", server, test_redis.port, api.port)  # type: ignore[attr-defined]


@pytest_asyncio.fixture(scope="module")
async def u(ugc: UgcServer) -> AsyncIterator[UgcStubs]:
    async with grpc.aio.insecure_channel(ugc.target) as channel:
        yield UgcStubs.on(channel)


async def sign_up(stubs: Stubs) -> User:
    login = await register_and_login(stubs, f"ugc-{uuid.uuid4().hex[:12]}@example.org")
    me = await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(login.access_token))
    return User(me.user_id, login.access_token)


@pytest_asyncio.fixture(scope="module")
async def users(stubs: Stubs) -> list[User]:
    return list(await asyncio.gather(*(sign_up(stubs) for _ in range(USERS))))


@pytest_asyncio.fixture(scope="module")
async def moderator(server: AuthServer, stubs: Stubs) -> User:
    """A user granted the role `moderator` by the admin, signed in after the grant."""
    made = server.cli("createsuperuser", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    assert made.returncode == 0, made.stderr
    admin = await sign_in(stubs, ADMIN_EMAIL, ADMIN_PASSWORD)
    await stubs.roles.CreateRole(
        rpb.CreateRoleRequest(role=rpb.Role(name="moderator", description="Moderates reviews")),
        metadata=admin.md,
    )
    email = f"ugc-mod-{uuid.uuid4().hex[:8]}@example.org"
    first = await register_and_login(stubs, email)
    me = await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(first.access_token))
    await stubs.roles.GrantRole(
        rpb.GrantRoleRequest(user_id=me.user_id, role="moderator"), metadata=admin.md
    )
    return await sign_in(stubs, email, "correct horse battery")


async def sign_in(stubs: Stubs, email: str, password: str) -> User:
    from auth.v1 import auth_service_pb2 as apb

    login = await stubs.auth.Login(apb.LoginRequest(email=email, password=password))
    me = await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(login.access_token))
    return User(me.user_id, login.access_token)


async def test_rating_put_replace_get_delete(u: UgcStubs, users: list[User]) -> None:
    alice, bob = users[0], users[1]
    film = catalog.F_NEW_HOPE
    first = await u.ratings.PutRating(
        rtpb.PutRatingRequest(film_id=film, score=7), metadata=alice.md
    )
    assert (first.count, first.average, first.my_score) == (1, 7.0, 7)
    again = await u.ratings.PutRating(
        rtpb.PutRatingRequest(film_id=film, score=7), metadata=alice.md
    )
    assert again == first  # PUT twice = once
    await u.ratings.PutRating(rtpb.PutRatingRequest(film_id=film, score=4), metadata=bob.md)
    changed = await u.ratings.PutRating(
        rtpb.PutRatingRequest(film_id=film, score=10), metadata=alice.md
    )
    assert (changed.count, changed.average, changed.my_score) == (2, 7.0, 10)
    assert list(changed.distribution) == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]

    anonymous = await u.ratings.GetFilmRating(rtpb.GetFilmRatingRequest(film_id=film))
    assert not anonymous.HasField("my_score")
    assert (anonymous.count, anonymous.average) == (2, 7.0)
    mine = await u.ratings.GetFilmRating(rtpb.GetFilmRatingRequest(film_id=film), metadata=bob.md)
    assert mine.my_score == 4

    await u.ratings.DeleteRating(rtpb.DeleteRatingRequest(film_id=film), metadata=alice.md)
    await u.ratings.DeleteRating(rtpb.DeleteRatingRequest(film_id=film), metadata=alice.md)
    after = await u.ratings.GetFilmRating(
        rtpb.GetFilmRatingRequest(film_id=film), metadata=alice.md
    )
    assert (after.count, after.average, after.HasField("my_score")) == (1, 4.0, False)
    assert list(after.distribution) == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]


async def test_rating_input_errors_and_unknown_film(u: UgcStubs, users: list[User]) -> None:
    md = users[0].md
    cases = [
        (rtpb.PutRatingRequest(film_id=catalog.F_EMPIRE), "SCORE_REQUIRED"),
        (rtpb.PutRatingRequest(film_id=catalog.F_EMPIRE, score=11), "INVALID_SCORE"),
        (rtpb.PutRatingRequest(film_id=catalog.F_EMPIRE, score=-1), "INVALID_SCORE"),
        (rtpb.PutRatingRequest(film_id="not-a-uuid", score=5), "INVALID_ID"),
    ]
    for request, why in cases:
        exc = await rpc_error(u.ratings.PutRating(request, metadata=md))
        assert (exc.code(), reason(exc)) == (Code.INVALID_ARGUMENT, why), request
        assert exc.details()
    for call in (
        u.ratings.PutRating(rtpb.PutRatingRequest(film_id=catalog.MISSING, score=5), metadata=md),
        u.ratings.GetFilmRating(rtpb.GetFilmRatingRequest(film_id=catalog.MISSING)),
        u.reviews.ListFilmReviews(rvpb.ListFilmReviewsRequest(film_id=catalog.MISSING)),
        u.reviews.CreateReview(
            rvpb.CreateReviewRequest(film_id=catalog.MISSING, text="x"), metadata=md
        ),
        u.bookmarks.PutBookmark(bpb.PutBookmarkRequest(film_id=catalog.MISSING), metadata=md),
    ):
        exc = await rpc_error(call)
        assert (exc.code(), reason(exc)) == (Code.NOT_FOUND, "FILM_NOT_FOUND")


async def test_user_calls_need_a_valid_token(u: UgcStubs) -> None:
    film = catalog.F_EMPIRE
    bad = bearer("not.a.token")
    for md in ((), bad):
        for call in (
            u.ratings.PutRating(rtpb.PutRatingRequest(film_id=film, score=5), metadata=md),
            u.ratings.DeleteRating(rtpb.DeleteRatingRequest(film_id=film), metadata=md),
            u.reviews.CreateReview(rvpb.CreateReviewRequest(film_id=film, text="x"), metadata=md),
            u.reviews.PutReviewVote(
                rvpb.PutReviewVoteRequest(review_id=str(uuid.uuid4()), value="up"), metadata=md
            ),
            u.bookmarks.ListBookmarks(bpb.ListBookmarksRequest(), metadata=md),
        ):
            exc = await rpc_error(call)
            assert exc.code() == Code.UNAUTHENTICATED
    # The public reads: without a token fine, with a bad one refused.
    await u.reviews.ListFilmReviews(rvpb.ListFilmReviewsRequest(film_id=film))
    exc = await rpc_error(
        u.ratings.GetFilmRating(rtpb.GetFilmRatingRequest(film_id=film), metadata=bad)
    )
    assert exc.code() == Code.UNAUTHENTICATED


async def concurrent_ratings(u: UgcStubs, raters: list[User], ugc: UgcServer) -> None:
    """50 users rate one film at once, then half change their score, some repeat
    it and some delete it, all at once: the summary is exactly the rows'."""
    film = catalog.F_EMPIRE
    scores = [(i * 7 + 3) % 11 for i in range(len(raters))]

    async def rate(user: User, score: int) -> None:
        await u.ratings.PutRating(
            rtpb.PutRatingRequest(film_id=film, score=score), metadata=user.md
        )

    await asyncio.gather(*(rate(user, s) for user, s in zip(raters, scores, strict=True)))
    changed = {i: (scores[i] + 5) % 11 for i in range(0, 50, 2)}
    await asyncio.gather(
        *(rate(raters[i], s) for i, s in changed.items()),
        *(rate(raters[i], scores[i]) for i in range(1, 50, 10)),
        *(
            u.ratings.DeleteRating(rtpb.DeleteRatingRequest(film_id=film), metadata=raters[i].md)
            for i in range(3, 50, 10)
        ),
    )
    final = {i: changed.get(i, scores[i]) for i in range(50) if i % 10 != 3}
    summary = await u.ratings.GetFilmRating(rtpb.GetFilmRatingRequest(film_id=film))
    assert summary.count == len(final)
    assert summary.average == sum(final.values()) / len(final)
    assert list(summary.distribution) == [
        sum(1 for s in final.values() if s == score) for score in range(11)
    ]
    rebuilt = ugc.check()
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr


async def test_fifty_concurrent_ratings_of_one_film_give_the_exact_average(
    u: UgcStubs, users: list[User], ugc: UgcServer
) -> None:
    await concurrent_ratings(u, users[:50], ugc)


@pytest.fixture(scope="module")
def ugc_sharded(server: AuthServer, test_redis: Proc, api: ApiServer) -> Iterator[UgcServer]:
    """A UGC server spreading each film's summary over 4 rows."""
    yield from start_ugc(
        "sharded",
        server,
        test_redis.port,  # type: ignore[attr-defined]
        api.port,
        UGC_RATING_SHARDS="4",
    )


async def test_a_summary_spread_over_shards_is_just_as_exact(
    ugc_sharded: UgcServer, users: list[User]
) -> None:
    async with grpc.aio.insecure_channel(ugc_sharded.target) as channel:
        await concurrent_ratings(UgcStubs.on(channel), users[:50], ugc_sharded)
    shards = ugc_sharded.sql(
        "select count(*) from ugc.film_ratings where film_id = %s", catalog.F_EMPIRE
    )
    assert shards == [(4,)]


async def test_a_batch_of_writes_keeps_the_later_of_two_and_every_summary_exact(
    ugc: UgcServer, users: list[User]
) -> None:
    """One call of the batch function (migration 0005) with a user's two scores
    of one film, another user's first, and a second film: the later score wins,
    each film's summary counts each user once and comes back once, and the
    rebuild check agrees."""
    a, b = users[58], users[59]
    solaris, comedy = catalog.F_SOLARIS, catalog.F_COMEDY

    def summary(film: str) -> tuple[int, int]:
        ((total, count),) = ugc.sql(
            "select coalesce(sum(score_sum), 0), coalesce(sum(score_count), 0)"
            " from ugc.film_ratings where film_id = %s",
            film,
        )
        return int(total), int(count)

    before = summary(solaris), summary(comedy)
    rows = ugc.sql(
        "select rated_film::text, total, n from ugc.put_ratings_summary("
        "%s::uuid[], %s::uuid[], %s::smallint[], %s::smallint[])",
        [solaris, solaris, solaris, comedy],
        [a.user_id, a.user_id, b.user_id, a.user_id],
        [2, 9, 4, 6],
        [0, 0, 0, 0],
    )
    after = summary(solaris), summary(comedy)
    assert after[0] == (before[0][0] + 9 + 4, before[0][1] + 2)
    assert after[1] == (before[1][0] + 6, before[1][1] + 1)
    # Each film written is answered once, with its summary after the whole batch.
    assert sorted(rows) == sorted([(solaris, *after[0]), (comedy, *after[1])])
    scores = ugc.sql(
        "select film_id::text, user_id::text, score from ugc.ratings"
        " where user_id in (%s, %s) and film_id in (%s, %s) order by score",
        a.user_id,
        b.user_id,
        solaris,
        comedy,
    )
    assert scores == [(solaris, b.user_id, 4), (comedy, a.user_id, 6), (solaris, a.user_id, 9)]
    assert ugc.check().returncode == 0


async def test_the_rebuild_check_finds_a_drifted_aggregate(
    u: UgcStubs, users: list[User], ugc: UgcServer
) -> None:
    film = catalog.F_QUIET
    await u.ratings.PutRating(rtpb.PutRatingRequest(film_id=film, score=3), metadata=users[5].md)
    assert ugc.check().returncode == 0
    ugc.sql("update ugc.film_ratings set d3 = d3 + 1 where film_id = %s", film)
    try:
        drifted = ugc.check()
        assert drifted.returncode == 1
        assert film in drifted.stdout
    finally:
        ugc.sql("update ugc.film_ratings set d3 = d3 - 1 where film_id = %s", film)
    assert ugc.check().returncode == 0


async def test_reviews_permissions_and_votes(
    u: UgcStubs, users: list[User], moderator: User, ugc: UgcServer
) -> None:
    author, other, voter = users[10], users[11], users[12]
    film = catalog.F_SOLARIS
    review = await u.reviews.CreateReview(
        rvpb.CreateReviewRequest(film_id=film, text="Slow, vast, moving.", score=9, spoiler=False),
        metadata=author.md,
    )
    assert (review.author_id, review.score, review.votes_up, review.votes_down) == (
        author.user_id,
        9,
        0,
        0,
    )
    assert not review.HasField("edit_time")
    second = await rpc_error(
        u.reviews.CreateReview(
            rvpb.CreateReviewRequest(film_id=film, text="again"), metadata=author.md
        )
    )
    assert (second.code(), reason(second)) == (Code.ALREADY_EXISTS, "REVIEW_EXISTS")
    for text, why in (
        ("", "TEXT_EMPTY"),
        ("   ", "TEXT_EMPTY"),
        ("x" * 5001, "TEXT_TOO_LONG"),
        ("a\x00b", "TEXT_INVALID"),
    ):
        exc = await rpc_error(
            u.reviews.CreateReview(
                rvpb.CreateReviewRequest(film_id=film, text=text), metadata=other.md
            )
        )
        assert (exc.code(), reason(exc)) == (Code.INVALID_ARGUMENT, why)
    longest = await u.reviews.CreateReview(
        rvpb.CreateReviewRequest(film_id=film, text="я" * 5000, spoiler=True), metadata=other.md
    )
    assert len(longest.text) == 5000
    assert longest.spoiler
    assert not longest.HasField("score")

    # Editing: the author yes, another user no, a moderator yes.
    edit = rvpb.UpdateReviewRequest(review_id=review.review_id, text="Slow and vast.", spoiler=True)
    denied = await rpc_error(u.reviews.UpdateReview(edit, metadata=other.md))
    assert (denied.code(), reason(denied)) == (Code.PERMISSION_DENIED, "NOT_REVIEW_AUTHOR")
    edited = await u.reviews.UpdateReview(edit, metadata=author.md)
    assert (edited.text, edited.spoiler, edited.score) == ("Slow and vast.", True, 9)
    assert edited.HasField("edit_time")
    cleared = await u.reviews.UpdateReview(
        rvpb.UpdateReviewRequest(review_id=review.review_id, clear_score=True),
        metadata=moderator.md,
    )
    assert not cleared.HasField("score")
    assert cleared.text == "Slow and vast."

    # Votes: not on one's own review; PUT twice = once; a change moves both counters.
    own = await rpc_error(
        u.reviews.PutReviewVote(
            rvpb.PutReviewVoteRequest(review_id=review.review_id, value="up"), metadata=author.md
        )
    )
    assert (own.code(), reason(own)) == (Code.PERMISSION_DENIED, "OWN_REVIEW")
    bad = await rpc_error(
        u.reviews.PutReviewVote(
            rvpb.PutReviewVoteRequest(review_id=review.review_id, value="meh"), metadata=voter.md
        )
    )
    assert (bad.code(), reason(bad)) == (Code.INVALID_ARGUMENT, "INVALID_VOTE")
    up = rvpb.PutReviewVoteRequest(review_id=review.review_id, value="up")
    once = await u.reviews.PutReviewVote(up, metadata=voter.md)
    twice = await u.reviews.PutReviewVote(up, metadata=voter.md)
    assert (once.votes_up, once.votes_down) == (twice.votes_up, twice.votes_down) == (1, 0)
    await u.reviews.PutReviewVote(up, metadata=other.md)
    down = await u.reviews.PutReviewVote(
        rvpb.PutReviewVoteRequest(review_id=review.review_id, value="down"), metadata=voter.md
    )
    assert (down.votes_up, down.votes_down) == (1, 1)
    withdrawn = await u.reviews.DeleteReviewVote(
        rvpb.DeleteReviewVoteRequest(review_id=review.review_id), metadata=voter.md
    )
    again = await u.reviews.DeleteReviewVote(
        rvpb.DeleteReviewVoteRequest(review_id=review.review_id), metadata=voter.md
    )
    assert (
        (withdrawn.votes_up, withdrawn.votes_down) == (again.votes_up, again.votes_down) == (1, 0)
    )
    assert ugc.check().returncode == 0

    # Deleting: another user no; the moderator yes, and the votes go with it.
    delete = rvpb.DeleteReviewRequest(review_id=review.review_id)
    exc = await rpc_error(u.reviews.DeleteReview(delete, metadata=voter.md))
    assert exc.code() == Code.PERMISSION_DENIED
    await u.reviews.DeleteReview(delete, metadata=moderator.md)
    gone = await rpc_error(u.reviews.DeleteReview(delete, metadata=author.md))
    assert (gone.code(), reason(gone)) == (Code.NOT_FOUND, "REVIEW_NOT_FOUND")
    assert ugc.sql(
        "select count(*) from ugc.review_votes where review_id = %s", review.review_id
    ) == [(0,)]
    # The author may write a new one now, and delete it.
    fresh = await u.reviews.CreateReview(
        rvpb.CreateReviewRequest(film_id=film, text="Second thoughts."), metadata=author.md
    )
    await u.reviews.DeleteReview(
        rvpb.DeleteReviewRequest(review_id=fresh.review_id), metadata=author.md
    )


def wilson(up: int, down: int, z: float = 1.96) -> float:
    n = up + down
    if n == 0:
        return 0.0
    p = up / n
    return (p + z * z / (2 * n) - z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n)) / (
        1 + z * z / n
    )


async def test_helpful_orders_by_the_wilson_lower_bound(u: UgcStubs, users: list[User]) -> None:
    film = catalog.F_COMEDY
    authors, voters = users[20:25], users[30:50]
    # (up, down) per review: 2/0 beats 0/0; 15/5 beats 3/0; 1/4 is last but one.
    plans = [(3, 0), (15, 5), (0, 0), (1, 4), (2, 0)]
    reviews = []
    for author, (ups, downs) in zip(authors, plans, strict=True):
        review = await u.reviews.CreateReview(
            rvpb.CreateReviewRequest(film_id=film, text=f"{ups} up, {downs} down"),
            metadata=author.md,
        )
        reviews.append(review.review_id)
        await asyncio.gather(
            *(
                u.reviews.PutReviewVote(
                    rvpb.PutReviewVoteRequest(review_id=review.review_id, value=value),
                    metadata=voter.md,
                )
                for voter, value in zip(voters, ["up"] * ups + ["down"] * downs, strict=False)
            )
        )
    expected = sorted(
        zip(reviews, plans, strict=True), key=lambda item: wilson(*item[1]), reverse=True
    )
    page = await u.reviews.ListFilmReviews(
        rvpb.ListFilmReviewsRequest(film_id=film, sort="helpful")
    )
    assert [r.review_id for r in page.reviews] == [rid for rid, _ in expected]
    assert [(r.votes_up, r.votes_down) for r in page.reviews] == [plan for _, plan in expected]
    newest = await u.reviews.ListFilmReviews(rvpb.ListFilmReviewsRequest(film_id=film))
    assert [r.review_id for r in newest.reviews] == reviews[::-1]
    for bad, why in (
        ({"sort": "best"}, "INVALID_SORT"),
        ({"page_size": 0}, "INVALID_PAGE_SIZE"),
        ({"page_size": 101}, "INVALID_PAGE_SIZE"),
        ({"page_token": "garbage!"}, "INVALID_PAGE_TOKEN"),
    ):
        exc = await rpc_error(
            u.reviews.ListFilmReviews(rvpb.ListFilmReviewsRequest(film_id=film, **bad))
        )
        assert (exc.code(), reason(exc)) == (Code.INVALID_ARGUMENT, why)
    # A token of one order is refused by the other.
    two = await u.reviews.ListFilmReviews(
        rvpb.ListFilmReviewsRequest(film_id=film, sort="helpful", page_size=2)
    )
    exc = await rpc_error(
        u.reviews.ListFilmReviews(
            rvpb.ListFilmReviewsRequest(film_id=film, page_token=two.next_page_token)
        )
    )
    assert reason(exc) == "INVALID_PAGE_TOKEN"


async def test_keyset_pages_under_inserts_have_no_duplicates_or_gaps(
    u: UgcStubs, users: list[User]
) -> None:
    film = catalog.F_UNRATED
    first, later = users[:30], users[30:45]
    before = set()
    for user in first:
        review = await u.reviews.CreateReview(
            rvpb.CreateReviewRequest(film_id=film, text=f"by {user.user_id}"), metadata=user.md
        )
        before.add(review.review_id)
    for sort in ("newest", "helpful"):
        seen: list[str] = []
        token = ""
        inserting = iter(later if sort == "newest" else [])
        while True:
            page = await u.reviews.ListFilmReviews(
                rvpb.ListFilmReviewsRequest(film_id=film, sort=sort, page_size=7, page_token=token)
            )
            seen += [r.review_id for r in page.reviews]
            assert len(page.reviews) <= 7
            # Another user writes a review between two pages.
            if (writer := next(inserting, None)) is not None:
                await u.reviews.CreateReview(
                    rvpb.CreateReviewRequest(film_id=film, text="meanwhile"), metadata=writer.md
                )
            if not page.next_page_token:
                break
            token = page.next_page_token
        assert len(seen) == len(set(seen)), f"{sort}: a review came twice"
        assert before <= set(seen), f"{sort}: a review was skipped"


async def test_bookmarks(u: UgcStubs, users: list[User]) -> None:
    user, other = users[55], users[56]
    films = [
        catalog.F_NEW_HOPE,
        catalog.F_UNRATED,
        catalog.F_SOLARIS,
        catalog.F_EMPIRE,
        catalog.F_COMEDY,
    ]
    for film in films:
        await u.bookmarks.PutBookmark(bpb.PutBookmarkRequest(film_id=film), metadata=user.md)
    first = await u.bookmarks.PutBookmark(
        bpb.PutBookmarkRequest(film_id=catalog.F_NEW_HOPE), metadata=user.md
    )
    again = await u.bookmarks.PutBookmark(
        bpb.PutBookmarkRequest(film_id=catalog.F_NEW_HOPE), metadata=user.md
    )
    assert first.create_time == again.create_time  # PUT twice = once
    seen: list[bpb.Bookmark] = []
    token = ""
    while True:
        page = await u.bookmarks.ListBookmarks(
            bpb.ListBookmarksRequest(page_size=2, page_token=token), metadata=user.md
        )
        seen += page.bookmarks
        if not page.next_page_token:
            break
        token = page.next_page_token
        if len(seen) == 2:  # a bookmark added meanwhile lands before the cursor
            await u.bookmarks.PutBookmark(
                bpb.PutBookmarkRequest(film_id=catalog.F_QUIET), metadata=user.md
            )
    assert [b.film_id for b in seen] == films[::-1]
    titles = {f.id: f for f in catalog.FILMS}
    for item in seen:
        assert item.title == titles[item.film_id].title
        rating = titles[item.film_id].rating
        assert (
            item.imdb_rating == rating if rating is not None else not item.HasField("imdb_rating")
        )
    assert not (
        await u.bookmarks.ListBookmarks(bpb.ListBookmarksRequest(), metadata=other.md)
    ).bookmarks
    for _ in range(2):
        await u.bookmarks.DeleteBookmark(
            bpb.DeleteBookmarkRequest(film_id=catalog.F_EMPIRE), metadata=user.md
        )
    listed = await u.bookmarks.ListBookmarks(bpb.ListBookmarksRequest(), metadata=user.md)
    assert catalog.F_EMPIRE not in [b.film_id for b in listed.bookmarks]
    assert listed.bookmarks[0].film_id == catalog.F_QUIET


@pytest.fixture(scope="module")
def ugc_without_catalogue(server: AuthServer, test_redis: Proc) -> Iterator[UgcServer]:
    """A UGC server whose content API is a closed port (never the stack's)."""
    yield from start_ugc("nocat", server, test_redis.port, free_port())  # type: ignore[attr-defined]


async def test_catalogue_down_writes_that_need_it_are_503(
    ugc_without_catalogue: UgcServer, users: list[User]
) -> None:
    md = users[0].md
    film = catalog.F_NEW_HOPE
    async with grpc.aio.insecure_channel(ugc_without_catalogue.target) as channel:
        u = UgcStubs.on(channel)
        for call in (
            u.ratings.PutRating(rtpb.PutRatingRequest(film_id=film, score=5), metadata=md),
            u.reviews.CreateReview(rvpb.CreateReviewRequest(film_id=film, text="x"), metadata=md),
            u.bookmarks.PutBookmark(bpb.PutBookmarkRequest(film_id=film), metadata=md),
        ):
            exc = await rpc_error(call)
            assert (exc.code(), reason(exc)) == (Code.UNAVAILABLE, "CATALOGUE_UNAVAILABLE"), (
                exc.details()
            )
        # What needs no check still works: removing, and reading what is stored.
        await u.ratings.DeleteRating(rtpb.DeleteRatingRequest(film_id=film), metadata=md)
        await u.bookmarks.DeleteBookmark(bpb.DeleteBookmarkRequest(film_id=film), metadata=md)
        summary = await u.ratings.GetFilmRating(rtpb.GetFilmRatingRequest(film_id=film))
        assert summary.count == 0


@pytest.fixture(scope="module")
def ugc_over_cut(
    server: AuthServer, test_redis: Proc, api: ApiServer, pg_cut: TcpProxy
) -> Iterator[UgcServer]:
    """A UGC server whose store is reached through `pg_cut`."""
    name = "pgcut"
    direct = dsn(f"ugc_test_{name}")
    through = pg_cut.reroute(direct)
    yield from start_ugc(
        name,
        server,
        test_redis.port,  # type: ignore[attr-defined]
        api.port,
        UGC_POSTGRES_DSN=through,
        REQUEST_DEADLINE_SECONDS=str(STORE_DEADLINE_S),
    )


async def test_store_down_is_503_within_the_deadline_and_then_recovers(
    ugc_over_cut: UgcServer, pg_cut: TcpProxy, users: list[User]
) -> None:
    md = users[0].md
    put = rtpb.PutRatingRequest(film_id=catalog.F_NEW_HOPE, score=6)
    async with grpc.aio.insecure_channel(ugc_over_cut.target) as channel:
        u = UgcStubs.on(channel)
        await u.ratings.PutRating(put, metadata=md)
        pg_cut.set_mode("down")
        try:
            started = time.monotonic()
            exc = await rpc_error(u.ratings.PutRating(put, metadata=md))
            elapsed = time.monotonic() - started
            assert exc.code() == Code.UNAVAILABLE, exc.details()
            assert reason(exc) in {"BACKEND_UNAVAILABLE", "DEADLINE_EXCEEDED"}
            assert elapsed < STORE_DEADLINE_S + 1.0
            exc = await rpc_error(
                u.ratings.GetFilmRating(rtpb.GetFilmRatingRequest(film_id=put.film_id))
            )
            assert exc.code() == Code.UNAVAILABLE, exc.details()
        finally:
            pg_cut.set_mode("pass")

        async def written() -> bool:
            try:
                await u.ratings.PutRating(put, metadata=md)
            except grpc.aio.AioRpcError:
                return False
            return True

        await eventually(written, 30, "a write once the store is back")
