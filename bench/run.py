"""`make bench`: every measurement in one run, written to docs/benchmarks.md.

    python -m bench.run            # the full suite (about 40 minutes on 2 cores)
    python -m bench.run --smoke    # seconds per point, a tiny catalogue: proves the scripts work

Needs the dev stack's PostgreSQL, Redis and Elasticsearch (`make up`); starts its
own content API, Envoy edge and baselines on free ports, over its own catalogues.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import auth as bench_auth
from bench import flood as bench_flood
from bench import grpc_load, memory, rest_wrk, scale
from bench import ugc as bench_ugc
from bench.baselines.servers import DirectResponse, FastApiBaseline, film_json
from bench.common import (
    ROOT,
    Load,
    Series,
    Settings,
    fmt,
    log,
    machine_facts,
    md_table,
    ratio,
    wait_for_es,
)
from bench.stack import BenchApi, Catalogue, FullLoad

DOC = ROOT / "docs" / "benchmarks.md"
ANALYSIS = ROOT / "bench" / "analysis.md"
FILMS = "movies.v1.FilmService"
PERSONS = "movies.v1.PersonService"
REST, GRPC, BASE = "REST via the door", "gRPC direct", "baseline"
# The transcoding listener behind the door: the gRPC server's own hot path,
# driven by a client as cheap as wrk (ghz spends much of the 2 cores itself).
NO_EDGE = "REST, door cache off"
DIRECT, FASTAPI = "Envoy direct_response", "FastAPI + Redis cache hit"

# The targets of the issue, checked against every run.
TARGET_DETAIL_VS_FASTAPI = 2.0
TARGET_SEARCH_P99_MS = 50.0
TARGET_SEARCH_FILMS = 1_000_000
TARGET_ETL_FILMS_S = 5000.0
TARGET_ETL_FILMS = 100_000
TARGET_MEMORY_GROWTH = 0.10
# Issue 13 §0: warm reads through the public port (the door).
DOOR_SCENARIOS = ("film detail, warm cache", "film list", "person detail, warm cache")
TARGET_DOOR_VS_DIRECT = 0.70
TARGET_FETCHES_PER_KEY_PER_EXPIRY = 1.0
DOOR_MAX_AGE_S = 1.0  # ENVOY_CACHE_MAX_AGE: how often a kept copy expires


@dataclass
class DoorFetches:
    """The door's requests to the edge (`MAIN.backend_req`) during one warm run."""

    scenario: str
    concurrency: int
    keys: int
    seconds: float
    fetches: int

    @property
    def per_key_per_expiry(self) -> float:
        """A copy expires every max-age: within a run of T seconds, at most
        floor(T / max-age) + 1 times (once just after the start)."""
        expiries = self.keys * (math.floor(self.seconds / DOOR_MAX_AGE_S) + 1)
        return self.fetches / expiries


@dataclass(frozen=True)
class Scenario:
    """One kind of request, as REST paths and as the equivalent gRPC messages."""

    name: str
    paths: list[str]
    method: str
    messages: list[dict[str, Any]]
    cold: bool = False


@dataclass(frozen=True)
class Target:
    part: str
    scenario: str
    run: Callable[[int, float], Load]
    cold: bool
    warm_url: str | None = None
    warm_paths: tuple[str, ...] = ()
    # Warm reads through the door: its fetches from the edge are counted.
    door_keys: int = 0


