"""The search adapter's query plan: exact words first, typo tolerance only as a fallback."""

from __future__ import annotations

from typing import Any

from content_api.adapters.search import ElasticsearchSearch
from content_api.domain.models import Page


class FakeEs:
    """Answers each search with the next canned total and records the request."""

    def __init__(self, *totals: int) -> None:
        self.totals = list(totals)
        self.calls: list[dict[str, Any]] = []

    async def search(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        total = self.totals.pop(0)
        hits = [{"_source": {"id": str(i), "title": "t"}} for i in range(min(total, 2))]
        return {"hits": {"total": {"value": total, "relation": "eq"}, "hits": hits}}


def adapter(es: FakeEs) -> ElasticsearchSearch:
    fake: Any = es
    return ElasticsearchSearch(fake, "x_", count_matches_up_to=777)


def fuzzy(call: dict[str, Any]) -> bool:
    return "fuzziness" in str(call["query"])


async def test_a_query_that_matches_is_never_fuzzy() -> None:
    es = FakeEs(3)
    hits = await adapter(es).search_films("star wars", Page(1, 2))
    assert hits.total == 3
    assert [fuzzy(c) for c in es.calls] == [False]
    assert es.calls[0]["track_total_hits"] == 777
    assert es.calls[0]["index"] == "x_movies"


async def test_no_exact_match_falls_back_to_typo_tolerance() -> None:
    es = FakeEs(0, 1)
    hits = await adapter(es).search_persons("lukas", Page(1, 2))
    assert hits.total == 1
    assert [fuzzy(c) for c in es.calls] == [False, True]
    assert all(c["track_total_hits"] == 777 for c in es.calls)


async def test_lists_count_exactly() -> None:
    es = FakeEs(5)
    await adapter(es).list_genres(Page(1, 2))
    assert es.calls[0]["track_total_hits"] is True
