"""Clients over a list of nodes keep working while one of them is down (issue 14 §2)."""

from __future__ import annotations

from content_api.bootstrap import make_es_client
from content_api.config import Settings as ApiSettings
from movies_etl.adapters.search import make_client
from tests.conftest import ES_URL
from tests.support.procs import free_port

REQUESTS = 20


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
