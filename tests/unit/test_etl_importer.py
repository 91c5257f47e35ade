"""Normalizing the legacy SQLite catalogue: the quirks listed in the data README, on a
hand-made file (the real catalogue's counts are checked in tests/real_catalogue/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from movies_etl.importer import clean, parse_rating, read_sqlite, split_names, writer_ids
from tests.support import legacy


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


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return legacy.write(tmp_path / "legacy.sqlite")


def test_legacy_quirks_are_normalized(sample: Path) -> None:
    data = read_sqlite(sample)

    assert len(data.films) == legacy.FILMS
    assert len(data.genres) == legacy.GENRES
    assert len(data.persons) == legacy.PERSONS
    assert len(data.person_links) == legacy.PERSON_LINKS
    assert "N/A" not in data.persons
    films = {str(f.id): f for f in data.films}
    assert films[legacy.NEW_HOPE].rating == 8.6
    assert films[legacy.EMPIRE].description is None
    assert (films[legacy.LONELY].rating, films[legacy.LONELY].description) == (None, None)
    assert not [
        link for link in data.person_links.values() if str(link.film_work_id) == legacy.LONELY
    ]


def test_sample_import_is_deterministic(sample: Path) -> None:
    first, second = read_sqlite(sample), read_sqlite(sample)

    assert first.films == second.films
    assert first.person_links == second.person_links