def scenarios(cat: Catalogue, smoke: bool) -> list[Scenario]:
    hot = cat.film_ids(20 if smoke else 100, seed=1)
    cold = cat.film_ids(cat.films if smoke else min(cat.films, 40_000), seed=2)
    people = cat.person_ids(20 if smoke else 100, seed=3)
    pages = list(range(1, (3 if smoke else 20) + 1))
    queries = cat.search_queries(300 if smoke else 40_000, seed=5)
    return [
        Scenario(
            "film detail, warm cache",
            [f"/api/v1/films/{i}" for i in hot],
            f"{FILMS}/GetFilm",
            [{"film_id": i} for i in hot],
        ),
        Scenario(
            "film detail, cold cache",
            [f"/api/v1/films/{i}" for i in cold],
            f"{FILMS}/GetFilm",
            [{"film_id": i} for i in cold],
            cold=True,
        ),
        Scenario(
            "film list (20 pages)" if not smoke else "film list",
            [f"/api/v1/films?page_number={p}&page_size=50" for p in pages],
            f"{FILMS}/ListFilms",
            [{"page_number": p, "page_size": 50} for p in pages],
        ),
        Scenario(
            "film search (distinct queries)",
            [f"/api/v1/films/search?query={urllib.parse.quote(q)}&page_size=50" for q in queries],
            f"{FILMS}/SearchFilms",
            [{"query": q, "page_size": 50} for q in queries],
            cold=True,
        ),
        Scenario(
            "person detail, warm cache",
            [f"/api/v1/persons/{i}" for i in people],
            f"{PERSONS}/GetPerson",
            [{"person_id": i} for i in people],
        ),
    ]


def _rest(url: str, paths: list[str]) -> Callable[[int, float], Load]:
    return lambda c, d: rest_wrk.run(url, paths, c, d)


def _grpc(target: str, s: Scenario) -> Callable[[int, float], Load]:
    return lambda c, d: grpc_load.run(target, s.method, s.messages, c, d)


def targets(
    api: BenchApi, scen: list[Scenario], direct: DirectResponse, fast: FastApiBaseline | None
) -> list[Target]:
    detail = scen[0]
    out = [
        Target(
            BASE,
            DIRECT,
            _rest(direct.url, detail.paths),
            cold=False,
        )
    ]
    if fast is not None:
        out.append(
            Target(
                BASE,
                FASTAPI,
                _rest(fast.url, detail.paths),
                cold=False,
                warm_url=fast.url,
                warm_paths=tuple(detail.paths),
            )
        )
    for s in scen:
        out.append(
            Target(
                REST,
                s.name,
                _rest(api.url, s.paths),
                cold=s.cold,
                warm_url=None if s.cold else api.url,
                warm_paths=() if s.cold else tuple(s.paths),
                door_keys=0 if s.cold else len(set(s.paths)),
            )
        )
    out.append(
        Target(
            NO_EDGE,
            detail.name,
            _rest(api.transcoder_url, detail.paths),
            cold=False,
            warm_url=api.url,
            warm_paths=tuple(detail.paths),
        )
    )
    for s in scen:
        out.append(
            Target(
                GRPC,
                s.name,
                _grpc(api.grpc_target, s),
                cold=s.cold,
            )
        )
    return out


def warm(url: str, paths: tuple[str, ...]) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        for path in paths:
            http.get(path).raise_for_status()


def measure_api(
    api: BenchApi, tgts: list[Target], settings: Settings, door: list[DoorFetches]
) -> list[Series]:
    """Parts 1-3: every target at every concurrency, repeated; rounds interleave the
    targets so that drift of a noisy machine spreads over all of them alike. The
    door's fetches during its warm runs are appended to `door`."""
    series = {
        (t.part, t.scenario, c): Series(t.part, t.scenario, c)
        for t in tgts
        for c in settings.concurrencies
    }
    for t in tgts:
        if t.warm_url:
            warm(t.warm_url, t.warm_paths)
        t.run(4, 1.0)  # connections, pools, first-request costs: not measured
    for round_no in range(settings.repeats):
        log(f"api round {round_no + 1}/{settings.repeats}")
        for c in settings.concurrencies:
            wait_for_es()
            for t in tgts:
                if t.cold:
                    api.forget_cache()
                before = api.door_fetches() if t.door_keys else 0
                load = t.run(c, settings.duration_s)
                series[(t.part, t.scenario, c)].runs.append(load)
                if t.door_keys:
                    fetches = api.door_fetches() - before
                    seconds = load.requests / load.rps if load.rps else settings.duration_s
                    door.append(DoorFetches(t.scenario, c, t.door_keys, seconds, fetches))
    return list(series.values())


# -- the report ---------------------------------------------------------------------


