"""How the ETL tells the API that the catalogue changed (defaults of both settings)."""

from __future__ import annotations

from typing import Final

# Redis key holding the catalogue version: cached answers are keyed by it, so a new
# version retires them all, even for an API that missed the message below.
CACHE_VERSION_KEY: Final = "content:catalog_version"
# Pub/sub channel the ETL publishes each new version on.
CACHE_CHANNEL: Final = "content:catalog_changed"
