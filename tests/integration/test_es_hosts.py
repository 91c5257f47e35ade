"""Clients over a list of nodes keep working while one of them is down (issue 14 §2)."""

from __future__ import annotations

import time

from content_api.bootstrap import make_es_client
from content_api.config import Settings as ApiSettings
from movies_etl.adapters.search import make_client
from tests.conftest import ES_PORT, ES_URL
from tests.support.procs import free_port
from tests.support.tcp_proxy import TcpProxy

REQUESTS = 20
# A node that accepts connections and never answers in time (one back but not yet
# rejoined, or overloaded): each request to it times out.
HUNG_SECONDS = 30.0
TIMEOUT_SECONDS = 0.3
DEADLINE_SECONDS = 1.5


def _with_a_dead_node() -> str:
    """The dev node and a port nobody listens on, dead one first."""
    return f"http://127.0.0.1:{free_port()},{ES_URL}"


async def test_the_api_client_answers_every_request_with_a_node_down() -> None:
    es = make_es_client(ApiSettings(elasticsearch_url=_with_a_dead_node()))
    try:
        for _ in range(REQUESTS):
            assert (await es.info())["version"]["number"]
    finally:
        await es.close()


async def test_the_etl_client_answers_every_request_with_a_node_down() -> None:
    es = make_client(ApiSettings(elasticsearch_url=_with_a_dead_node()).elasticsearch_hosts, 5)
    try:
        for _ in range(REQUESTS):
            assert (await es.info())["version"]["number"]
    finally:
        await es.close()


async def test_the_api_client_answers_within_the_deadline_with_a_node_hung() -> None:
    hung = TcpProxy(free_port(), ES_PORT).start()
    hung.set_mode("slow", HUNG_SECONDS)
    settings = ApiSettings(
        elasticsearch_url=f"http://127.0.0.1:{hung.listen_port},{ES_URL}",
        es_timeout_seconds=TIMEOUT_SECONDS,
        request_deadline_seconds=DEADLINE_SECONDS,
    )
    es = make_es_client(settings)
    slowest = 0.0
    try:
        for _ in range(REQUESTS):
            started = time.monotonic()
            assert (await es.info())["version"]["number"]
            slowest = max(slowest, time.monotonic() - started)
    finally:
        await es.close()
        hung.close()
    assert hung.chunks_in, "no request went to the hung node: the test proved nothing"
    assert slowest < DEADLINE_SECONDS
