"""The UGC service's numbers (issue 11): ratings written per second, spread
over 10k films and on one film (the hot row), the rating summary read through
the edge against the content API's film detail, and a film's reviews by
helpfulness at the storage study's size.

Everything runs beside the dev stack, never in its way: the bench's own auth
server (database `auth_test_ugc_bench_<pid>`, Redis db 1) and UGC server (database
`ugc_test_bench_<pid>`), over the bench's catalogue (`Catalogue(settings.api_films)`,
the API part's), behind the bench's own edge rendered from the stack's template.
Writes go through the edge with `wrk` (HTTP/1.1, one connection per unit of
concurrency, a Lua script cycling over pre-formatted requests, each with a
token of one of 64 users): the whole path a user's rating takes (edge
`jwt_authn`, transcoder, the service's token check, the film check, the
transaction). The reviews page is read with `ghz` straight at the service, so
the number is the service and its index, not the edge's cache.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import httpx
import psycopg

from bench import grpc_load, rest_wrk
from bench.common import REDIS_PORT, REDIS_URL, Load, Settings, fmt, log, md_table
from bench.stack import BenchApi, Catalogue
from tests.support.auth import (
    AUDIENCE,
    ISSUER,
    Stubs,
    dsn,
    register_and_login,
    start_auth,
)
from tests.support.procs import wait_until
from tests.support.ugc import UgcServer, start_ugc

USERS = 64
CONCURRENCY = 64
SPREAD_FILMS = 10_000
HOT_FILMS = 100  # films read in the summary-vs-detail comparison, as run.py's hot set
# The storage study's size: 1M reviews. Ten films carry 20k each (the long
# first pages of popular films), the rest spread over the sampled films.
REVIEWS = 1_000_000
POPULAR_FILMS = 10
POPULAR_REVIEWS = 20_000
REVIEW_CONCURRENCY = (1, 16)
RATE = "ugc.v1.RatingService/PutRating"
READ_RUNS = 3

# The issue's targets.
TARGET_WRITES_S = 1000.0
TARGET_WRITE_P99_MS = 100.0
TARGET_READ_RATIO = 0.8  # within 20% of the content API's warm film detail
TARGET_REVIEWS_P99_MS = 50.0

LUA = r"""
local requests = {}
local i = 0
local threads = {}
codes = {}
function setup(thread)
  threads[#threads + 1] = thread
end
function response(status, headers, body)
  if status >= 300 then codes[status] = (codes[status] or 0) + 1 end
end
function init(args)
  for line in io.lines(args[1]) do
    local method, path, token, body = line:match("^(%S+)\t(%S+)\t(%S+)\t(.*)$")
    requests[#requests + 1] = wrk.format(method, path, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, body)
  end
end
function request()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end
function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"status_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
  local seen = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("codes")) do
      seen[#seen + 1] = string.format('"%d": %d', status, n)
    end
  end
  io.write("WRKCODES {" .. table.concat(seen, ", ") .. "}\n")
end
"""


@dataclass
class Row:
    what: str
    concurrency: int
    load: Load


def wrk_requests(base_url: str, lines: Sequence[str], concurrency: int, duration_s: float) -> Load:
    """`wrk -t1 -c<concurrency>` over `lines` ("METHOD\\tpath\\ttoken\\tbody"), wrapping around."""
    load, stdout = rest_wrk.run_script(base_url, LUA, lines, concurrency, duration_s)
    if load.errors:
        codes = next((ln for ln in stdout.splitlines() if ln.startswith("WRKCODES ")), "")
        log(f"ugc: wrk errors: {load.errors}, statuses {codes[9:]}")
    return load


def rating_lines(films: Sequence[str], tokens: Sequence[str], n: int) -> list[str]:
    """n PUTs: request i by user i mod 64, on film i·7919 mod len(films), score i mod 11,
    so each request really changes a row and its film's summary (a repeat of the same
    user and film comes with another score)."""
    return [
        f"PUT\t/api/v1/films/{films[(i * 7919) % len(films)]}/rating\t{tokens[i % len(tokens)]}"
        f'\t{{"score":{i % 11}}}'
        for i in range(n)
    ]


async def _users(target: str, n: int) -> list[str]:
    async with grpc.aio.insecure_channel(target) as channel:
        stubs = Stubs.on(channel)
        logins = await asyncio.gather(
            *(
                register_and_login(stubs, f"bench-ugc-{uuid.uuid4().hex[:12]}@example.org")
                for _ in range(n)
            )
        )
    return [login.access_token for login in logins]


def load_reviews(server: UgcServer, films: Sequence[str], total: int) -> float:
    """`total` reviews with random votes straight into the service's tables (the
    generated helpfulness column computed by PostgreSQL); seconds taken."""
    started = time.perf_counter()
    popular, rest = list(films[:POPULAR_FILMS]), list(films[POPULAR_FILMS:])
    popular_each = min(POPULAR_REVIEWS, total // (2 * max(1, len(popular))))
    rest_each = max(1, (total - popular_each * len(popular)) // max(1, len(rest)))
    insert = (
        "insert into ugc.reviews (id, film_id, user_id, body, score, spoiler, created_at,"
        " votes_up, votes_down)"
        " select gen_random_uuid(), f, gen_random_uuid(), 'review ' || g, (random() * 10)::int,"
        " random() < 0.1, now() - random() * interval '365 days',"
        " (random() * random() * 60)::int, (random() * random() * 30)::int"
        " from unnest(%s::uuid[]) f, generate_series(1, %s) g"
    )
    with psycopg.connect(dsn(server.database), autocommit=True) as conn:
        conn.execute("truncate ugc.reviews cascade")
        conn.execute(insert.encode(), (popular, popular_each))
        for i in range(0, len(rest), 1000):
            conn.execute(insert.encode(), (rest[i : i + 1000], rest_each))
        conn.execute("analyze ugc.reviews")
        count = conn.execute("select count(*) from ugc.reviews").fetchone()
    log(f"ugc: {count[0] if count else 0} reviews loaded in {time.perf_counter() - started:.0f}s")
    return time.perf_counter() - started


def _jwks_fetched(admin_port: int) -> bool:
    stats = httpx.get(f"http://127.0.0.1:{admin_port}/stats?filter=jwks_fetch_success").text
    return any(int(line.rsplit(":", 1)[1]) > 0 for line in stats.splitlines() if line)


def _verdict(ok: bool, text: str) -> str:
    return "met" if ok else f"missed: {text}"


def measure(settings: Settings) -> str:
    """Runs every UGC measurement; returns the report's section."""
    started = time.strftime("%H:%M UTC", time.gmtime())
    load_before = os.getloadavg()[0]
    redis_db1 = f"{REDIS_URL.rsplit('/', 1)[0]}/1"
    cat = Catalogue(settings.api_films)
    cat.ensure_rows()
    cat.ensure_indexed()
    films = cat.film_ids(min(SPREAD_FILMS, cat.films), seed=31)
    hot = films[:HOT_FILMS]
    reviews_total = 20_000 if settings.smoke else REVIEWS
    # Databases named per process: a second bench (another checkout's, a smoke
    # test) must not drop this one's under it.
    run_name = f"bench_{os.getpid()}"
    auth_gen = start_auth(
        f"ugc_{run_name}",
        REDIS_PORT,
        ACCESS_TOKEN_TTL_SECONDS="3600",
        LOG_LEVEL="WARNING",
        AUTH_REDIS_URL=redis_db1,
    )
    auth = next(auth_gen)
    api = BenchApi(cat)  # ports chosen now, started below
    ugc_gen = start_ugc(
        run_name,
        auth,
        REDIS_PORT,
        api.grpc_port,
        AUTH_REDIS_URL=redis_db1,
        LOG_LEVEL="WARNING",
        # A film checked once stays known for the whole bench (the default, 60 s,
        # asks the content API again once a minute per film written to).
        UGC_FILM_CACHE_SECONDS="3600",
    )
    try:
        ugc = next(ugc_gen)
        api.extra_env = {
            "UGC_UPSTREAMS": ugc.target,
            "AUTH_UPSTREAMS": auth.target,
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": AUDIENCE,
        }
        api.start()
        wait_until(lambda: _jwks_fetched(api.admin_port), 30, "bench edge JWKS")
        tokens = asyncio.run(_users(auth.target, USERS))
        rows, spread, one = ratings(api.url, ugc.target, films, tokens, settings)
        reads, ratio_runs = summary_vs_detail(api.url, hot, settings)
        rows += reads
        load_s = load_reviews(ugc, films, reviews_total)
        rows += reviews_by_helpfulness(ugc, films, settings)
    finally:
        api.stop()
        ugc_gen.close()
        auth_gen.close()
    load_after = os.getloadavg()[0]
    review_rows = [r for r in rows if r.what.startswith("reviews")]
    worst_review = max(review_rows, key=lambda r: r.concurrency)
    ratio_value = statistics.median(ratio_runs)
    targets = [
        [
            f"ratings written, {len(films):,} films, c={CONCURRENCY}: ≥ {TARGET_WRITES_S:,.0f}/s,"
            f" p99 < {TARGET_WRITE_P99_MS:.0f} ms",
            f"{fmt(spread.rps, 0)}/s, p99 {fmt(spread.p99_ms, 1)} ms, {spread.errors} errors",
            _verdict(
                spread.rps >= TARGET_WRITES_S and spread.p99_ms < TARGET_WRITE_P99_MS,
                f"{fmt(spread.rps, 0)}/s, p99 {fmt(spread.p99_ms, 1)} ms",
            ),
        ],
        [
            f"ratings written, one film (hot row), c={CONCURRENCY}: what it costs",
            f"{fmt(one.rps, 0)}/s ({one.rps / spread.rps:.2f}× the spread case),"
            f" p99 {fmt(one.p99_ms, 1)} ms, {one.errors} errors",
            "reported",
        ],
        [
            f"rating summary through the edge, c={CONCURRENCY}: within"
            f" {1 - TARGET_READ_RATIO:.0%} of the warm film detail",
            f"{ratio_value:.2f}× its req/s (median of {len(ratio_runs)} alternated pairs: "
            + ", ".join(f"{r:.2f}" for r in ratio_runs)
            + ")",
            _verdict(ratio_value >= TARGET_READ_RATIO, f"{ratio_value:.2f}×"),
        ],
        [
            f"reviews by helpfulness, first page, {reviews_total:,} reviews:"
            f" p99 < {TARGET_REVIEWS_P99_MS:.0f} ms",
            f"p99 {fmt(worst_review.load.p99_ms, 1)} ms at c={worst_review.concurrency}",
            _verdict(
                worst_review.load.p99_ms < TARGET_REVIEWS_P99_MS,
                f"{fmt(worst_review.load.p99_ms, 1)} ms",
            ),
        ],
    ]
    table = md_table(
        ["what", "concurrency", "req/s", "p50 ms", "p99 ms", "errors"],
        [
            [
                r.what,
                str(r.concurrency),
                fmt(r.load.rps, 0),
                fmt(r.load.p50_ms, 2),
                fmt(r.load.p99_ms, 2),
                str(r.load.errors),
            ]
            for r in rows
        ],
    )
    return (
        "## UGC service\n\n"
        f"Measured from {started}; load average (1 min) {load_before:.1f} at the start,"
        f" {load_after:.1f} at the end, on {os.cpu_count()} cores.\n\n"
        + md_table(["target", "measured", "verdict"], targets)
        + "\n\n"
        + table
        + f"\n\nWrites: `wrk -t1 -c{CONCURRENCY}` through the bench's door and edge (jwt_authn,"
        f" transcoder), {USERS} users' tokens in turn, each request a real change (another"
        " score than the user's last one on that film); the UGC server with the stack's"
        " defaults (one summary row per film, UGC_RATING_SHARDS=1, rating writes group-committed"
        " with UGC_RATING_BATCHES_IN_FLIGHT=1, a pool of 10"
        " connections), its film cache warm. Reads: the same edge, no token (cacheable,"
        " `max-age=1` on both), summary and detail over the same"
        f" {len(hot)} films, runs alternated. Reviews: {reviews_total:,} rows loaded by SQL"
        f" in {load_s:.0f} s ({POPULAR_FILMS} films with up to {POPULAR_REVIEWS:,} each),"
        " read with `ghz --connections 1` straight at the service, `sort=helpful`, first"
        f" page of 20; median of {settings.repeats} run(s) of {settings.duration_s:.0f} s.\n"
    )


