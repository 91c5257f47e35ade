"""Schemathesis against the public port with every check it has: what the edge
answers (statuses, headers, bodies) is what the OpenAPI document declares, valid
requests are accepted and invalid ones refused (issue 13, §8).

Bounded for CI: a fixed seed and number of examples per operation (about a
thousand requests in all, well under a minute on the dev machine)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.support import catalog as c
from tests.support.procs import ROOT, VENV_BIN, Proc
from tests.support.servers import Edge, start_api, start_edge
from tests.support.stack import stack

MAX_EXAMPLES = 40
SEED = 2


@pytest.fixture(scope="module")
def roomy_edge(loaded_catalog: None, test_redis: Proc) -> Iterator[Edge]:
    """The tests' catalogue behind an edge, with deadlines no loaded CI machine
    reaches: a slow search must not become a 503 that not_a_server_error counts
    (the shared `api` answers UNAVAILABLE after 1.5 s, on purpose, for other tests)."""
    api = start_api(
        "schemathesis-api",
        {
            "ELASTICSEARCH_URL": stack().es_url,
            "ES_INDEX_PREFIX": "test_api_",
            "ES_TIMEOUT_SECONDS": "8",
            "REQUEST_DEADLINE_SECONDS": "10",
            "REDIS_URL": f"redis://127.0.0.1:{test_redis.port}/0",  # type: ignore[attr-defined]
        },
    )
    try:
        edge = start_edge("schemathesis-edge", api, env={"ENVOY_ROUTE_TIMEOUT": "15s"})
        yield edge
        edge.stop()
    finally:
        api.proc.stop()


def test_schemathesis_with_every_check_finds_no_failure(roomy_edge: Edge) -> None:
    edge = roomy_edge
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [
            str(VENV_BIN / "schemathesis"),
            "run",
            f"{edge.url}/api/openapi.json",
            "--url",
            edge.url,
            "--checks",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--generation-database",
            "none",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout


@pytest.mark.parametrize("method", ["QUERY", "PROPFIND"])
async def test_a_method_nobody_knows_is_405_with_allow(
    http: httpx.AsyncClient, method: str
) -> None:
    """What schemathesis' unsupported_method check sends: the door asks it as OPTIONS."""
    resp = await http.request(method, f"/api/v1/films/{c.F_NEW_HOPE}")
    assert resp.status_code == 405, resp.text
    assert resp.headers["allow"] == "GET, HEAD"
    assert resp.json()["code"] == 12
    assert (await http.request(method, "/api/v1/nowhere")).status_code == 404