def api_table(results: list[Series]) -> str:
    base = {(s.scenario, s.concurrency): s.result for s in results if s.part == BASE}
    rows = []
    for s in results:
        r = s.result
        fast = base.get((FASTAPI, s.concurrency))
        direct = base.get((DIRECT, s.concurrency))
        rows.append(
            [
                s.part,
                s.scenario,
                str(s.concurrency),
                fmt(r.rps),
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                str(r.errors),
                ratio(r.rps, fast.rps) if fast else "–",
                ratio(r.rps, direct.rps) if direct else "–",
            ]
        )
    return md_table(
        [
            "path",
            "scenario",
            "c",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "× FastAPI req/s",
            "× direct_response req/s",
        ],
        rows,
    )


def scale_table(points: list[scale.ScalePoint]) -> str:
    rows = []
    for p in points:
        lag = p.lag
        rows.append(
            [
                f"{p.films:,}",
                f"{p.generate_s:.0f}" if p.generate_s is not None else "reused",
                f"{p.load.seconds:.1f}",
                fmt(p.load.films_per_s),
                f"{p.search.p50_ms:.1f} / {p.search.p99_ms:.1f}",
                fmt(p.search.rps),
                f"{p.search_c1.p50_ms:.1f} / {p.search_c1.p99_ms:.1f}",
                f"{p.lists.p50_ms:.1f} / {p.lists.p99_ms:.1f}",
                fmt(p.lists.rps),
                f"{lag.grpc_median_s * 1000:.0f} / {max(lag.grpc_s, default=float('nan')) * 1000:.0f}",
                f"{lag.rest_median_s * 1000:.0f} / {max(lag.rest_s, default=float('nan')) * 1000:.0f}",
            ]
        )
    return md_table(
        [
            "films",
            "generate s",
            "full load s",
            "load films/s",
            "search c16 p50 / p99 ms",
            "search c16 req/s",
            "search c1 p50 / p99 ms",
            "list c16 p50 / p99 ms",
            "list c16 req/s",
            "lag gRPC median / max ms",
            "lag REST median / max ms",
        ],
        rows,
    )


def memory_table(run: memory.MemoryRun | None, points: list[scale.ScalePoint]) -> str:
    rows = []
    if run is not None:
        for t in run.tracks:
            rows.append(
                [
                    t.name,
                    f"{t.idle:.0f}",
                    f"{t.at(run.warmup_s):.0f}",
                    f"{t.end:.0f}",
                    f"{t.peak:.0f}",
                    f"{run.growth(t) * 100:+.1f}%",
                    f"{run.late_growth(t) * 100:+.1f}%",
                ]
            )
    for p in points:
        rows.append(
            [
                f"ETL, {p.films:,} films (idle `etl run` / peak of `etl reindex`)",
                f"{p.etl_idle_rss_mib:.0f}",
                "–",
                "–",
                f"{p.load.peak_rss_mib:.0f}",
                "–",
                "–",
            ]
        )
    return md_table(
        [
            "process",
            "idle MiB",
            "after warm-up MiB",
            "end MiB",
            "peak MiB",
            "growth from warm-up",
            "growth, second half",
        ],
        rows,
    )


def door_rows(
    by: dict[tuple[str, str, int], Load], c: int, door: list[DoorFetches]
) -> list[list[str]]:
    """Issue 13 §0: warm reads through the public port against Envoy's own ceiling
    and the FastAPI baseline's p99, and the door's fetches per key per expiry."""
    rows: list[list[str]] = []
    direct, fast = by.get((BASE, DIRECT, c)), by.get((BASE, FASTAPI, c))
    for (part, scenario, conc), got in by.items():
        if part != REST or conc != c or not scenario.startswith(DOOR_SCENARIOS):
            continue
        if direct is not None and fast is not None:
            x = got.rps / direct.rps if direct.rps else 0.0
            ok = x >= TARGET_DOOR_VS_DIRECT and got.p99_ms < fast.p99_ms
            rows.append(
                [
                    f"door, {scenario}, c={c}: ≥ {TARGET_DOOR_VS_DIRECT:.0%} of direct_response "
                    "req/s, p99 below FastAPI's",
                    f"{x:.2f}× ({fmt(got.rps)} vs {fmt(direct.rps)} req/s); "
                    f"p99 {got.p99_ms:.2f} vs {fast.p99_ms:.2f} ms",
                    "met" if ok else "missed",
                ]
            )
        runs = [d for d in door if d.scenario == scenario and d.concurrency == c]
        if runs:
            worst = max(d.per_key_per_expiry for d in runs)
            rows.append(
                [
                    f"door, {scenario}, c={c}: ≤ {TARGET_FETCHES_PER_KEY_PER_EXPIRY:.0f} fetch "
                    "from the edge per key per expiry",
                    f"{worst:.2f} (worst run: {max(d.fetches for d in runs):,} fetches, "
                    f"{runs[0].keys} keys, {runs[0].seconds:.0f} s, max-age {DOOR_MAX_AGE_S:g} s)",
                    "met" if worst <= TARGET_FETCHES_PER_KEY_PER_EXPIRY else "missed",
                ]
            )
    return rows