def ratings(
    url: str, target: str, films: Sequence[str], tokens: Sequence[str], settings: Settings
) -> tuple[list[Row], Load, Load]:
    n = max(len(films), 20_000)
    spread_lines = rating_lines(films, tokens, n)
    hot_lines = rating_lines(films[:1], tokens, 11 * len(tokens))
    # Warm-up: every film checked once (the film cache), every user's first rating.
    # Each wrk run starts at the first line: run on from where the last one stopped
    # until every film has been written once.
    warmed = 0
    while warmed < len(films):
        warm = wrk_requests(url, spread_lines[warmed:], CONCURRENCY, max(2.0, settings.duration_s))
        warmed += max(1, warm.requests)
    spread_runs, hot_runs = [], []
    for _ in range(settings.repeats):
        spread_runs.append(wrk_requests(url, spread_lines, CONCURRENCY, settings.duration_s))
        hot_runs.append(wrk_requests(url, hot_lines, CONCURRENCY, settings.duration_s))
    spread, one = Load.median(spread_runs), Load.median(hot_runs)
    # The service alone: ghz straight at it, one user's token (ghz sends the same
    # metadata on every call), each call another film or another score.
    messages = [{"film_id": films[(i * 7919) % len(films)], "score": i % 11} for i in range(n)]
    bearer = {"authorization": f"Bearer {tokens[0]}"}
    direct = Load.median(
        [
            grpc_load.run(target, RATE, messages, CONCURRENCY, settings.duration_s, bearer)
            for _ in range(settings.repeats)
        ]
    )
    log(f"ugc: ratings spread {spread}, one film {one}, gRPC direct {direct}")
    return (
        [
            Row(f"PUT rating, {len(films):,} films", CONCURRENCY, spread),
            Row("PUT rating, one film (hot row)", CONCURRENCY, one),
            Row(f"PutRating, gRPC direct, {len(films):,} films", CONCURRENCY, direct),
        ],
        spread,
        one,
    )


