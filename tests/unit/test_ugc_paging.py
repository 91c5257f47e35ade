"""The UGC service's page tokens: what one list hands out, only that list takes back."""

from __future__ import annotations

import pytest

from ugc_service.domain.errors import InvalidArgumentError
from ugc_service.service_layer import paging
from ugc_service.service_layer.paging import PageLimits


def test_a_token_round_trips_its_key() -> None:
    token = paging.encode("reviews:helpful", [0.5958436145024278, "id-1"])
    assert paging.decode(token, "reviews:helpful", (float, str)) == [0.5958436145024278, "id-1"]
    assert "=" not in token
    assert paging.decode("", "reviews:helpful", (float, str)) is None


@pytest.mark.parametrize(
    "token",
    [
        "not base64 !",
        paging.encode("reviews:newest", ["2026-01-01T00:00:00+00:00", "id"]),  # another order
        paging.encode("reviews:helpful", ["high", "id"]),  # a key of the wrong type
        paging.encode("reviews:helpful", [1.0]),  # too short
        "W10",  # valid base64 of "[]"
    ],
)
def test_a_foreign_or_damaged_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        paging.decode(token, "reviews:helpful", (float, str))
    assert refused.value.reason == "INVALID_PAGE_TOKEN"


def test_page_size_defaults_and_bounds() -> None:
    limits = PageLimits(default=20, maximum=100)
    assert limits.size(None) == 20
    assert limits.size(1) == 1
    assert limits.size(100) == 100
    for bad in (0, 101, -5):
        with pytest.raises(InvalidArgumentError):
            limits.size(bad)
