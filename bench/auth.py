"""The auth service's numbers (issue 10): what verifying a token costs at the edge
and in a service, sign-ins and refreshes per second.

- Edge verification: the same cheapest route (Envoy's own answer, patched in as
  data: nothing but the edge's work, so verification weighs most) through two
  Envoys rendered from the stack's template, one with a `jwt_authn` rule on it,
  both sent the same valid token; runs alternate (public, protected, then
  protected, public, ...) and the cost is the median of the pairs' costs, so the
  machine's drift (other work on the 2 cores) hits both alike.
- Login: `ghz` straight at a bench auth server with the default argon2id
  parameters (19 MiB, t=2, p=1): the hash dominates.
- Refresh at c=64: `ghz` sends each call a different valid refresh token (each
  refresh spends its token: rotation with reuse detection), from a data file of
  more tokens than the run can use, minted beforehand as `Login` stores them (a
  session and the SHA-256 of its token) in one statement, since minting them
  through `Login` would cost an argon2 hash each.
- The token check in a service: the shared interceptor (`movies_auth`) in-process,
  one call after another, with the keys cached and the deny-list read from Redis
  on every call; once as deployed (a token seen before skips the signature) and
  once verifying the signature on every call.

The auth server has its own database (`auth_test_bench`) on the stack's
PostgreSQL and uses Redis db 1, like the tests.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import grpc
import psycopg
import redis.asyncio as aioredis
import yaml

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import auth_service_pb2_grpc as pb_grpc
from auth_service.service_layer.accounts import token_hash
from bench import grpc_load
from bench.common import (
    LOG_DIR,
    REDIS_PORT,
    REDIS_URL,
    ROOT,
    Load,
    Proc,
    Settings,
    fmt,
    free_port,
    http_ok,
    log,
    md_table,
    require,
    wait_until,
)
from bench.stack import ENVOY_CONCURRENCY
from movies_auth import (
    AccessPolicy,
    AuthInterceptor,
    DenyList,
    JwksCache,
    TokenVerifier,
    grpc_jwks_source,
)
from tests.support.auth import AUDIENCE, ISSUER, AuthServer, dsn, start_auth

PASSWORD = "correct horse battery staple"
# Envoy's own answer (a route patched in as data): the whole cost is the edge's,
# so verification weighs most here. (A read the content API answers costs the
# shared content API's time too, and other work on it swamps the difference.)
DIRECT_ROUTE = "/bench/direct"
DIRECT_BODY = '{"ok":true}'
ROUTES = (DIRECT_ROUTE,)
EDGE_CONCURRENCY = 64
# Alternated runs per edge: a median of at least this many.
EDGE_RUNS = 5
LOGIN_CONCURRENCY = (1, 4)
REFRESH_CONCURRENCY = 64
# Tokens minted per second of a refresh run: far above what 2 cores can refresh,
# so no token is sent twice (a second use would be a reuse, refused).
REFRESH_TOKENS_PER_S = 5000
CHECK_CALLS = 3000
REFRESH = "auth.v1.AuthService/Refresh"
LOGIN = "auth.v1.AuthService/Login"
WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_P50 = re.compile(r"50%\s+([\d.]+)(us|ms|s)")
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

# The issue's targets.
TARGET_EDGE_COST = 0.15
TARGET_REFRESH_RPS = 1000.0
TARGET_CHECK_P50_MS = 0.3


@dataclass
class Rate:
    what: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float | None = None


def start_edge(name: str, auth_target: str, protect: bool) -> tuple[Proc, int]:
    """An edge like the stack's (Envoy, rendered from the same template) with
    DIRECT_ROUTE added; with `protect`, both ROUTES need a token."""
    port, admin = free_port(), free_port()
    cfg = LOG_DIR / f"{name}.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        # Envoy's HTTP listener, whichever variable the template reads it from
        # (ENVOY_EDGE_PORT since the door is Varnish), and its other ports.
        "ENVOY_PORT": str(port),
        "ENVOY_EDGE_PORT": str(port),
        "ENVOY_GRPC_PORT": str(free_port()),
        "ENVOY_ADMIN_PORT": str(admin),
        "ENVOY_TRANSCODER_PORT": str(free_port()),
        "ENVOY_CACHE_DIR": tempfile.mkdtemp(prefix=f"bench-{name}-"),
        "AUTH_UPSTREAMS": auth_target,
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        "DOCS_DIR": "",
    }
    render = [sys.executable, str(ROOT / "envoy" / "render.py"), "--descriptor"]
    render += [str(ROOT / "gen" / "descriptors.pb"), "--out", str(cfg)]
    subprocess.run(render, env=env, check=True)
    config: dict[str, Any] = yaml.safe_load(cfg.read_text())
    (edge,) = (x for x in config["static_resources"]["listeners"] if x["name"] == "edge")
    hcm = edge["filter_chains"][0]["filters"][-1]["typed_config"]  # the terminal filter
    hcm["route_config"]["virtual_hosts"][0]["routes"].insert(
        0,
        {
            "match": {"path": DIRECT_ROUTE},
            "direct_response": {"status": 200, "body": {"inline_string": DIRECT_BODY}},
        },
    )
    if protect:
        (jwt,) = (f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.jwt_authn")
        for route in ROUTES:
            rule = {"match": {"path": route}, "requires": {"provider_name": "auth"}}
            jwt["typed_config"]["rules"].insert(0, rule)
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    launch = [sys.executable, str(ROOT / "envoy" / "launch.py"), "--config", str(cfg)]
    proc = Proc(name, [*launch, "--concurrency", str(ENVOY_CONCURRENCY)]).start()
    wait_until(lambda: http_ok(f"http://127.0.0.1:{admin}/ready"), 30, name)
    return proc, port


def wrk(url: str, token: str, seconds: float) -> Rate:
    args = [require("wrk"), "-t1", f"-c{EDGE_CONCURRENCY}", f"-d{max(1, round(seconds))}s"]
    out = subprocess.run(
        [*args, "--latency", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk {url}: error responses\n{out}")
    rps, p50 = WRK_RPS.search(out), WRK_P50.search(out)
    assert rps is not None, out
    assert p50 is not None, out
    return Rate(url, EDGE_CONCURRENCY, float(rps[1]), float(p50[1]) * UNIT_MS[p50[2]])


def _median_run(runs: Sequence[Rate]) -> Rate:
    mid = statistics.median(r.rps for r in runs)
    return min(runs, key=lambda r: abs(r.rps - mid))


@dataclass
class EdgeCost:
    route: str
    public: Rate
    protected: Rate
    # 1 - protected/public of each alternated pair
    pair_costs: list[float]

    @property
    def cost(self) -> float:
        return statistics.median(self.pair_costs)


def edge_costs(server: AuthServer, token: str, settings: Settings) -> list[EdgeCost]:
    """Each route through the public and the protecting edge, runs alternated
    (public first, then protected first, ...), at least EDGE_RUNS pairs."""
    edges: list[Proc] = []
    out = []
    try:
        base: dict[bool, str] = {}
        for protect in (False, True):
            proc, port = start_edge(f"bench-auth-edge-{protect}", server.target, protect)
            edges.append(proc)
            base[protect] = f"http://127.0.0.1:{port}"
        for route in ROUTES:
            for protect in (False, True):
                wrk(base[protect] + route, token, 1)  # the edge's JWKS, connections
            runs: dict[bool, list[Rate]] = {False: [], True: []}
            for i in range(max(EDGE_RUNS, settings.repeats)):
                for protect in (False, True) if i % 2 == 0 else (True, False):
                    runs[protect].append(wrk(base[protect] + route, token, settings.duration_s))
            pairs = [1 - p.rps / q.rps for p, q in zip(runs[True], runs[False], strict=True)]
            seen = {protect: [round(r.rps) for r in got] for protect, got in runs.items()}
            log(f"auth bench: {route} req/s, public {seen[False]}, jwt_authn {seen[True]}")
            out.append(EdgeCost(route, _median_run(runs[False]), _median_run(runs[True]), pairs))
    finally:
        for proc in edges:
            proc.stop()
    return out


def mint_refresh_tokens(server: AuthServer, user_id: str, n: int) -> list[str]:
    """`n` valid refresh tokens of `n` sessions of `user_id`, stored as `Login`
    stores them (the SHA-256 only), in one transaction."""
    tokens = [secrets.token_urlsafe(32) for _ in range(n)]
    sessions = [uuid.uuid4() for _ in range(n)]
    hashes = [token_hash(t) for t in tokens]
    with psycopg.connect(dsn(server.database)) as conn:
        conn.execute(
            "insert into auth.sessions (id, user_id, expires_at)"
            " select unnest(%s::uuid[]), %s, now() + interval '1 day'",
            (sessions, user_id),
        )
        conn.execute(
            "insert into auth.refresh_tokens (token_hash, session_id, expires_at)"
            " select unnest(%s::bytea[]), unnest(%s::uuid[]), now() + interval '1 day'",
            (hashes, sessions),
        )
    return tokens


def refresh_rate(server: AuthServer, user_id: str, settings: Settings) -> tuple[Rate, list[float]]:
    """Median of `repeats` ghz runs at c=64, each over freshly minted tokens."""
    n = max(2000, int(settings.duration_s * REFRESH_TOKENS_PER_S))
    runs: list[Load] = []
    for _ in range(settings.repeats):
        tokens = mint_refresh_tokens(server, user_id, n)
        got = grpc_load.run(
            server.target,
            REFRESH,
            [pb.RefreshRequest(refresh_token=t) for t in tokens],
            REFRESH_CONCURRENCY,
            settings.duration_s,
        )
        if got.errors or got.requests >= n:
            raise RuntimeError(f"refresh run: {got.errors} errors, {got.requests} calls of {n}")
        runs.append(got)
    log(f"auth bench: refresh req/s {[round(r.rps) for r in runs]}")
    m = Load.median(runs)
    return Rate("refresh (gRPC)", REFRESH_CONCURRENCY, m.rps, m.p50_ms, m.p99_ms), [
        r.rps for r in runs
    ]


def login_rates(server: AuthServer, email: str, settings: Settings) -> list[Rate]:
    out = []
    for c in LOGIN_CONCURRENCY:
        got = grpc_load.run(
            server.target, LOGIN, [{"email": email, "password": PASSWORD}], c, settings.duration_s
        )
        if got.errors:
            raise RuntimeError(f"login run at c={c}: {got.errors} errors")
        out.append(Rate("login (gRPC)", c, got.rps, got.p50_ms, got.p99_ms))
    return out


class _Call(NamedTuple):
    """What grpc.aio hands an interceptor (`grpc.HandlerCallDetails`)."""

    method: str
    invocation_metadata: tuple[tuple[str, str], ...]


async def _ok(request: Any, context: Any) -> bytes:
    return b""


class _Context:
    """The one part of a servicer context the interceptor uses: its refusal."""

    async def abort(self, code: grpc.StatusCode, details: str, **_: Any) -> None:
        raise RuntimeError(f"the token check refused the bench's token: {code.name}: {details}")


@dataclass
class Check:
    what: str
    p50_ms: float
    p99_ms: float


async def token_check(server: AuthServer, token: str, calls: int) -> list[Check]:
    """The interceptor's time per call, from its call to the handler's return."""
    redis = aioredis.Redis.from_url(server.env["AUTH_REDIS_URL"])
    out = []
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            details = cast(
                grpc.HandlerCallDetails,
                _Call("/bench.v1.Bench/Protected", (("authorization", f"Bearer {token}"),)),
            )
            handler: grpc.RpcMethodHandler[Any, Any] = grpc.unary_unary_rpc_method_handler(_ok)
            context = cast(grpc.ServicerContext, _Context())

            async def continuation(_: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any]:
                return handler

            for what, cache_size in (
                ("as deployed (a token seen before skips the signature)", 10_000),
                ("signature verified on every call", 0),
            ):
                verifier = TokenVerifier(
                    JwksCache(grpc_jwks_source(channel)),
                    DenyList(redis),
                    ISSUER,
                    AUDIENCE,
                    cache_size=cache_size,
                )
                interceptor = AuthInterceptor(verifier, AccessPolicy())
                took: list[float] = []
                for i in range(calls + 50):
                    began = time.perf_counter()
                    checked = await interceptor.intercept_service(continuation, details)
                    assert checked is not None
                    assert checked.unary_unary is not None
                    await checked.unary_unary(None, context)
                    if i >= 50:  # the first calls fetch the keys and connect
                        took.append(time.perf_counter() - began)
                took.sort()
                out.append(
                    Check(what, took[len(took) // 2] * 1e3, took[len(took) * 99 // 100] * 1e3)
                )
    finally:
        await redis.aclose()
    return out


async def _account(target: str) -> tuple[str, str, str]:
    """A fresh account: its email, user id and an access token."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.AuthServiceStub(channel)
        email = f"bench-{uuid.uuid4().hex[:12]}@example.org"
        user = await stub.Register(pb.RegisterRequest(email=email, password=PASSWORD))
        reply = await stub.Login(pb.LoginRequest(email=email, password=PASSWORD))
        return email, str(user.user_id), str(reply.access_token)


