"""The real legacy file normalized: the counts and quirks the data README lists."""

from __future__ import annotations

from pathlib import Path

from movies_etl.importer import read_sqlite

FILMS = 999
GENRES = 26
PERSONS = 4166
UNRATED = 1
WITHOUT_PLOT = 249


def test_sample_catalogue_counts(sample_sqlite: Path) -> None:
    data = read_sqlite(sample_sqlite)

    assert len(data.films) == FILMS
    assert len(data.genres) == GENRES
    assert len(data.persons) == PERSONS
    assert "N/A" not in data.persons
    assert all(f.description != "N/A" for f in data.films)
    assert sum(f.rating is None for f in data.films) == UNRATED
    assert sum(f.description is None for f in data.films) == WITHOUT_PLOT


def test_sample_import_is_deterministic(sample_sqlite: Path) -> None:
    first, second = read_sqlite(sample_sqlite), read_sqlite(sample_sqlite)

    assert first.films == second.films
    assert first.person_links == second.person_links
