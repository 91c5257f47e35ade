"""The bench's own catalogues and servers, beside the dev stack, never in its way.

Each catalogue size has its own PostgreSQL database (`movies_bench_<size>`), its
own index prefix (`bench_<size>_`) and its own Redis keys, so neither the dev
catalogue nor the tests' data is touched. The content API, Envoy and the door
(Varnish) under test are started from the same code, the same templates
(`envoy/render.py`, `varnish/door.py`) and the same flags as `dev/stack.sh`
uses, on free ports.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import redis
import yaml

from bench.common import (
    ES_URL,
    LOG_DIR,
    PG_PORT,
    REDIS_URL,
    ROOT,
    VENV_BIN,
    Proc,
    free_port,
    http_ok,
    log,
    wait_for_es,
    wait_until,
)
from tests.support.procs import rss_mib
from tests.support.stack import stack

ADMIN_DSN = stack().admin_dsn
ENVOY_CONCURRENCY = 2  # as dev/stack.sh starts the edge
# How long the door keeps a copy of a read: max-age (1 s) + grace (1 s), and a margin.
DOOR_COPY_LIFETIME_S = 2.2
# Which generator made a catalogue: its source, so a changed generator is noticed.
GENERATOR = hashlib.sha256(
    b"".join((ROOT / "etl" / "movies_etl" / f).read_bytes() for f in ("generator.py", "schema.py"))
).hexdigest()[:16]


def label(films: int) -> str:
    if films >= 1_000_000 and films % 1_000_000 == 0:
        return f"{films // 1_000_000}m"
    if films >= 1000 and films % 1000 == 0:
        return f"{films // 1000}k"
    return str(films)


@dataclass(frozen=True)
class FullLoad:
    """One full ETL load (`etl reindex`): PostgreSQL → Elasticsearch, aliases swapped."""

    films: int
    persons: int
    seconds: float
    peak_rss_mib: float

    @property
    def films_per_s(self) -> float:
        return self.films / self.seconds if self.seconds else 0.0


class Catalogue:
    """A synthetic catalogue of `films` films in its own database and indices."""

    def __init__(self, films: int) -> None:
        self.films = films
        self.label = label(films)
        self.db = f"movies_bench_{self.label}"
        self.prefix = f"bench_{self.label}_"
        self.dsn = f"postgresql://movies:movies@127.0.0.1:{PG_PORT}/{self.db}"
        self.generate_s: float | None = None

    def env(self) -> dict[str, str]:
        """What both the ETL and the content API read to find this catalogue."""
        return {
            "POSTGRES_DSN": self.dsn,
            "ELASTICSEARCH_URL": ES_URL,
            "ES_INDEX_PREFIX": self.prefix,
            "REDIS_URL": REDIS_URL,
            "CACHE_KEY_PREFIX": f"bench:{self.label}:v1",
            "CACHE_VERSION_KEY": f"bench:{self.label}:catalog_version",
            "CACHE_CHANNEL": f"bench:{self.label}:catalog_changed",
            "LOG_JSON": "false",
        }

    def alias(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _etl(self, *args: str, timeout: float = 3600) -> str:
        wait_for_es()
        out = subprocess.run(
            [str(VENV_BIN / "etl"), *args],
            env={**os.environ, **self.env()},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"etl {' '.join(args)} failed:\n{out.stderr[-3000:]}")
        return out.stdout

    def _film_count(self) -> int | None:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            row = admin.execute("select 1 from pg_database where datname = %s", (self.db,))
            if row.fetchone() is None:
                return None
        try:
            with psycopg.connect(self.dsn) as conn:
                got = conn.execute("select count(*) from content.film_work").fetchone()
                return int(got[0]) if got else 0
        except psycopg.errors.UndefinedTable:
            return 0

    def _generated_by(self) -> str | None:
        try:
            with psycopg.connect(self.dsn) as conn:
                row = conn.execute("select generator from public.bench_catalogue").fetchone()
                return str(row[0]) if row else None
        except psycopg.Error:
            return None

    def ensure_rows(self) -> None:
        """Generates the catalogue once; a database that already holds it, made by the
        same generator code, is reused (a changed generator makes a new catalogue)."""
        if self._film_count() == self.films and self._generated_by() == GENERATOR:
            log(f"catalogue {self.label}: {self.db} already holds {self.films} films")
            self._etl("migrate")
            return
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{self.db}" with (force)')
            admin.execute(f'create database "{self.db}" owner movies')
        self._etl("migrate")
        log(f"catalogue {self.label}: generating {self.films} films into {self.db}")
        started = time.monotonic()
        self._etl("generate", "--films", str(self.films), "--chunk", "5000")
        self.generate_s = time.monotonic() - started
        with psycopg.connect(self.dsn) as conn:
            conn.execute("create table public.bench_catalogue (generator text not null)")
            conn.execute("insert into public.bench_catalogue values (%s)", (GENERATOR,))

    def full_load(self) -> FullLoad:
        """Times `etl reindex` and samples its resident memory while it works."""
        wait_for_es()
        log(f"catalogue {self.label}: full ETL load")
        proc = Proc(f"etl-reindex-{self.label}", [str(VENV_BIN / "etl"), "reindex"], self.env())
        proc.start()
        peak = 0.0
        while proc.alive():
            peak = max(peak, proc.rss_mib())
            time.sleep(0.25)
        assert proc.popen is not None
        if proc.popen.returncode != 0:
            raise RuntimeError(f"etl reindex failed, see {proc.log_path}")
        status = orjson.loads(self._etl("status"))
        rebuild = status["last_rebuild"]
        return FullLoad(
            films=int(rebuild["documents"]["movies"]),
            persons=int(rebuild["documents"]["persons"]),
            seconds=float(rebuild["duration_seconds"]),
            peak_rss_mib=peak,
        )

    def median_load(self, runs: int) -> FullLoad:
        """`runs` full loads, the median by time: one load on a shared machine varies by a third."""
        loads = sorted((self.full_load() for _ in range(max(1, runs))), key=lambda x: x.seconds)
        mid = loads[len(loads) // 2]
        return FullLoad(mid.films, mid.persons, mid.seconds, max(x.peak_rss_mib for x in loads))

    def ensure_indexed(self) -> None:
        """Loads the catalogue unless its aliases already hold every film."""
        got = httpx.get(f"{ES_URL}/{self.alias('movies')}/_count", timeout=30)
        if got.status_code == 200 and got.json().get("count") == self.films:
            return
        self.ensure_rows()
        self.full_load()

    def etl_run(self) -> Proc:
        """The continuous ETL (`etl run`) on this catalogue, as `make up` runs it."""
        return Proc(f"etl-run-{self.label}", [str(VENV_BIN / "etl"), "run"], self.env()).start()

    def pending_changes(self) -> int:
        return int(orjson.loads(self._etl("status"))["pending_changes"])

    def drop_indices(self) -> None:
        """Frees Elasticsearch (a shared, small-heap node) of this catalogue's indices."""
        got = httpx.get(f"{ES_URL}/_cat/indices/{self.prefix}*?format=json&h=index", timeout=30)
        names = [row["index"] for row in got.json()] if got.status_code == 200 else []
        for name in names:
            httpx.delete(f"{ES_URL}/{name}", timeout=60)

    # -- samples of what the catalogue holds ---------------------------------------

    def _sample(self, sql: str, n: int, seed: int) -> list[str]:
        with psycopg.connect(self.dsn) as conn:
            conn.execute("select setseed(%s)", (1 / (seed + 2),))
            return [str(row[0]) for row in conn.execute(sql, (n,)).fetchall()]

    def film_ids(self, n: int, seed: int) -> list[str]:
        return self._sample("select id from content.film_work order by random() limit %s", n, seed)

    def person_ids(self, n: int, seed: int) -> list[str]:
        return self._sample("select id from content.person order by random() limit %s", n, seed)

    def genre_ids(self) -> list[str]:
        return self._sample("select id from content.genre order by name limit %s", 100, 0)

    def search_queries(self, n: int, seed: int) -> list[str]:
        """Distinct one- and two-word queries made of words the catalogue's titles hold."""
        titles = self._sample(
            "select title from content.film_work order by random() limit %s", 2000, seed
        )
        words = sorted({w.strip(".,").lower() for t in titles for w in t.split()})
        words = [w for w in words if len(w) > 2 and w not in {"the", "and"}]
        rng = random.Random(seed)
        queries: set[str] = set()
        limit = min(n, len(words) * len(words) // 2)
        while len(queries) < limit:
            first = rng.choice(words)
            queries.add(first if rng.random() < 0.2 else f"{first} {rng.choice(words)}")
        ordered = sorted(queries)
        rng.shuffle(ordered)
        return ordered


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (varnishd: the manager and
    the cache process, which holds the store)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return rss_mib(pid) + sum(tree_rss_mib(int(child)) for child in children)


class BenchApi:
    """A content API, an Envoy edge and the door (Varnish) in front, over one
    catalogue, configured like the dev stack."""

    def __init__(
        self,
        catalogue: Catalogue,
        extra_env: dict[str, str] | None = None,
        edge_patch: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """`extra_env` goes to the content API and to `envoy/render.py` alike;
        `edge_patch` changes the rendered Envoy config, as data (experiments only)."""
        self.catalogue = catalogue
        self.extra_env = extra_env or {}
        self.edge_patch = edge_patch
        # varnishd's working dir (its counters for varnishstat); started as root it
        # compiles the VCL as its own user.
        self.door_workdir = Path(tempfile.mkdtemp(prefix="bench-door-"))
        self.door_workdir.chmod(0o755)
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.admin_port = free_port()
        self.transcoder_port = free_port()
        self.edge_port = free_port()
        self.edge_grpc_port = free_port()
        self.api: Proc | None = None
        self.envoy: Proc | None = None
        self.door: Proc | None = None
        self._redis = redis.Redis.from_url(REDIS_URL)

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def url(self) -> str:
        """The public port: the door (Varnish), Envoy behind it."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def edge_url(self) -> str:
        """Envoy's edge listener, behind the door: what the door asks on a miss."""
        return f"http://127.0.0.1:{self.edge_port}"

    @property
    def transcoder_url(self) -> str:
        """Envoy's transcoding listener, behind its cache: every request reaches gRPC."""
        return f"http://127.0.0.1:{self.transcoder_port}"

    def start(self) -> BenchApi:
        env = {**self.catalogue.env(), "GRPC_PORT": str(self.grpc_port), **self.extra_env}
        self.api = Proc(f"content-api-{self.catalogue.label}", [str(VENV_BIN / "content-api")], env)
        self.api.start()
        wait_until(self._grpc_healthy, 60, "bench content-api")
        cfg = LOG_DIR / f"envoy-{self.catalogue.label}.yaml"
        render_env = {
            "ENVOY_PORT": str(self.http_port),
            "ENVOY_ADMIN_PORT": str(self.admin_port),
            "ENVOY_TRANSCODER_PORT": str(self.transcoder_port),
            "ENVOY_EDGE_PORT": str(self.edge_port),
            "ENVOY_GRPC_PORT": str(self.edge_grpc_port),
            "GRPC_UPSTREAMS": self.grpc_target,
            "DOCS_DIR": "",
            "DOOR_WORKDIR": str(self.door_workdir),
            # One load generator is one client address: the per-client search
            # limit would measure itself (the flood scenario sets its own).
            "ENVOY_SEARCH_RATE_LIMIT": "1000000",
        }
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "envoy" / "render.py"),
                "--descriptor",
                str(ROOT / "gen" / "descriptors.pb"),
                "--out",
                str(cfg),
            ],
            env={**os.environ, **render_env, **self.extra_env},
            check=True,
        )
        if self.edge_patch is not None:
            config = yaml.safe_load(cfg.read_text())
            self.edge_patch(config)
            cfg.write_text(yaml.safe_dump(config, sort_keys=False))
        self.envoy = Proc(
            f"envoy-{self.catalogue.label}",
            [
                sys.executable,
                str(ROOT / "envoy" / "launch.py"),
                "--config",
                str(cfg),
                "--concurrency",
                str(ENVOY_CONCURRENCY),
            ],
        ).start()
        wait_until(lambda: http_ok(f"http://127.0.0.1:{self.admin_port}/ready"), 30, "bench envoy")
        vcl = LOG_DIR / f"door-{self.catalogue.label}.vcl"
        door_env = {**os.environ, **render_env, **self.extra_env}
        door_py = str(ROOT / "varnish" / "door.py")
        subprocess.run(
            [sys.executable, door_py, "render", "--out", str(vcl)], env=door_env, check=True
        )
        self.door = Proc(
            f"door-{self.catalogue.label}",
            [sys.executable, door_py, "launch", "--vcl", str(vcl)],
            door_env,
        ).start()
        wait_until(lambda: http_ok(f"{self.url}/api/v1/genres"), 30, "bench door")
        return self

    def door_counter(self, name: str) -> int:
        """One of the door's counters (`varnishstat -1`), e.g. MAIN.backend_req."""
        out = subprocess.run(
            ["varnishstat", "-n", str(self.door_workdir), "-1", "-f", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return sum(int(line.split()[1]) for line in out.splitlines() if line.startswith(name))

    def door_fetches(self) -> int:
        """The door's requests to the edge so far (MAIN.backend_req), read once the
        worker threads have added theirs (they do a moment after each request)."""
        last = self.door_counter("MAIN.backend_req")
        for _ in range(20):
            time.sleep(0.25)
            now = self.door_counter("MAIN.backend_req")
            if now == last:
                break
            last = now
        return last

    def door_rss_mib(self) -> float:
        return tree_rss_mib(self.door.pid) if self.door is not None and self.door.alive() else 0.0

    def _grpc_healthy(self) -> bool:
        assert self.api is not None
        if not self.api.alive():
            raise RuntimeError(f"content-api exited, see {self.api.log_path}")
        return (
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "content_api.healthcheck",
                    "--port",
                    str(self.grpc_port),
                    "--timeout",
                    "1",
                ],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )

    def forget_cache(self) -> None:
        """Makes every cached answer unreachable, as an ETL batch does, and lets the
        door's copies (max-age=1, grace 1 s) expire, so the next reads are cold."""
        env = self.catalogue.env()
        version = self._redis.incr(env["CACHE_VERSION_KEY"])
        self._redis.publish(env["CACHE_CHANNEL"], str(version))
        time.sleep(DOOR_COPY_LIFETIME_S)

    def stop(self) -> None:
        for proc in (self.door, self.envoy, self.api):
            if proc is not None:
                proc.stop()
        self._redis.close()
        shutil.rmtree(self.door_workdir, ignore_errors=True)