def verdicts(
    results: list[Series],
    points: list[scale.ScalePoint],
    mem: memory.MemoryRun | None,
    door: list[DoorFetches] | None = None,
) -> str:
    rows: list[list[str]] = []
    by = {(s.part, s.scenario, s.concurrency): s.result for s in results}
    c = max((s.concurrency for s in results), default=0)
    rows += door_rows(by, c, door or [])
    edge = by.get((REST, "film detail, warm cache", c))
    fast = by.get((BASE, FASTAPI, c))
    if edge and fast:
        x = edge.rps / fast.rps if fast.rps else 0.0
        ok = x >= TARGET_DETAIL_VS_FASTAPI and edge.p99_ms < fast.p99_ms
        rows.append(
            [
                f"REST film detail, warm cache, c={c}: ≥ {TARGET_DETAIL_VS_FASTAPI:.0f}× FastAPI req/s, p99 below it",
                f"{x:.2f}× ({fmt(edge.rps)} vs {fmt(fast.rps)} req/s); p99 {edge.p99_ms:.2f} vs {fast.p99_ms:.2f} ms",
                "met"
                if ok
                else "; ".join(
                    m
                    for m in (
                        _gap(x, TARGET_DETAIL_VS_FASTAPI, "req/s ratio")
                        if x < TARGET_DETAIL_VS_FASTAPI
                        else "",
                        f"missed: p99 {(edge.p99_ms / fast.p99_ms - 1) * 100:.0f}% above FastAPI's"
                        if edge.p99_ms >= fast.p99_ms
                        else "",
                    )
                    if m
                ),
            ]
        )
    if points:
        biggest = max(points, key=lambda p: p.films)
        note = (
            ""
            if biggest.films >= TARGET_SEARCH_FILMS
            else f" (measured at {biggest.films:,} films only)"
        )
        p99 = biggest.search.p99_ms
        rows.append(
            [
                f"search at {TARGET_SEARCH_FILMS:,} films, c=16: p99 < {TARGET_SEARCH_P99_MS:.0f} ms",
                f"p99 {p99:.1f} ms{note}",
                "met"
                if p99 < TARGET_SEARCH_P99_MS and not note
                else (
                    "not measured at this size"
                    if note and p99 < TARGET_SEARCH_P99_MS
                    else f"missed: {p99 / TARGET_SEARCH_P99_MS:.1f}× the budget"
                ),
            ]
        )
        at = next((p for p in points if p.films == TARGET_ETL_FILMS), biggest)
        rate = at.load.films_per_s
        rows.append(
            [
                f"full ETL load at {TARGET_ETL_FILMS:,} films: ≥ {TARGET_ETL_FILMS_S:,.0f} films/s",
                f"{rate:,.0f} films/s at {at.films:,} films",
                "met"
                if rate >= TARGET_ETL_FILMS_S
                else _gap(rate / TARGET_ETL_FILMS_S, 1.0, "throughput"),
            ]
        )
    if mem is not None:
        for t in mem.tracks:
            g = mem.growth(t)
            rows.append(
                [
                    f"{t.name}: memory growth < {TARGET_MEMORY_GROWTH:.0%} over {mem.seconds:.0f} s of load",
                    f"{g * 100:+.1f}% ({t.at(mem.warmup_s):.0f} → {t.end:.0f} MiB)",
                    "met"
                    if g < TARGET_MEMORY_GROWTH
                    else f"missed by {(g - TARGET_MEMORY_GROWTH) * 100:.1f} points",
                ]
            )
    return md_table(["target", "measured", "verdict"], rows)


