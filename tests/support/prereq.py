"""What a test needs from outside the repository, and what happens without it.

Locally a missing prerequisite skips the test with a reason that says how to
provide it; under CI (`CI=true`) it fails, so a CI run can never pass by
skipping what it was meant to run.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


class Prerequisites(BaseSettings):
    """Read from the environment; relative paths are relative to the repository root."""

    model_config = SettingsConfigDict(extra="ignore")

    ci: bool = False
    sample_sqlite: Path = Path("../shared/data/movies.sqlite")

    @property
    def sample_sqlite_path(self) -> Path:
        return (ROOT / self.sample_sqlite).resolve()


@cache
def prerequisites() -> Prerequisites:
    return Prerequisites()


def require(condition: bool, reason: str) -> None:
    """Skips the test (locally) or fails it (under CI) unless `condition` holds."""
    if condition:
        return
    if prerequisites().ci:
        pytest.fail(f"{reason} (CI=true: a missing prerequisite fails the run)", pytrace=False)
    pytest.skip(reason)


def sample_sqlite() -> Path:
    """The real 999-film catalogue, or a skip (a failure under CI) saying how to get it."""
    path = prerequisites().sample_sqlite_path
    require(
        path.is_file(),
        f"the real catalogue is not at {path}: set SAMPLE_SQLITE=/path/to/movies.sqlite"
        " (relative paths start at the repository root) to run tests/real_catalogue",
    )
    return path
