"""Normalizing the legacy SQLite catalogue: the quirks listed in the data README."""

from __future__ import annotations

from pathlib import Path

import pytest

from movies_etl.importer import clean, parse_rating, read_sqlite, split_names, writer_ids

SQLITE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "movies.sqlite"


def test_na_and_blank_mean_no_value() -> None:
    assert clean("N/A") is None
    assert clean("  ") is None
    assert clean(None) is None
    assert clean(" Drama ") == "Drama"


def test_comma_separated_names() -> None:
    assert split_names("Action, Adventure,Sci-Fi") == ["Action", "Adventure", "Sci-Fi"]
    assert split_names("N/A") == []
    assert split_names("") == []


def test_rating_text() -> None:
    assert parse_rating("8.6") == 8.6
    assert parse_rating("N/A") is None
    assert parse_rating("not a number") is None


def test_writers_are_the_union_of_both_columns_without_duplicates() -> None:
    listed = '[{"id": "b"}, {"id": "a"}, {"id": "b"}]'

    assert writer_ids("a", "") == ["a"]
    assert writer_ids("", listed) == ["b", "a"]
    assert writer_ids("a", listed) == ["a", "b"]
    assert writer_ids("", "") == []


@pytest.fixture(scope="module")
def sample() -> Path:
    if not SQLITE.exists():
        pytest.skip(f"{SQLITE} not available")
    return SQLITE


def test_sample_catalogue_counts(sample: Path) -> None:
    data = read_sqlite(sample)

    assert len(data.films) == 999
    assert len(data.genres) == 26
    assert len(data.persons) == 4166
    assert "N/A" not in data.persons
    assert all(f.description != "N/A" for f in data.films)
    assert sum(f.rating is None for f in data.films) == 1
    assert sum(f.description is None for f in data.films) == 249


def test_sample_import_is_deterministic(sample: Path) -> None:
    first, second = read_sqlite(sample), read_sqlite(sample)

    assert first.films == second.films
    assert first.person_links == second.person_links
