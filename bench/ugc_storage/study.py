"""The UGC storage study, run as `python -m bench.ugc_storage --scale 1` (docs/research/ugc-storage.md).

Starts the study's own servers (PostgreSQL on :15433, Cassandra on :19042, state under
.stack/ugc-study/), loads the seeded workload into each, then measures the three reads alone
and under a steady background write load, stores alternating, and prints a JSON report
(and writes it with --out).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, Final, Protocol

from bench.ugc_storage.cass import wilson_lower_bound
from bench.ugc_storage.workload import FILM, Workload, uuid_hex, uuid_int

ROOT: Final = Path(__file__).resolve().parents[2]
CASSANDRA_SH: Final = ROOT / "dev" / "cassandra" / "cassandra.sh"
DEFAULT_DIR: Final = ROOT / ".stack" / "ugc-study"
STORES: Final = ("postgresql", "cassandra")
QUERIES: Final = (
    "rating_summary",
    "bookmarks_page",
    "reviews_page",
    "summary_from_rows",
    "ping",
)
# Reads from the rows of a whole film are slow by design: fewer of them.
SCAN_SHARE: Final = 0.2
WRITER_READY_S: Final = 120.0
WRITER_THREADS: Final = 8
VERIFY_SAMPLES: Final = 50
PAGE: Final = 20


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class Reader(Protocol):
    def rating_summary(self, film: int, user: int) -> Any: ...
    def rating_summary_from_partition(self, film: int) -> Any: ...
    def bookmarks_page(self, user: int) -> list[Any]: ...
    def reviews_page(self, film: int) -> list[Any]: ...
    def ping(self) -> Any: ...
    def summary_numbers(self, film: int) -> list[int]: ...
    def bookmark_films(self, user: int) -> list[str]: ...
    def review_ranks(self, film: int) -> list[float]: ...
    def close(self) -> None: ...


class Writer(Protocol):
    def rate(self, film: int, user: int, score: int) -> None: ...
    def vote(self, review: int, user: int, value: int) -> None: ...
    def bookmark(self, user: int, film: int) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Config:
    scale: float
    seed: int
    dir: Path
    pg_port: int
    cassandra_port: int
    cassandra_storage_port: int
    cassandra_jmx_port: int
    cassandra_heap: str
    stores: tuple[str, ...]
    rounds: int
    queries: int
    write_rate: float
    load: bool
    out: Path | None = None
    stop: bool = False
    verify: bool = False
    min_seconds: float = 0.0

    @property
    def cassandra_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CASSANDRA_DIR": str(self.dir / "cassandra"),
            "CASSANDRA_NATIVE_PORT": str(self.cassandra_port),
            "CASSANDRA_STORAGE_PORT": str(self.cassandra_storage_port),
            "CASSANDRA_JMX_PORT": str(self.cassandra_jmx_port),
            "CASSANDRA_HEAP": self.cassandra_heap,
        }


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def cassandra(config: Config, *args: str) -> None:
    subprocess.run(
        [str(CASSANDRA_SH), *args],
        env=config.cassandra_env,
        check=True,
        timeout=1800,
        stdout=subprocess.DEVNULL,
    )


def open_store(config: Config, name: str) -> Any:
    if name == "postgresql":
        from bench.ugc_storage.pg import OwnPostgres, PostgresStore

        server = OwnPostgres(config.dir / "postgresql", config.pg_port)
        server.start()
        return PostgresStore(server.dsn, server.admin_dsn)
    from bench.ugc_storage.cass import CassandraStore

    cassandra(config, "start")
    return CassandraStore(
        config.cassandra_port,
        config.dir / "cassandra",
        lambda *a: cassandra(config, "nodetool", *a),
    )


def open_writer(config: Config, name: str) -> Writer:
    if name == "postgresql":
        from bench.ugc_storage.pg import OwnPostgres, PostgresWriter

        return PostgresWriter(OwnPostgres(config.dir / "postgresql", config.pg_port).dsn)
    from bench.ugc_storage.cass import CassandraWriter

    return CassandraWriter(config.cassandra_port)


def background_writes(
    config: Config, name: str, ready: Event, stop: Event, out: mp.Queue[dict[str, float]]
) -> None:
    """A paced stream of the service's writes: 60% ratings, 20% votes, 20% bookmarks.

    WRITER_THREADS threads, each with its own connection, share the rate, so a slow write
    delays only its own thread's next one (the pace holds while writes take up to
    WRITER_THREADS / rate seconds)."""
    workload = Workload(config.scale, config.seed)
    s = workload.sizes
    # Films written to follow popularity, like the reads.
    films = workload.query_films(10_000, f"writes-{name}")
    interval = WRITER_THREADS / config.write_rate
    latencies: list[list[float]] = [[] for _ in range(WRITER_THREADS)]
    writers = [open_writer(config, name) for _ in range(WRITER_THREADS)]

    def paced(i: int) -> None:
        writer, mine = writers[i], latencies[i]
        rng = random.Random(f"{config.seed}:writes:{name}:{i}")
        due = time.perf_counter() + i * interval / WRITER_THREADS
        while not stop.is_set():
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            due += interval
            film = films[rng.randrange(len(films))]
            user = rng.randrange(s.users)
            kind = rng.random()
            t0 = time.perf_counter()
            if kind < 0.6:
                writer.rate(film, user, rng.randint(0, 10))
            elif kind < 0.8 and s.reviews:
                writer.vote(rng.randrange(s.reviews), user, rng.choice((1, -1)))
            else:
                writer.bookmark(user, film)
            mine.append(time.perf_counter() - t0)

    threads = [
        threading.Thread(target=paced, args=(i,), daemon=True) for i in range(WRITER_THREADS)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    ready.set()
    stop.wait()
    for t in threads:
        t.join(60)
    elapsed = time.perf_counter() - start
    for w in writers:
        w.close()
    every = [x for mine in latencies for x in mine]
    out.put(
        {
            "writes": len(every),
            "writes_per_s": len(every) / elapsed,
            "p50_ms": percentile(every, 0.5) * 1e3,
            "p99_ms": percentile(every, 0.99) * 1e3,
        }
    )


def measure_reads(
    reader: Reader, workload: Workload, n: int, salt: str, min_seconds: float = 0.0
) -> dict[str, dict[str, float]]:
    films = workload.query_films(n, salt)
    users = workload.query_users(n, salt)
    calls: dict[str, Callable[[int], Any]] = {
        "rating_summary": lambda i: reader.rating_summary(films[i], users[i]),
        "bookmarks_page": lambda i: reader.bookmarks_page(users[i]),
        "reviews_page": lambda i: reader.reviews_page(films[i]),
        "summary_from_rows": lambda i: reader.rating_summary_from_partition(films[i]),
        "ping": lambda i: reader.ping(),
    }
    out: dict[str, dict[str, float]] = {}
    for query in QUERIES:
        count = max(10, int(n * SCAN_SHARE)) if query == "summary_from_rows" else n
        latencies: list[float] = []
        begin = time.perf_counter()
        # At least min_seconds per query, so a fast store's reads also meet the writes.
        while len(latencies) < count or time.perf_counter() - begin < min_seconds:
            t0 = time.perf_counter()
            calls[query](len(latencies) % n)
            latencies.append(time.perf_counter() - t0)
        out[query] = {
            "n": len(latencies),
            "p50_ms": percentile(latencies, 0.5) * 1e3,
            "p99_ms": percentile(latencies, 0.99) * 1e3,
        }
    return out


def expected_summary(workload: Workload, film: int) -> list[int]:
    if not workload.ratings_per_film[film]:
        return [0] * 13
    ratings = workload.film_ratings(film)
    dist = [0] * 11
    for score in ratings.scores:
        dist[score] += 1
    return [sum(ratings.scores), len(ratings.scores), *dist]


def expected_bookmarks(workload: Workload, user: int) -> list[str]:
    if not workload.bookmarks_per_user[user]:
        return []
    b = workload.user_bookmarks(user)
    newest = sorted(
        zip(b.times, b.films, strict=True),
        key=lambda tf: (tf[0], uuid_int(FILM, tf[1])),
        reverse=True,
    )
    return [uuid_hex(FILM, f) for _, f in newest[:PAGE]]


def expected_ranks(workload: Workload, film: int) -> list[float]:
    up, down = workload.review_counts(film)
    ranks = sorted((wilson_lower_bound(u, d) for u, d in zip(up, down, strict=True)), reverse=True)
    return [round(r, 9) for r in ranks[:PAGE]]


def verify(reader: Reader, workload: Workload, n: int) -> dict[str, int]:
    """Asks the store the three questions for n films and users and counts the answers that
    differ from what the generator loaded: the study measures correct queries only."""
    films = sorted(set(workload.query_films(n, "verify")) | {0})
    users = workload.query_users(n, "verify")
    return {
        "checked": len(films) + len(users),
        "rating_summary": sum(
            reader.summary_numbers(f) != expected_summary(workload, f) for f in films
        ),
        "bookmarks_page": sum(
            reader.bookmark_films(u) != expected_bookmarks(workload, u) for u in users
        ),
        "reviews_page": sum(reader.review_ranks(f) != expected_ranks(workload, f) for f in films),
    }


def run(config: Config) -> dict[str, Any]:
    config.dir.mkdir(parents=True, exist_ok=True)
    workload = Workload(config.scale, config.seed)
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
            "kernel": platform.release(),
            "python": platform.python_version(),
        },
        "scale": config.scale,
        "seed": config.seed,
        "sizes": workload.totals,
        "films": workload.sizes.films,
        "users": workload.sizes.users,
        "write_rate": config.write_rate,
        "load": {},
        "disk_bytes": {},
        "rounds": [],
    }
    stores = {name: open_store(config, name) for name in config.stores}
    for name, store in stores.items():
        if not config.load:
            continue
        log(f"{name}: loading scale {config.scale}")
        store.reset()
        loads: dict[str, dict[str, float]] = {}

        def timed(table: str, step: Callable[[], int], loads: dict[str, Any] = loads) -> None:
            t0 = time.perf_counter()
            rows = step()
            seconds = time.perf_counter() - t0
            loads[table] = {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}
            log(f"  {table}: {rows} rows in {seconds:.1f}s ({rows / seconds:,.0f}/s)")

        t0 = time.perf_counter()
        store.load(workload, timed)
        loads["total_with_settle"] = {"seconds": time.perf_counter() - t0}
        report["load"][name] = loads
    for name, store in stores.items():
        report["disk_bytes"][name] = store.disk_bytes()
        log(f"{name}: {sum(report['disk_bytes'][name].values()) / 2**20:,.0f} MiB on disk")
    readers = {name: store.reader() for name, store in stores.items()}
    if config.verify:  # after a measuring run, its background writes have changed the data
        report["mismatches"] = {
            name: verify(reader, workload, VERIFY_SAMPLES) for name, reader in readers.items()
        }
        log(f"answers that differ from the generator's: {report['mismatches']}")
    for reader in readers.values():
        measure_reads(reader, workload, max(10, config.queries // 4), "warm")  # warm caches
    ctx = mp.get_context("spawn")
    for r in range(config.rounds):
        order = list(config.stores) if r % 2 == 0 else list(reversed(config.stores))
        for name in order:
            entry: dict[str, Any] = {"round": r, "store": name}
            entry["alone"] = measure_reads(
                readers[name], workload, config.queries, f"r{r}", config.min_seconds
            )
            ready, stop = ctx.Event(), ctx.Event()
            results: mp.Queue[dict[str, float]] = ctx.Queue()
            proc = ctx.Process(target=background_writes, args=(config, name, ready, stop, results))
            proc.start()
            if not ready.wait(WRITER_READY_S):
                proc.kill()
                raise RuntimeError(f"{name}: the background writer did not start")
            time.sleep(1.0)  # let the write stream reach its pace before reading
            entry["with_writes"] = measure_reads(readers[name], workload, config.queries, f"w{r}")
            stop.set()
            entry["writes"] = results.get(timeout=120)
            proc.join(60)
            report["rounds"].append(entry)
            log(f"round {r} {name}: {json.dumps(entry)}")
    for reader in readers.values():
        reader.close()
    report["summary"] = summarize(report)
    report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return report


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """Medians over rounds of each store's p50/p99 per query and mode, and the writes' pace."""
    out: dict[str, Any] = {}
    for store in {e["store"] for e in report["rounds"]}:
        entries = [e for e in report["rounds"] if e["store"] == store]
        s: dict[str, Any] = {}
        for mode in ("alone", "with_writes"):
            s[mode] = {
                q: {
                    k: statistics.median(e[mode][q][k] for e in entries)
                    for k in ("p50_ms", "p99_ms")
                }
                for q in QUERIES
            }
        s["writes"] = {
            k: statistics.median(e["writes"][k] for e in entries)
            for k in ("writes_per_s", "p50_ms", "p99_ms")
        }
        out[store] = s
    return out


def parse(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(prog="python -m bench.ugc_storage", description=__doc__)
    p.add_argument("--scale", type=float, default=1.0, help="1 = 10M ratings (the issue's size)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the servers' state")
    p.add_argument("--pg-port", type=int, default=15433)
    p.add_argument("--cassandra-port", type=int, default=19042)
    p.add_argument("--cassandra-storage-port", type=int, default=17000)
    p.add_argument("--cassandra-jmx-port", type=int, default=17199)
    p.add_argument("--cassandra-heap", default="2g")
    p.add_argument(
        "--stores", default=",".join(STORES), help="comma-separated: postgresql,cassandra"
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--queries", type=int, default=1000, help="reads per query kind, round and mode")
    p.add_argument("--write-rate", type=float, default=200.0, help="background writes per second")
    p.add_argument(
        "--min-seconds", type=float, default=5.0, help="read each query for at least this long"
    )
    p.add_argument("--no-load", action="store_true", help="measure the data already loaded")
    p.add_argument("--out", type=Path, help="write the JSON report here too")
    p.add_argument("--stop", action="store_true", help="stop the study's servers at the end")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check answers against the generator with --no-load too (data not yet written to)",
    )
    a = p.parse_args(argv)
    stores = tuple(s for s in a.stores.split(",") if s)
    if unknown := set(stores) - set(STORES):
        p.error(f"unknown stores: {sorted(unknown)}")
    config = Config(
        scale=a.scale,
        seed=a.seed,
        dir=a.dir.resolve(),
        pg_port=a.pg_port,
        cassandra_port=a.cassandra_port,
        cassandra_storage_port=a.cassandra_storage_port,
        cassandra_jmx_port=a.cassandra_jmx_port,
        cassandra_heap=a.cassandra_heap,
        stores=stores,
        rounds=a.rounds,
        queries=a.queries,
        write_rate=a.write_rate,
        load=not a.no_load,
        out=a.out,
        stop=a.stop,
        verify=a.verify or not a.no_load,
        min_seconds=a.min_seconds,
    )
    return config


def stop_servers(config: Config) -> None:
    if "postgresql" in config.stores:
        from bench.ugc_storage.pg import OwnPostgres

        OwnPostgres(config.dir / "postgresql", config.pg_port).stop()
    if "cassandra" in config.stores:
        cassandra(config, "stop")


def main(argv: Sequence[str] | None = None) -> int:
    config = parse(argv)
    try:
        report = run(config)
    finally:
        if config.stop:
            stop_servers(config)
    text = json.dumps(report, indent=2)
    if config.out is not None:
        config.out.parent.mkdir(parents=True, exist_ok=True)
        config.out.write_text(text + "\n")
    print(text)
    return 0