def _gap(value: float, goal: float, what: str) -> str:
    return f"missed: {what} {(1 - value / goal) * 100:.0f}% below the target"


HOW = """\
`python -m bench.run` needs only the dev stack's PostgreSQL, Redis and Elasticsearch
(`make up`). It starts its own content API, Envoy edge and door (Varnish in front of Envoy)
from the working tree (same code, same `envoy/render.py` and `varnish/door.py` templates,
Envoy `--concurrency 2` and Varnish's `malloc` store and 2 fixed thread pools as `dev/stack.sh`), the two
baselines, and `etl` commands, all on free ports, over its own catalogues: one PostgreSQL
database (`movies_bench_<size>`), index prefix (`bench_<size>_`) and set of Redis keys per
size, made by `etl generate` and loaded by `etl reindex`, so the dev catalogue is never touched.

- *film detail, warm cache*: 100 films, each requested once before measuring; the door
  answers from its store (`max-age=1`, grace 1 s: one refresh per key per expiry, counted
  with `varnishstat`'s `MAIN.backend_req`), gRPC from Redis.
- *film detail, cold cache*: up to 40,000 different films, after a catalogue version bump
  (what every ETL batch does) and past the edge's `max-age`: Elasticsearch answers.
- *film list*: pages 1-20 of the default list, warm. *person detail*: 100 people, warm.
- *film search*: distinct one- and two-word queries made of catalogue words, after a version
  bump: never edge-cached, and not in Redis either.
- *REST, door cache off*: the warm film details sent to Envoy's transcoding listener, behind
  the door: every request is a gRPC call answered from Redis.
- Baselines: Envoy `direct_response` returning one film's JSON (the edge's ceiling) and
  `bench/baselines/fastapi_app.py` (FastAPI, uvicorn with 1 worker, uvloop and httptools,
  `redis.asyncio`, pydantic) returning the same 100 films from JSON copies in the same Redis.
- Every scenario at every concurrency is run once per round, rounds repeated; the medians
  are shown. Latency percentiles are `wrk`'s and `ghz`'s own."""


