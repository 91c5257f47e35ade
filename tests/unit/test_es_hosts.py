"""`ELASTICSEARCH_URL` names one node or a cluster (issue 14 §2), in the API and the ETL.

The clients' retry options are the client's per-request defaults (private attributes
of elasticsearch-py); tests/integration/test_es_hosts.py shows them at work.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from content_api.bootstrap import make_es_client
from content_api.config import Settings as ApiSettings
from movies_etl.adapters.search import make_client
from movies_etl.config import Settings as EtlSettings
from movies_index import elasticsearch_hosts

CLUSTER = "http://es1:9200, http://es2:9201/ ,http://es3:9202"
NODES = ["http://es1:9200", "http://es2:9201", "http://es3:9202"]


def test_one_url_is_one_host() -> None:
    assert elasticsearch_hosts("http://127.0.0.1:9200") == ["http://127.0.0.1:9200"]


def test_commas_separate_hosts_with_spaces_and_slashes_trimmed() -> None:
    assert elasticsearch_hosts(CLUSTER) == NODES


@pytest.mark.parametrize("bad", ["", " , ", "es1:9200", "http://es1:9200,es2:9200"])
def test_an_unusable_list_fails(bad: str) -> None:
    with pytest.raises(ValueError, match="ELASTICSEARCH_URL"):
        elasticsearch_hosts(bad)


@pytest.mark.parametrize("settings_class", [ApiSettings, EtlSettings])
def test_settings_read_a_list_from_the_environment(
    settings_class: type[ApiSettings] | type[EtlSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELASTICSEARCH_URL", CLUSTER)
    assert settings_class().elasticsearch_hosts == NODES


@pytest.mark.parametrize("settings_class", [ApiSettings, EtlSettings])
def test_settings_refuse_a_bad_list_at_start_up(
    settings_class: type[ApiSettings] | type[EtlSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELASTICSEARCH_URL", "http://es1:9200,es2:9200")
    with pytest.raises(ValidationError, match="needs a scheme"):
        settings_class()


async def test_the_api_client_spreads_over_every_node_and_retries_elsewhere() -> None:
    es = make_es_client(ApiSettings(elasticsearch_url=CLUSTER))
    try:
        assert len(es.transport.node_pool.all()) == len(NODES)
        assert es._retry_on_timeout is True
        assert es._max_retries == len(NODES) - 1
    finally:
        await es.close()


async def test_one_node_still_gets_one_retry() -> None:
    es = make_es_client(ApiSettings(elasticsearch_url="http://127.0.0.1:9200"))
    try:
        assert es._max_retries == 1
    finally:
        await es.close()


async def test_the_etl_client_tries_each_other_node_after_a_connection_error() -> None:
    es = make_client(NODES, 5.0)
    try:
        assert len(es.transport.node_pool.all()) == len(NODES)
        assert es._max_retries == len(NODES) - 1
        assert es._retry_on_timeout is False
    finally:
        await es.close()
