"""The real 999-film catalogue (`SAMPLE_SQLITE`, default ../shared/data/movies.sqlite).

Every test here asks for `sample_sqlite`: without the file it skips saying how
to run this tier, and under CI (`CI=true`) it fails instead. Everything else in
tests/ runs on catalogues the tests make themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import prereq


@pytest.fixture(scope="session")
def sample_sqlite() -> Path:
    return prereq.sample_sqlite()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`-m real_catalogue` (or `-m "not real_catalogue"`) picks this tier."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.real_catalogue)