def _verdict(ok: bool, text: str) -> str:
    return "met" if ok else f"missed: {text}"


def measure(settings: Settings) -> str:
    """Runs every auth measurement; returns the report's section."""
    auth = start_auth(
        "bench",
        REDIS_PORT,
        ACCESS_TOKEN_TTL_SECONDS="3600",
        LOG_LEVEL="WARNING",
        # The stack's Redis (with its password, if it has one), db 1 as the tests.
        AUTH_REDIS_URL=f"{REDIS_URL.rsplit('/', 1)[0]}/1",
        # The service's defaults (the tests' server runs lighter ones).
        ARGON2_TIME_COST="2",
        ARGON2_MEMORY_COST_KIB="19456",
        ARGON2_PARALLELISM="1",
    )
    server = next(auth)
    started = time.strftime("%H:%M UTC", time.gmtime())
    try:
        email, user_id, token = asyncio.run(_account(server.target))
        refresh, refresh_runs = refresh_rate(server, user_id, settings)
        logins = login_rates(server, email, settings)
        checks = asyncio.run(token_check(server, token, 200 if settings.smoke else CHECK_CALLS))
        edges = edge_costs(server, token, settings)
    finally:
        auth.close()
    rows = []
    for e in edges:
        for label, r in (("public", e.public), ("with jwt_authn", e.protected)):
            rows.append(
                [
                    f"edge `{e.route}`, {label}",
                    str(r.concurrency),
                    fmt(r.rps, 0),
                    fmt(r.p50_ms, 2),
                    "–",
                ]
            )
    rows += [
        [r.what, str(r.concurrency), fmt(r.rps, 0), fmt(r.p50_ms, 2), fmt(r.p99_ms or 0, 2)]
        for r in (*logins, refresh)
    ]
    targets = [
        [
            f"edge verification cost, `{e.route}`: < {TARGET_EDGE_COST:.0%} of req/s",
            f"{e.cost:.1%}: median of {len(e.pair_costs)} alternated pairs ("
            + ", ".join(f"{c:.1%}" for c in e.pair_costs)
            + f"); protected/public req/s {e.protected.rps / e.public.rps:.2f}×",
            _verdict(e.cost < TARGET_EDGE_COST, f"{e.cost:.1%}"),
        ]
        for e in edges
    ]
    targets.append(
        [
            f"refresh at c={REFRESH_CONCURRENCY}: ≥ {TARGET_REFRESH_RPS:,.0f}/s",
            f"{fmt(refresh.rps, 0)}/s = {refresh.rps / TARGET_REFRESH_RPS:.2f}× the target "
            f"(runs: {', '.join(fmt(r, 0) for r in refresh_runs)})",
            _verdict(
                refresh.rps >= TARGET_REFRESH_RPS,
                f"{(1 - refresh.rps / TARGET_REFRESH_RPS):.0%} below",
            ),
        ]
    )
    targets += [
        [
            f"token check in a service, {c.what}: p50 < {TARGET_CHECK_P50_MS} ms",
            f"p50 {c.p50_ms:.3f} ms ({c.p50_ms / TARGET_CHECK_P50_MS:.2f}× the budget),"
            f" p99 {c.p99_ms:.3f} ms",
            _verdict(c.p50_ms < TARGET_CHECK_P50_MS, f"{c.p50_ms:.3f} ms")
            if i == 0
            else "for reference: the target is the check as deployed",
        ]
        for i, c in enumerate(checks)
    ]
    return (
        "## Auth service\n\n"
        f"Measured from {started}.\n\n"
        + md_table(["target", "measured", "verdict"], targets)
        + "\n\n"
        + md_table(["what", "concurrency", "req/s", "p50 ms", "p99 ms"], rows)
        + f"\n\nEdge: Envoy as rendered for the stack ({ENVOY_CONCURRENCY} workers), without"
        " the door in front; two edges, one with a `jwt_authn` rule on the measured routes;"
        f" `wrk -t1 -c{EDGE_CONCURRENCY}`, the same valid token sent to both (the protecting"
        f" edge's verified-token cache is warm); runs alternated. `{DIRECT_ROUTE}` is Envoy's"
        " own answer: the worst case, nothing but the edge's work. Login and refresh: `ghz --connections 1` straight"
        " at one auth server process; login with argon2id 19 MiB, t=2, p=1; refresh with a"
        f" distinct valid token per call, median of {settings.repeats} run(s). Token check:"
        f" the `movies_auth` interceptor in-process, {200 if settings.smoke else CHECK_CALLS}"
        " sequential calls, keys cached, the deny-list read from Redis on each call.\n"
    )


if __name__ == "__main__":
    print(measure(Settings.quick() if "--smoke" in sys.argv else Settings.full()))
