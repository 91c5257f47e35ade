"""The experiments behind the analysis in docs/benchmarks.md, kept so they can be rerun.

    python -m bench.experiments max-age      # warm film detail at c=64 vs the edge's max-age
    python -m bench.experiments profile-api  # py-spy of the gRPC server on its hot path
    python -m bench.experiments profile-etl  # py-spy (idle included) of a full ETL load
    python -m bench.experiments search       # the film search query and cheaper variants, in ES
    python -m bench.experiments edge-store   # warm film detail at c=64 per edge cache store

Each prints a markdown table. py-spy is a dev tool (`uv pip install py-spy`).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import rest_wrk
from bench.baselines.servers import FastApiBaseline, film_json
from bench.common import ES_URL, VENV_BIN, Load, Proc, md_table
from bench.stack import BenchApi, Catalogue


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: uv pip install py-spy")
    return found


def _edge_beside_fastapi(
    cat: Catalogue, api: BenchApi, seconds: float, rounds: int
) -> tuple[list[Load], list[Load]]:
    """`rounds` × (edge, FastAPI) runs of warm film detail at c=64 over the same 100 films."""
    ids = cat.film_ids(100, seed=1)
    paths = [f"/api/v1/films/{i}" for i in ids]
    try:
        bodies = {
            i: film_json(httpx.get(f"{api.url}{p}").content)
            for i, p in zip(ids, paths, strict=True)
        }
        fast = FastApiBaseline(bodies).start()
        edge_runs: list[Load] = []
        fast_runs: list[Load] = []
        try:
            for _ in range(rounds):
                edge_runs.append(rest_wrk.run(api.url, paths, 64, seconds))
                fast_runs.append(rest_wrk.run(fast.url, paths, 64, seconds))
        finally:
            fast.stop()
    finally:
        api.stop()
    return edge_runs, fast_runs


def max_age(films: int, seconds: float, rounds: int) -> str:
    """Warm film detail through the edge at c=64 for several `max-age`s, beside FastAPI."""
    cat = Catalogue(films)
    cat.ensure_indexed()
    rows = []
    for age in ("1", "2", "5"):
        api = BenchApi(cat, {"ENVOY_CACHE_MAX_AGE": age}).start()
        edge_runs, fast_runs = _edge_beside_fastapi(cat, api, seconds, rounds)
        edge, base = Load.median(edge_runs), Load.median(fast_runs)
        rows.append(
            [
                age,
                f"{edge.rps:,.0f}",
                f"{edge.p50_ms:.2f}",
                f"{edge.p99_ms:.1f}",
                f"{max(r.p99_ms for r in edge_runs):.1f}",
                f"{base.rps:,.0f}",
                f"{base.p99_ms:.1f}",
                f"{edge.rps / base.rps:.1f}×",
            ]
        )
    return md_table(
        [
            "max-age s",
            "edge req/s",
            "edge p50 ms",
            "edge p99 ms (median)",
            "edge p99 ms (worst run)",
            "FastAPI req/s",
            "FastAPI p99 ms",
            "× FastAPI",
        ],
        rows,
    )


EdgeConfig = dict[str, Any]
FILE_STORE = "type.googleapis.com/envoy.extensions.http.cache.file_system_http_cache.v3.FileSystemHttpCacheConfig"


def _mappings(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping of a rendered Envoy config, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _mappings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _mappings(item)


def _file_store(config: EdgeConfig) -> dict[str, Any]:
    stores = [m for m in _mappings(config) if m.get("@type") == FILE_STORE]
    if len(stores) != 1:
        raise SystemExit("the edge config no longer has the file-system store this expects")
    return stores[0]


def _threads(n: int) -> Callable[[EdgeConfig], None]:
    def patch(config: EdgeConfig) -> None:
        _file_store(config)["manager_config"]["thread_pool"]["thread_count"] = n

    return patch


def _in_memory(config: EdgeConfig) -> None:
    """The simple in-memory store: unbounded, what the edge used before the file store."""
    store = _file_store(config)
    store.clear()
    store["@type"] = (
        "type.googleapis.com/envoy.extensions.http.cache.simple_http_cache.v3.SimpleHttpCacheConfig"
    )


def _cache_v2(config: EdgeConfig) -> None:
    """cache_v2 with its own file-system store: coalesces concurrent misses of one URL."""
    renames = {
        "type.googleapis.com/envoy.extensions.filters.http.cache.v3.CacheConfig": "type.googleapis.com/envoy.extensions.filters.http.cache_v2.v3.CacheV2Config",
        FILE_STORE: "type.googleapis.com/envoy.extensions.http.cache_v2.file_system_http_cache.v3.FileSystemHttpCacheV2Config",
    }
    _file_store(config)
    for mapping in list(_mappings(config)):
        if mapping.get("name") == "envoy.filters.http.cache":
            mapping["name"] = "envoy.filters.http.cache_v2"
        if "envoy.filters.http.cache" in mapping:  # per-route config, keyed by filter name
            mapping["envoy.filters.http.cache_v2"] = mapping.pop("envoy.filters.http.cache")
        if mapping.get("@type") in renames:
            mapping["@type"] = renames[mapping["@type"]]


def edge_store(films: int, seconds: float, rounds: int) -> str:
    """Warm film detail through the edge at c=64 with each cache store, beside FastAPI."""
    cat = Catalogue(films)
    cat.ensure_indexed()
    variants: dict[str, Callable[[EdgeConfig], None] | None] = {
        "file system, 1 thread (as configured)": None,
        "file system, 2 threads": _threads(2),
        "in memory (unbounded)": _in_memory,
        "cache_v2, file system (coalesces; a session per URL for 5 min)": _cache_v2,
    }
    rows = []
    for name, patch in variants.items():
        api = BenchApi(cat, edge_patch=patch).start()
        edge_runs, fast_runs = _edge_beside_fastapi(cat, api, seconds, rounds)
        edge, base = Load.median(edge_runs), Load.median(fast_runs)
        rows.append(
            [name, f"{edge.rps:,.0f}", f"{edge.p50_ms:.2f}", f"{edge.p99_ms:.1f}",
             f"{base.rps:,.0f}", f"{base.p99_ms:.1f}", f"{edge.rps / base.rps:.1f}×"]
        )  # fmt: skip
    return md_table(
        ["edge store", "edge req/s", "edge p50 ms", "edge p99 ms", "FastAPI req/s",
         "FastAPI p99 ms", "× FastAPI"],
        rows,
    )  # fmt: skip


def _top(raw: Path, n: int) -> str:
    """Self and inclusive shares of the frames in a py-spy `raw` (collapsed) profile."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        k = int(count)
        total += k
        frames = stack.split(";")
        own[frames[-1]] += k
        for frame in set(frames):
            incl[frame] += k
    rows = [
        [f"{k / total * 100:.1f}%", f"{incl[f] / total * 100:.1f}%", f"`{f[:110]}`"]
        for f, k in own.most_common(n)
    ]
    return md_table(["self", "inclusive", "frame"], rows) + f"\n\n{total} samples"