def render(
    facts: dict[str, str],
    settings: Settings,
    results: list[Series],
    points: list[scale.ScalePoint],
    mem: memory.MemoryRun | None,
    elapsed_s: float,
    notes: list[str],
    door: list[DoorFetches] | None = None,
) -> str:
    mode = "smoke (not for quoting)" if settings.smoke else "full"
    machine = md_table(["fact", "value"], [[k, v] for k, v in facts.items()])
    parts = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench.run`); the analysis at the end is kept in "
        "`bench/analysis.md`. Everything below ran in one run, on one machine, one after "
        "another: compare ratios, not absolute numbers.",
        "",
        f"Run: {mode}; {settings.repeats} run(s) of {settings.duration_s:g} s per point, "
        f"medians shown; concurrencies {', '.join(map(str, settings.concurrencies))}; "
        f"API catalogue {settings.api_films:,} films; total {elapsed_s / 60:.1f} min.",
        "",
        "## Machine",
        "",
        machine,
        "",
        "## How it was measured",
        "",
        HOW,
        "",
        "## Targets",
        "",
        verdicts(results, points, mem, door),
        "",
        "## Requests: REST through the door, gRPC direct, and the two baselines",
        "",
        "Each REST/gRPC result is also shown as a ratio of the baselines' req/s at the same "
        "concurrency. `wrk -t1 -c<c>` for HTTP, `ghz --connections 1 -c <c>` for gRPC; the "
        "load generator shares the 2 cores with the servers.",
        "",
        api_table(results) if results else "_not run_",
        "",
        "## Scale",
        "",
        "Cold on purpose: every search is a query and every list a (genre, sort, page) the "
        "caches have not seen since the catalogue version was bumped, through the door. "
        f"Full loads up to {scale.REPEAT_LOADS_UP_TO:,} films ran {settings.repeats} time(s), "
        "median shown; larger ones once. "
        "Lag: an `UPDATE` committed in PostgreSQL until the film's new title is returned "
        "(gRPC: no door; REST: through the door's store, `max-age=1` and grace 1 s).",
        "",
        scale_table(points) if points else "_not run_",
        "",
        "## Memory (resident set, MiB)",
        "",
        memory_table(mem, points) if (mem or points) else "_not run_",
        "",
    ]
    if notes:
        parts += ["## Notes of this run", "", *[f"- {n}" for n in notes], ""]
    if ANALYSIS.exists() and not settings.smoke:
        parts += [ANALYSIS.read_text().strip(), ""]
    return "\n".join(parts)


def raw(
    facts: dict[str, str],
    settings: Settings,
    results: list[Series],
    points: list[scale.ScalePoint],
    mem: memory.MemoryRun | None,
    elapsed_s: float,
    notes: list[str],
    door: list[DoorFetches] | None = None,
) -> bytes:
    return orjson.dumps(
        {
            "facts": facts,
            "elapsed_s": elapsed_s,
            "notes": notes,
            "settings": asdict(settings),
            "api": [
                {
                    "part": s.part,
                    "scenario": s.scenario,
                    "concurrency": s.concurrency,
                    **asdict(s.result),
                }
                for s in results
            ],
            "scale": [asdict(p) for p in points],
            "memory": asdict(mem) if mem else None,
            "door": [asdict(d) for d in door or []],
        },
        option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY,
    )


def rerender(path: Path, out: Path) -> str:
    """The report again from a run's raw results, with the current analysis."""
    data = orjson.loads(path.read_bytes())
    settings = Settings(
        **{
            **data["settings"],
            "concurrencies": tuple(data["settings"]["concurrencies"]),
            "sizes": tuple(data["settings"]["sizes"]),
        }
    )
    load_keys = ("rps", "p50_ms", "p99_ms", "requests", "errors")
    results = [
        Series(r["part"], r["scenario"], r["concurrency"], [Load(**{k: r[k] for k in load_keys})])
        for r in data["api"]
    ]
    points = [
        scale.ScalePoint(
            **{
                **p,
                "load": FullLoad(**p["load"]),
                "search": Load(**p["search"]),
                "search_c1": Load(**p["search_c1"]),
                "lists": Load(**p["lists"]),
                "lag": scale.Lag(**p["lag"]),
            }
        )
        for p in data["scale"]
    ]
    m = data["memory"]
    mem = (
        memory.MemoryRun(
            m["seconds"],
            m["warmup_s"],
            Load(**m["load"]),
            [
                memory.Track(t["name"], t["idle"], [(a, b) for a, b in t["samples"]])
                for t in m["tracks"]
            ],
        )
        if m
        else None
    )
    door = [DoorFetches(**d) for d in data.get("door", [])]
    text = render(
        data["facts"], settings, results, points, mem, data["elapsed_s"], data["notes"], door
    )
    out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny and quick: checks the scripts work"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="markdown report (default: docs/benchmarks.md, or bench/results/smoke.md with --smoke)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--sizes", help="catalogue sizes for the scale part, e.g. 10000,100000")
    parser.add_argument("--api-films", type=int, help="catalogue size for the request benchmarks")
    parser.add_argument("--duration", type=float, help="seconds per load run")
    parser.add_argument("--repeats", type=int, help="runs per point (medians reported)")
    parser.add_argument("--memory-seconds", type=float, help="length of the memory run")
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: api,scale,memory,auth,flood,ugc"
    )
    parser.add_argument(
        "--keep-indices", action="store_true", help="keep the bench indices afterwards"
    )
    parser.add_argument("--render", type=Path, help="only re-render the report from a --json file")
    args = parser.parse_args(argv)
    if args.render:
        rerender(args.render, args.out or DOC)
        return 0

    settings = Settings.quick() if args.smoke else Settings.full()
    overrides: dict[str, Any] = {}
    if args.sizes:
        overrides["sizes"] = tuple(int(x) for x in args.sizes.split(","))
    for name, value in (
        ("api_films", args.api_films),
        ("duration_s", args.duration),
        ("repeats", args.repeats),
        ("memory_s", args.memory_seconds),
    ):
        if value is not None:
            overrides[name] = value
    settings = Settings(**{**asdict(settings), **overrides})
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    out = args.out or (ROOT / "bench" / "results" / "smoke.md" if settings.smoke else DOC)

    started = time.monotonic()
    facts = machine_facts()
    grpc_load.ensure_ghz()
    facts["ghz"] = grpc_load.version()
    notes: list[str] = []
    results: list[Series] = []
    points: list[scale.ScalePoint] = []
    mem: memory.MemoryRun | None = None
    door: list[DoorFetches] = []
    # Sections of their own after the report (the auth service's numbers).
    sections: list[str] = []

    def save(stage: str) -> str:
        """Writes what is measured so far: a long run that dies still leaves numbers."""
        elapsed = time.monotonic() - started
        text = render(facts, settings, results, points, mem, elapsed, notes, door)
        text += "".join(f"\n{section}" for section in sections)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_bytes(raw(facts, settings, results, points, mem, elapsed, notes, door))
        log(f"{stage}: report written to {out}")
        return text

    cat = Catalogue(settings.api_films)
    cat.ensure_rows()
    api_load: FullLoad = cat.median_load(scale.load_runs(cat.films, settings))
    log(f"API catalogue {cat.label}: {api_load.films} films loaded in {api_load.seconds:.1f}s")
    api = BenchApi(cat).start()
    try:
        scen = scenarios(cat, settings.smoke)
        sample = httpx.get(f"{api.url}{scen[0].paths[0]}", timeout=10)
        sample.raise_for_status()
        hot_ids = [m["film_id"] for m in scen[0].messages]
        bodies = {
            i: film_json(httpx.get(f"{api.url}/api/v1/films/{i}", timeout=10).content)
            for i in hot_ids
        }
        direct = DirectResponse(film_json(sample.content)).start()
        fast: FastApiBaseline | None = FastApiBaseline(bodies)
        try:
            assert fast is not None
            fast.start()
        except RuntimeError as exc:
            notes.append(f"FastAPI baseline not run: {exc}")
            fast = None
        try:
            if "api" not in skip:
                results = measure_api(api, targets(api, scen, direct, fast), settings, door)
                save("requests")
        finally:
            direct.stop()
            if fast is not None:
                fast.stop()
        if "memory" not in skip:
            lists = scale.list_paths(cat, seed=17)
            searches = [p for p in scen[3].paths]
            paths = memory.mixed_paths(
                hot_ids,
                [m["film_id"] for m in scen[1].messages],
                [m["person_id"] for m in scen[4].messages]
                + cat.person_ids(2000 if not settings.smoke else 50, seed=19),
                lists,
                searches,
                n=200 if settings.smoke else 100_000,
                seed=23,
            )
            mem = memory.measure(api, paths, settings)
            save("memory")
        if "scale" not in skip and settings.api_films in settings.sizes:
            points.append(scale.measure_loaded(cat, api_load, api, settings))
            save(f"scale {cat.label}")
    finally:
        api.stop()
        if not args.keep_indices and "scale" not in skip:
            cat.drop_indices()
    if "scale" not in skip:
        for films in settings.sizes:
            if films == settings.api_films:
                continue
            size = Catalogue(films)
            try:
                points.append(scale.measure(size, settings))
                points.sort(key=lambda p: p.films)
                save(f"scale {size.label}")
            finally:
                if not args.keep_indices:
                    size.drop_indices()
        points.sort(key=lambda p: p.films)
        if not settings.smoke and TARGET_SEARCH_FILMS not in settings.sizes:
            notes.append(
                f"The scale part ran at {', '.join(f'{s:,}' for s in settings.sizes)} films only (not {TARGET_SEARCH_FILMS:,})."
            )

    if "auth" not in skip:
        sections.append(bench_auth.measure(settings))
    if "ugc" not in skip:
        sections.append(bench_ugc.measure(settings))
        save("auth")

    if "flood" not in skip:
        sections.append(bench_flood.measure(settings))
        save("flood")

    text = save("done")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
