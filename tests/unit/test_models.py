"""Request validation: every rule that turns bad input into INVALID_ARGUMENT."""

from __future__ import annotations

import pytest

from content_api.domain.errors import InvalidArgumentError
from content_api.domain.models import FilmSort, PageLimits, parse_query, parse_uuid

LIMITS = PageLimits(default_size=50, max_size=100, max_window=10_000)


def test_page_defaults() -> None:
    page = LIMITS.parse(None, None)
    assert (page.number, page.size, page.offset) == (1, 50, 0)


def test_page_offset() -> None:
    assert LIMITS.parse(3, 20).offset == 40


@pytest.mark.parametrize(
    ("number", "size", "reason"),
    [
        (0, 10, "INVALID_PAGE_NUMBER"),
        (-1, 10, "INVALID_PAGE_NUMBER"),
        (1, 0, "INVALID_PAGE_SIZE"),
        (1, 101, "INVALID_PAGE_SIZE"),
        (201, 50, "PAGE_TOO_DEEP"),
        (10_001, 1, "PAGE_TOO_DEEP"),
    ],
)
def test_page_rejects(number: int, size: int, reason: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        LIMITS.parse(number, size)
    assert err.value.reason == reason


def test_last_page_within_window_is_allowed() -> None:
    assert LIMITS.parse(200, 50).offset == 9_950
    assert LIMITS.parse(100, 100).offset == 9_900


def test_sort_values() -> None:
    assert FilmSort.parse("") is FilmSort.RATING_DESC
    assert FilmSort.parse("title") is FilmSort.TITLE_ASC
    assert FilmSort.parse("-title") is FilmSort.TITLE_DESC
    assert FilmSort.parse("imdb_rating") is FilmSort.RATING_ASC
    with pytest.raises(InvalidArgumentError, match="sort must be one of"):
        FilmSort.parse("rating")


def test_uuid_is_canonicalised() -> None:
    raw = "3D825F60-9FFF-4DFE-B294-1A45FA1E115D"
    assert parse_uuid(raw, "film_id") == raw.lower()
    with pytest.raises(InvalidArgumentError, match="film_id must be a UUID"):
        parse_uuid("not-a-uuid", "film_id")


@pytest.mark.parametrize("bad", ["", "   ", "x" * 257])
def test_query_rejects(bad: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_query(bad, 256)


def test_query_keeps_syntax_characters_as_text() -> None:
    assert parse_query(' title:* OR "x ', 256) == 'title:* OR "x'


@pytest.mark.parametrize(
    "raw",
    [
        "3d825f609fff4dfeb2941a45fa1e115d",
        "{3d825f60-9fff-4dfe-b294-1a45fa1e115d}",
        "urn:uuid:3d825f60-9fff-4dfe-b294-1a45fa1e115d",
        "3d825f60-9fff-4dfe-b294-1a45fa1e115d\n",
    ],
)
def test_uuid_is_the_hyphenated_form_only(raw: str) -> None:
    """What the OpenAPI document's `uuid` format allows, no other spelling."""
    with pytest.raises(InvalidArgumentError, match="must be a UUID"):
        parse_uuid(raw, "film_id")
