"""Validated request parameters: what the service layer accepts."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Final

from content_api.domain.errors import InvalidArgumentError


class FilmSort(Enum):
    """Orders a film list can take; the value is what clients send."""

    RATING_DESC = "-imdb_rating"
    RATING_ASC = "imdb_rating"
    TITLE_ASC = "title"
    TITLE_DESC = "-title"

    @classmethod
    def parse(cls, raw: str) -> FilmSort:
        """Empty means the default (best rated first)."""
        if not raw:
            return cls.RATING_DESC
        try:
            return cls(raw)
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise InvalidArgumentError(
                f"sort must be one of {allowed}; got {raw[:40]!r}", "INVALID_SORT"
            ) from None


@dataclass(frozen=True, slots=True)
class Page:
    """A 1-based page; `offset` is what the search engine wants."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True, slots=True)
class PageLimits:
    """Paging bounds from settings, so no magic numbers live in code."""

    default_size: int
    max_size: int
    max_window: int

    def parse(self, number: int | None, size: int | None) -> Page:
        """Rejects pages the engine cannot serve, with a message that says why."""
        number = 1 if number is None else number
        size = self.default_size if size is None else size
        if number < 1:
            raise InvalidArgumentError(
                f"page_number must be 1 or more; got {number}", "INVALID_PAGE_NUMBER"
            )
        if not 1 <= size <= self.max_size:
            raise InvalidArgumentError(
                f"page_size must be between 1 and {self.max_size}; got {size}",
                "INVALID_PAGE_SIZE",
            )
        if number * size > self.max_window:
            raise InvalidArgumentError(
                f"page_number * page_size must not exceed {self.max_window}; "
                f"narrow the query instead of paging deeper",
                "PAGE_TOO_DEEP",
            )
        return Page(number, size)


# The hyphenated form only (OpenAPI's `uuid` format): uuid.UUID alone would also
# take braces, "urn:uuid:" and 32 bare digits, which the document calls invalid.
UUID_TEXT: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def parse_uuid(raw: str, field: str) -> str:
    """Returns the canonical lowercase form, so cache keys and lookups agree."""
    if not UUID_TEXT.fullmatch(raw):
        raise InvalidArgumentError(f"{field} must be a UUID; got {raw[:40]!r}", "INVALID_UUID")
    return str(uuid.UUID(raw))


def parse_query(raw: str, max_length: int) -> str:
    """A query is plain text: only its length is checked, never its syntax."""
    text = raw.strip()
    if not text:
        raise InvalidArgumentError("query must not be empty", "EMPTY_QUERY")
    if len(raw) > max_length:
        raise InvalidArgumentError(
            f"query must be at most {max_length} characters; got {len(raw)}", "QUERY_TOO_LONG"
        )
    return text