def summary_vs_detail(
    url: str, hot: Sequence[str], settings: Settings
) -> tuple[list[Row], list[float]]:
    summary_paths = [f"/api/v1/films/{f}/rating" for f in hot]
    detail_paths = [f"/api/v1/films/{f}" for f in hot]
    rest_wrk.run(url, summary_paths + detail_paths, CONCURRENCY, 2.0)  # warm both
    summaries, details, ratios = [], [], []
    for i in range(max(READ_RUNS, settings.repeats)):
        pair = [("s", summary_paths), ("d", detail_paths)]
        results = {}
        for kind, paths in pair if i % 2 == 0 else pair[::-1]:
            results[kind] = rest_wrk.run(url, paths, CONCURRENCY, settings.duration_s)
        summaries.append(results["s"])
        details.append(results["d"])
        ratios.append(results["s"].rps / results["d"].rps if results["d"].rps else 0.0)
    return (
        [
            Row("GET rating summary (edge)", CONCURRENCY, Load.median(summaries)),
            Row("GET film detail (edge, baseline)", CONCURRENCY, Load.median(details)),
        ],
        ratios,
    )


def reviews_by_helpfulness(
    server: UgcServer, films: Sequence[str], settings: Settings
) -> list[Row]:
    """First pages of the popular films and of as many others."""
    pages = [{"film_id": f, "sort": "helpful"} for f in films[:POPULAR_FILMS]]
    pages += [{"film_id": f, "sort": "helpful"} for f in films[POPULAR_FILMS : 10 * POPULAR_FILMS]]
    method = "ugc.v1.ReviewService/ListFilmReviews"
    grpc_load.run(server.target, method, pages, 4, 1.0)  # warm the film cache
    rows = []
    for c in REVIEW_CONCURRENCY:
        runs = [
            grpc_load.run(server.target, method, pages, c, settings.duration_s)
            for _ in range(settings.repeats)
        ]
        rows.append(Row("reviews by helpfulness, first page (gRPC)", c, Load.median(runs)))
    return rows
