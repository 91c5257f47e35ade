"""The auth service's numbers (issue 10): what verifying a token at the edge
costs, sign-ins and refreshes per second.

- Edge verification: the same cheap route (`GET /api/v1/genres`, answered by the
  edge's cache) through two edges rendered from the same template, one with a
  `jwt_authn` rule on it (patched in as data), both sent the same valid token.
- Login: gRPC straight to a bench auth server with the default argon2id
  parameters (19 MiB, t=2, p=1): the hash dominates.
- Refresh at c=64: 64 sessions, each refreshing with the token its last
  refresh returned (rotation makes every call a real one).

The auth server has its own database (`auth_test_bench`) on the stack's
PostgreSQL and uses Redis db 1, like the tests.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import yaml

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import auth_service_pb2_grpc as pb_grpc
from bench.common import (
    LOG_DIR,
    REDIS_PORT,
    ROOT,
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
from tests.support.auth import AUDIENCE, ISSUER, start_auth

PASSWORD = "correct horse battery staple"
CHEAP_ROUTE = "/api/v1/genres"
EDGE_CONCURRENCY = 64
LOGIN_CONCURRENCY = (1, 4)
REFRESH_CONCURRENCY = 64
WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_P50 = re.compile(r"50%\s+([\d.]+)(us|ms|s)")
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Rate:
    what: str
    concurrency: int
    rps: float
    p50_ms: float


def start_edge(name: str, auth_target: str, protect: bool) -> tuple[Proc, int]:
    """An edge like the stack's; with `protect`, CHEAP_ROUTE needs a token."""
    port, admin = free_port(), free_port()
    cfg = LOG_DIR / f"{name}.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "ENVOY_PORT": str(port),
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
    if protect:
        config: dict[str, Any] = yaml.safe_load(cfg.read_text())
        (edge,) = (x for x in config["static_resources"]["listeners"] if x["name"] == "edge")
        hcm = edge["filter_chains"][0]["filters"][-1]["typed_config"]  # the terminal filter
        (jwt,) = (f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.jwt_authn")
        rule = {"match": {"prefix": CHEAP_ROUTE}, "requires": {"provider_name": "auth"}}
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


async def closed_loop(
    what: str, workers: list[Callable[[], Awaitable[None]]], seconds: float
) -> Rate:
    """Each worker calls in a loop for `seconds`; every call's latency is kept."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def loop(call: Callable[[], Awaitable[None]]) -> None:
        while time.monotonic() < deadline:
            began = time.monotonic()
            await call()
            latencies.append(time.monotonic() - began)

    began = time.monotonic()
    await asyncio.gather(*(loop(w) for w in workers))
    elapsed = time.monotonic() - began
    return Rate(what, len(workers), len(latencies) / elapsed, statistics.median(latencies) * 1e3)


async def login_and_refresh(target: str, seconds: float) -> list[Rate]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.AuthServiceStub(channel)
        email = f"bench-{uuid.uuid4().hex[:12]}@example.org"
        await stub.Register(pb.RegisterRequest(email=email, password=PASSWORD))
        creds = pb.LoginRequest(email=email, password=PASSWORD)

        async def login() -> None:
            await stub.Login(creds)

        rates = [await closed_loop("login (gRPC)", [login] * c, seconds) for c in LOGIN_CONCURRENCY]
        sessions = [await stub.Login(creds) for _ in range(REFRESH_CONCURRENCY)]

        def refresher(token: str) -> Callable[[], Awaitable[None]]:
            current = [token]

            async def refresh() -> None:
                reply = await stub.Refresh(pb.RefreshRequest(refresh_token=current[0]))
                current[0] = reply.refresh_token

            return refresh

        workers = [refresher(s.refresh_token) for s in sessions]
        rates.append(await closed_loop("refresh (gRPC)", workers, seconds))
        return rates


def measure(settings: Settings) -> str:
    """Runs every auth measurement; returns the report's section."""
    seconds = settings.duration_s
    auth = start_auth(
        "bench",
        REDIS_PORT,
        ACCESS_TOKEN_TTL_SECONDS="3600",
        LOG_LEVEL="WARNING",
        # The service's defaults (the tests' server runs lighter ones).
        ARGON2_TIME_COST="2",
        ARGON2_MEMORY_COST_KIB="19456",
        ARGON2_PARALLELISM="1",
    )
    server = next(auth)
    edges: list[Proc] = []
    try:
        rates = asyncio.run(login_and_refresh(server.target, seconds))
        token = asyncio.run(_token(server.target))
        urls: dict[bool, str] = {}
        for protect in (False, True):
            proc, port = start_edge(f"bench-auth-edge-{protect}", server.target, protect)
            edges.append(proc)
            urls[protect] = f"http://127.0.0.1:{port}{CHEAP_ROUTE}"
            wrk(urls[protect], token, 1)  # warm the edge's cache and JWKS
        # Alternated, medians: the machine's other load drifts between runs.
        runs: dict[bool, list[Rate]] = {False: [], True: []}
        for _ in range(settings.repeats):
            for protect in (False, True):
                runs[protect].append(wrk(urls[protect], token, seconds))
        edge_rates = {
            protect: min(got, key=lambda r: abs(r.rps - statistics.median(x.rps for x in got)))
            for protect, got in runs.items()
        }
        seen = {protect: [round(r.rps) for r in got] for protect, got in runs.items()}
        log(f"auth bench: edge req/s, public {seen[False]}, with jwt_authn {seen[True]}")
    finally:
        for proc in edges:
            proc.stop()
        auth.close()
    public, protected = edge_rates[False], edge_rates[True]
    cost = 1 - protected.rps / public.rps
    rows = [
        ["edge, public route", str(public.concurrency), fmt(public.rps, 0), fmt(public.p50_ms, 2)],
        [
            "edge, same route with jwt_authn",
            str(protected.concurrency),
            fmt(protected.rps, 0),
            fmt(protected.p50_ms, 2),
        ],
        *([r.what, str(r.concurrency), fmt(r.rps, 0), fmt(r.p50_ms, 2)] for r in rates),
    ]
    return (
        "## Auth service\n\n"
        + md_table(["what", "concurrency", "req/s", "p50 ms"], rows)
        + f"\n\nEdge verification cost: {cost:.1%} of req/s (goal < 15%) on `{CHEAP_ROUTE}`"
        f" ({ENVOY_CONCURRENCY} Envoy workers, wrk c={EDGE_CONCURRENCY}, median of"
        f" {settings.repeats} alternated runs). Login with argon2id"
        " 19 MiB, t=2, p=1; refresh: one Python client process (part of the limit).\n"
    )


async def _token(target: str) -> str:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.AuthServiceStub(channel)
        email = f"bench-{uuid.uuid4().hex[:12]}@example.org"
        await stub.Register(pb.RegisterRequest(email=email, password=PASSWORD))
        reply = await stub.Login(pb.LoginRequest(email=email, password=PASSWORD))
        return str(reply.access_token)


if __name__ == "__main__":
    print(measure(Settings.quick() if "--smoke" in sys.argv else Settings.full()))
