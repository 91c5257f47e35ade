"""Health follows the catalogue: NOT_SERVING over an emptied index, unchanged when the
probe itself cannot reach Elasticsearch."""

from __future__ import annotations

from dataclasses import dataclass, field

from content_api.domain.errors import BackendUnavailableError
from content_api.service_layer.readiness import Readiness


@dataclass
class Probe:
    hollow: list[str] = field(default_factory=list)
    down: bool = False

    async def hollow_indices(self) -> list[str]:
        if self.down:
            raise BackendUnavailableError()
        return list(self.hollow)


@dataclass
class Published:
    states: list[bool] = field(default_factory=list)

    async def __call__(self, serving: bool) -> None:
        self.states.append(serving)


async def test_an_emptied_index_stops_serving_and_a_refilled_one_resumes() -> None:
    probe, published = Probe(), Published()
    readiness = Readiness(probe, published, 1.0)

    assert await readiness.check() is True
    probe.hollow = ["movies"]
    assert await readiness.check() is False
    assert await readiness.check() is False
    probe.hollow = []
    assert await readiness.check() is True

    assert published.states == [True, False, True], "only changes are published"


async def test_an_unreachable_elasticsearch_changes_nothing() -> None:
    probe, published = Probe(down=True), Published()
    readiness = Readiness(probe, published, 1.0)

    assert await readiness.check() is None
    probe.down = False
    probe.hollow = ["movies"]
    assert await readiness.check() is False
    probe.down = True
    assert await readiness.check() is False
    assert published.states == [False]
