"""The service's request limits come from the protos' openapi.v3 annotations."""

from __future__ import annotations

from content_api.domain.models import FilmSort
from content_api.entrypoints.limits import PAGED, contract_limits, field_schema
from movies.v1 import film_service_pb2


def test_limits_are_read_from_the_annotations() -> None:
    limits = contract_limits()
    schema = field_schema(film_service_pb2.ListFilmsRequest, "page_size")
    assert limits.page.max_size == schema.maximum
    assert limits.page.default_size == schema.default.number
    assert limits.page.max_window == field_schema(PAGED[0], "page_number").maximum
    query = field_schema(film_service_pb2.SearchFilmsRequest, "query")
    assert limits.max_query_length == query.max_length


def test_every_declared_sort_is_one_the_service_knows() -> None:
    declared = field_schema(film_service_pb2.ListFilmsRequest, "sort").enum
    assert {v.yaml.strip("'") for v in declared} == {"", *(s.value for s in FilmSort)}
