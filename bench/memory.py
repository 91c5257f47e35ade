"""Memory: resident memory of the gRPC server, Envoy and the door (Varnish), idle and
through a long mixed load.

The load is a mix of what clients ask (hot and catalogue-wide film details,
lists, searches, people) through the door at concurrency 64; RSS is
sampled from /proc every few seconds. Growth is measured from the end of the
warm-up to the end of the run, so filling caches once does not count as a leak.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import rest_wrk
from bench.common import Load, Settings, log
from bench.stack import BenchApi

CONCURRENCY = 64


@dataclass
class Track:
    """RSS samples of one process (MiB), with when they were taken (s since start)."""

    name: str
    idle: float
    samples: list[tuple[float, float]] = field(default_factory=list)

    def at(self, t: float) -> float:
        """The first sample taken at or after `t`."""
        return next((rss for when, rss in self.samples if when >= t), self.samples[-1][1])

    @property
    def peak(self) -> float:
        return max(rss for _, rss in self.samples)

    @property
    def end(self) -> float:
        return self.samples[-1][1]


@dataclass
class MemoryRun:
    seconds: float
    warmup_s: float
    load: Load
    tracks: list[Track]

    def growth(self, track: Track) -> float:
        start = track.at(self.warmup_s)
        return (track.end - start) / start if start else 0.0

    def late_growth(self, track: Track) -> float:
        """Growth over the second half only: a leak keeps growing, a warm-up levels off."""
        start = track.at(self.seconds / 2)
        return (track.end - start) / start if start else 0.0


def mixed_paths(
    hot_films: list[str],
    films: list[str],
    persons: list[str],
    lists: list[str],
    searches: list[str],
    n: int,
    seed: int,
) -> list[str]:
    """`n` requests: 40% hot film details, 20% films from all over the catalogue,
    15% lists, 15% searches, 10% people."""
    rng = random.Random(seed)
    pools = [
        [f"/api/v1/films/{i}" for i in hot_films],
        [f"/api/v1/films/{i}" for i in films],
        lists,
        searches,
        [f"/api/v1/persons/{i}" for i in persons],
    ]
    weights = [40, 20, 15, 15, 10]
    return [rng.choice(rng.choices(pools, weights)[0]) for _ in range(n)]


def measure(api: BenchApi, paths: list[str], settings: Settings) -> MemoryRun:
    samplers: dict[str, Callable[[], float]] = {
        "content-api (gRPC)": api.api.rss_mib if api.api else lambda: 0.0,
        "Envoy (edge)": api.envoy.rss_mib if api.envoy else lambda: 0.0,
        # The manager and the cache process (the store is the child's).
        "Varnish (the door)": api.door_rss_mib,
    }
    time.sleep(1)
    tracks = [Track(name, sample()) for name, sample in samplers.items()]
    seconds = settings.memory_s
    warmup = 30.0 if seconds >= 120 else seconds / 4
    interval = 5.0 if seconds >= 120 else 0.5
    result: list[Load] = []
    log(f"memory: {seconds:.0f}s of mixed load at c={CONCURRENCY}")

    def load() -> None:
        result.append(rest_wrk.run(api.url, paths, CONCURRENCY, seconds))

    worker = threading.Thread(target=load, name="memory-load")
    started = time.monotonic()
    worker.start()
    while worker.is_alive():
        now = time.monotonic() - started
        for sample, track in zip(samplers.values(), tracks, strict=True):
            track.samples.append((now, sample()))
        worker.join(interval)
    if not result:
        raise RuntimeError("the memory run's load generator failed")
    return MemoryRun(seconds, warmup, result[0], tracks)
