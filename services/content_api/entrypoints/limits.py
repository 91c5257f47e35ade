"""The request limits of the API contract: the `openapi.v3.property` annotations on
the request fields in protos/movies/v1, which the OpenAPI document prints too.

The service reads them here instead of keeping numbers of its own, so what it
enforces and what the document promises cannot drift. Every paged request carries
its own copy of the page bounds (the generator annotates fields, not messages);
a copy that disagrees stops the server at start, before it serves a request the
document describes otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from google.protobuf.message import Message
from openapiv3 import OpenAPIv3_pb2, annotations_pb2

from content_api.domain.models import FilmSort, PageLimits
from movies.v1 import film_service_pb2, genre_service_pb2, person_service_pb2

PAGED: Final[tuple[type[Message], ...]] = (
    film_service_pb2.ListFilmsRequest,
    film_service_pb2.SearchFilmsRequest,
    genre_service_pb2.ListGenresRequest,
    person_service_pb2.SearchPersonsRequest,
    person_service_pb2.ListPersonFilmsRequest,
)
QUERIED: Final[tuple[type[Message], ...]] = (
    film_service_pb2.SearchFilmsRequest,
    person_service_pb2.SearchPersonsRequest,
)


@dataclass(frozen=True, slots=True)
class ContractLimits:
    page: PageLimits
    max_query_length: int


def field_schema(message: type[Message], field: str) -> OpenAPIv3_pb2.Schema:
    """The field's `openapi.v3.property` annotation; a field without one is a bug."""
    options = message.DESCRIPTOR.fields_by_name[field].GetOptions()
    if not options.HasExtension(annotations_pb2.property):
        raise RuntimeError(f"{message.DESCRIPTOR.full_name}.{field}: no openapi.v3.property")
    return options.Extensions[annotations_pb2.property]


def _agreed(messages: tuple[type[Message], ...], field: str, keyword: str) -> float:
    values: set[float] = {getattr(field_schema(m, field), keyword) for m in messages}
    if len(values) != 1:
        raise RuntimeError(f"the requests' {field} declare {keyword} {sorted(values)}: one value")
    return values.pop()


def _agreed_default(messages: tuple[type[Message], ...], field: str) -> float:
    values = {field_schema(m, field).default.number for m in messages}
    if len(values) != 1:
        raise RuntimeError(f"the requests' {field} declare defaults {sorted(values)}: one value")
    return values.pop()


def contract_limits() -> ContractLimits:
    """Page bounds, default page size and query length, as the protos declare them.

    Pages are 1-based and a page holds at least one item: the annotations must say
    so. The deepest reachable result is the largest page_number at page_size 1."""
    for field in ("page_number", "page_size"):
        if _agreed(PAGED, field, "minimum") != 1:
            raise RuntimeError(f"{field}: the service counts from 1; the protos say otherwise")
    if _agreed(QUERIED, "query", "min_length") != 1:
        raise RuntimeError("query: the service rejects only an empty query")
    declared_sorts = {
        value.yaml.strip("'")
        for value in field_schema(film_service_pb2.ListFilmsRequest, "sort").enum
    }
    if declared_sorts != {"", *(s.value for s in FilmSort)}:
        raise RuntimeError(f"sort: the protos declare {sorted(declared_sorts)}")
    return ContractLimits(
        page=PageLimits(
            default_size=int(_agreed_default(PAGED, "page_size")),
            max_size=int(_agreed(PAGED, "page_size", "maximum")),
            max_window=int(_agreed(PAGED, "page_number", "maximum")),
        ),
        max_query_length=int(_agreed(QUERIED, "query", "max_length")),
    )
