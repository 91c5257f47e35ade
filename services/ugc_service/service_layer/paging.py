"""Keyset page tokens: encoded and decoded here only.

A token is the sort key of the last item of a page (plus what it sorts), as
base64url JSON. It is opaque to clients but not secret: forging one only moves
where a page starts. Items inserted while a client pages sort before or after
that key, so later pages neither repeat nor skip what existed.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Final

from ugc_service.domain.errors import InvalidArgumentError

_BAD: Final = "page_token is not a token this list returned; start again without it"


@dataclass(frozen=True, slots=True)
class PageLimits:
    default: int
    maximum: int

    def size(self, requested: int | None) -> int:
        if requested is None:
            return self.default
        if not 1 <= requested <= self.maximum:
            raise InvalidArgumentError(
                f"page_size must be between 1 and {self.maximum}", "INVALID_PAGE_SIZE"
            )
        return requested


def encode(kind: str, key: list[Any]) -> str:
    raw = json.dumps([kind, key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(token: str, kind: str, types: tuple[type, ...]) -> list[Any] | None:
    """The key a token carries, or None for an empty token (the first page).

    `kind` names the list and its order, so a token of another list or sort is
    refused rather than misread; `types` are the key's element types."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        got_kind, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidArgumentError(_BAD, "INVALID_PAGE_TOKEN") from None
    if (
        got_kind != kind
        or not isinstance(key, list)
        or len(key) != len(types)
        or not all(_is(value, t) for value, t in zip(key, types, strict=True))
    ):
        raise InvalidArgumentError(_BAD, "INVALID_PAGE_TOKEN")
    return key


def _is(value: Any, t: type) -> bool:
    if t is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, t)
