"""Scale: full ETL load throughput, search and list latency, and ETL lag per catalogue size.

Searches and lists here are cold on purpose: every request asks for a query or
a (genre, sort, page) the caches have not seen since the catalogue version was
bumped, so they measure Elasticsearch's work, which is what grows with size.
"""

from __future__ import annotations

import random
import statistics
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import grpc
import httpx
import orjson
import psycopg

from bench import rest_wrk
from bench.common import Load, Settings, log, wait_for_es
from bench.stack import BenchApi, Catalogue, FullLoad
from movies.v1 import film_service_pb2

SORTS = ("-imdb_rating", "imdb_rating", "title", "-title")
SCALE_CONCURRENCY = 16
# Full loads of catalogues up to this size are repeated (Settings.repeats) and the
# median kept; larger ones take minutes each and run once.
REPEAT_LOADS_UP_TO = 100_000
PAGE_SIZE = 50


@dataclass
class Lag:
    """Committed change → visible: straight from gRPC, and through the REST edge's cache."""

    grpc_s: list[float] = field(default_factory=list)
    rest_s: list[float] = field(default_factory=list)

    @staticmethod
    def _med(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    @property
    def grpc_median_s(self) -> float:
        return self._med(self.grpc_s)

    @property
    def rest_median_s(self) -> float:
        return self._med(self.rest_s)


@dataclass
class ScalePoint:
    films: int
    load: FullLoad
    generate_s: float | None
    search: Load
    search_c1: Load
    lists: Load
    lag: Lag
    etl_idle_rss_mib: float
    distinct_searches: int
    distinct_lists: int


def search_paths(catalogue: Catalogue, n: int, seed: int) -> list[str]:
    return [
        f"/api/v1/films/search?query={urllib.parse.quote(q)}&page_size={PAGE_SIZE}"
        for q in catalogue.search_queries(n, seed)
    ]


def list_paths(catalogue: Catalogue, seed: int) -> list[str]:
    """Distinct (genre, sort, page) lists, shuffled; pages stay within the result window."""
    pages = max(1, min(200, catalogue.films // PAGE_SIZE))
    genres = ["", *catalogue.genre_ids()]
    rng = random.Random(seed)
    paths = []
    for gid in genres:
        # A genre holds a fraction of the films: ask only for pages that exist.
        last = pages if not gid else max(1, pages // 4)
        for sort in SORTS:
            for page in range(1, last + 1):
                genre = f"&genre_id={gid}" if gid else ""
                paths.append(
                    f"/api/v1/films?sort={sort}{genre}&page_number={page}&page_size={PAGE_SIZE}"
                )
    rng.shuffle(paths)
    return paths


def cold_load(api: BenchApi, paths: list[str], concurrency: int, settings: Settings) -> Load:
    runs = []
    for _ in range(settings.repeats):
        wait_for_es()
        api.forget_cache()
        runs.append(rest_wrk.run(api.url, paths, concurrency, settings.duration_s))
    return Load.median(runs)


def measure_lag(catalogue: Catalogue, api: BenchApi, trials: int) -> tuple[Lag, float]:
    """Starts `etl run`, commits title changes, and times until each shows in the API.

    Returns the lags and the idle resident memory of the running ETL.
    """
    lag = Lag()
    etl = catalogue.etl_run()
    try:
        deadline = time.monotonic() + 120
        while catalogue.pending_changes() > 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)
        idle_rss = etl.rss_mib()
        ids = catalogue.film_ids(trials, seed=7)
        channel = grpc.insecure_channel(api.grpc_target)
        get_film = channel.unary_unary(
            "/movies.v1.FilmService/GetFilm",
            request_serializer=film_service_pb2.GetFilmRequest.SerializeToString,
            response_deserializer=film_service_pb2.Film.FromString,
        )
        with psycopg.connect(catalogue.dsn, autocommit=True) as conn, httpx.Client() as http:
            for film_id in ids:
                # The edge cache holds the film as it was, as it would in production.
                http.get(f"{api.url}/api/v1/films/{film_id}")
                old = conn.execute(
                    "select title from content.film_work where id = %s", (film_id,)
                ).fetchone()
                title = f"Bench lag {uuid.uuid4().hex[:12]}"
                conn.execute(
                    "update content.film_work set title = %s, modified = now() where id = %s",
                    (title, film_id),
                )
                committed = time.monotonic()
                seen_grpc = seen_rest = None
                while (seen_grpc is None or seen_rest is None) and (
                    time.monotonic() - committed < 30
                ):
                    if seen_grpc is None:
                        film = get_film(film_service_pb2.GetFilmRequest(film_id=film_id))
                        if film.title == title:
                            seen_grpc = time.monotonic() - committed
                    if seen_rest is None:
                        body = http.get(f"{api.url}/api/v1/films/{film_id}").content
                        if orjson.loads(body).get("title") == title:
                            seen_rest = time.monotonic() - committed
                    time.sleep(0.005)
                if seen_grpc is not None:
                    lag.grpc_s.append(seen_grpc)
                if seen_rest is not None:
                    lag.rest_s.append(seen_rest)
                if old:
                    conn.execute(
                        "update content.film_work set title = %s where id = %s", (old[0], film_id)
                    )
                time.sleep(0.5)
        channel.close()
    finally:
        etl.stop()
    return lag, idle_rss


def load_runs(films: int, settings: Settings) -> int:
    return settings.repeats if films <= REPEAT_LOADS_UP_TO else 1


def measure(catalogue: Catalogue, settings: Settings) -> ScalePoint:
    """One catalogue size on its own servers: load it fully, query it cold, change it live."""
    catalogue.ensure_rows()
    load = catalogue.median_load(load_runs(catalogue.films, settings))
    log(f"catalogue {catalogue.label}: {load.films} films in {load.seconds:.1f}s")
    api = BenchApi(catalogue).start()
    try:
        return measure_loaded(catalogue, load, api, settings)
    finally:
        api.stop()


def measure_loaded(
    catalogue: Catalogue, load: FullLoad, api: BenchApi, settings: Settings
) -> ScalePoint:
    """Search and list latency, and ETL lag, on a catalogue that is loaded and served."""
    log(f"scale {catalogue.label}: cold searches and lists at c={SCALE_CONCURRENCY}, ETL lag")
    searches = search_paths(catalogue, 500 if settings.smoke else 50_000, seed=11)
    lists = list_paths(catalogue, seed=13)
    search = cold_load(api, searches, SCALE_CONCURRENCY, settings)
    search_c1 = cold_load(api, searches, 1, settings)
    listed = cold_load(api, lists, SCALE_CONCURRENCY, settings)
    lag, idle = measure_lag(catalogue, api, settings.lag_trials)
    return ScalePoint(
        films=catalogue.films,
        load=load,
        generate_s=catalogue.generate_s,
        search=search,
        search_c1=search_c1,
        lists=listed,
        lag=lag,
        etl_idle_rss_mib=idle,
        distinct_searches=len(searches),
        distinct_lists=len(lists),
    )