def profile_api(films: int, seconds: float) -> str:
    """The gRPC server answering warm film details (Redis hits) through the transcoder."""
    cat = Catalogue(films)
    cat.ensure_indexed()
    ids = cat.film_ids(100, seed=1)
    paths = [f"/api/v1/films/{i}" for i in ids]
    api = BenchApi(cat).start()
    try:
        for p in paths:
            httpx.get(f"{api.url}{p}")
        assert api.api is not None
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "api.txt"
            spy = subprocess.Popen(
                [_py_spy(), "record", "-p", str(api.api.pid), "-d", str(int(seconds)), "-r", "200",
                 "-f", "raw", "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            load = rest_wrk.run(api.transcoder_url, paths, 64, seconds)
            spy.wait()
            return f"{load.rps:,.0f} req/s, p99 {load.p99_ms:.1f} ms while profiled\n\n" + _top(
                out, 15
            )
    finally:
        api.stop()


def profile_etl(films: int) -> str:
    """A full load (`etl reindex`), idle time included: where the ETL waits, and on what."""
    cat = Catalogue(films)
    cat.ensure_rows()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "etl.txt"
        proc = Proc(
            f"etl-profile-{cat.label}",
            [_py_spy(), "record", "--idle", "-r", "100", "-f", "raw", "-o", str(out), "--",
             str(VENV_BIN / "etl"), "reindex"],
            cat.env(),
        ).start()  # fmt: skip
        started = time.monotonic()
        assert proc.popen is not None
        proc.popen.wait()
        elapsed = time.monotonic() - started
        return f"{films / elapsed:,.0f} films/s while profiled ({elapsed:.0f} s)\n\n" + _top(
            out, 15
        )


SearchKnobs = tuple[list[str], bool, bool | int, bool]


def _film_search(query: str, knobs: SearchKnobs) -> dict[str, Any]:
    """The body the content API sends for SearchFilms, with the knobs that cost the most."""
    fields, fuzzy, total, tie_break = knobs
    match: dict[str, Any] = {"query": query, "fields": fields, "operator": "and"}
    if fuzzy:
        match |= {"fuzziness": "AUTO", "prefix_length": 1}
    return {
        "query": {"multi_match": match},
        "sort": ["_score", {"id": "asc"}] if tie_break else ["_score"],
        "size": 50,
        "track_total_hits": total,
        "_source": ["id", "title", "imdb_rating"],
    }


def search_variants(films: int, queries: int, concurrency: int) -> str:
    """Elasticsearch's own time for the API's film search and for cheaper variants,
    at `concurrency` concurrent searches (no API, no cache in the way)."""
    cat = Catalogue(films)
    cat.ensure_indexed()
    texts = cat.search_queries(queries, seed=29)
    all_fields = ["title^3", "title.ru^3", "description", "description.ru"]
    titles = ["title^3", "title.ru^3"]
    # The API sends the exact query first and the typo fallback only when it matched nothing.
    variants: dict[str, SearchKnobs] = {
        "before: 4 fields, fuzzy, exact total, id tie-break": (all_fields, True, True, True),
        "as the API sends it: exact words, total up to 10,000": (
            all_fields, False, 10_000, False),
        "… with the id tie-break": (all_fields, False, 10_000, True),
        "… with an exact total": (all_fields, False, True, False),
        "typo fallback (titles, fuzzy), total up to 10,000": (titles, True, 10_000, False),
    }  # fmt: skip
    url = f"{ES_URL}/{cat.alias('movies')}/_search"
    rows = []

    async def one(client: httpx.AsyncClient, body: dict[str, Any], out: list[float]) -> None:
        started = time.perf_counter()
        got = await client.post(url, json=body)
        got.raise_for_status()
        out.append((time.perf_counter() - started) * 1000)

    async def run(knobs: SearchKnobs) -> tuple[list[float], float]:
        lat: list[float] = []
        sem = asyncio.Semaphore(concurrency)

        async def bounded(client: httpx.AsyncClient, q: str) -> None:
            async with sem:
                await one(client, _film_search(q, knobs), lat)

        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            started = time.perf_counter()
            await asyncio.gather(*(bounded(client, q) for q in texts))
            return lat, len(texts) / (time.perf_counter() - started)

    asyncio.run(run(next(iter(variants.values()))))  # warms the page cache, not measured
    for name, knobs in variants.items():
        httpx.post(f"{ES_URL}/{cat.alias('movies')}/_cache/clear", timeout=30)
        lat, rate = asyncio.run(run(knobs))
        lat.sort()
        rows.append(
            [
                name,
                f"{statistics.median(lat):.1f}",
                f"{lat[int(len(lat) * 0.99) - 1]:.1f}",
                f"{rate:,.0f}",
            ]
        )
    return md_table(
        [f"variant ({films:,} films, c={concurrency})", "p50 ms", "p99 ms", "searches/s"], rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.experiments", description=__doc__)
    parser.add_argument(
        "what", choices=["max-age", "profile-api", "profile-etl", "search", "edge-store"]
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--queries", type=int, default=800)
    parser.add_argument("--films", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.what == "max-age":
        print(max_age(args.films, args.seconds, args.rounds))
    elif args.what == "edge-store":
        print(edge_store(args.films, args.seconds, args.rounds))
    elif args.what == "search":
        print(search_variants(args.films, args.queries, args.concurrency))
    elif args.what == "profile-api":
        print(profile_api(args.films, args.seconds))
    else:
        print(profile_etl(args.films))
    return 0


if __name__ == "__main__":
    sys.exit(main())
