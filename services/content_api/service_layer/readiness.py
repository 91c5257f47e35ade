"""Whether this server should receive traffic: never while it would answer an empty
catalogue as if it were the truth.

An index whose documents were lost (a node died before they reached disk) still
answers searches: with nothing, and `200`. The health service is how Envoy and
the orchestrator learn to stay away; the ETL's self-check refills the index, and
the next probe reports SERVING again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from content_api.domain.errors import BackendUnavailableError

log = logging.getLogger(__name__)


class CatalogueProbe(Protocol):
    async def hollow_indices(self) -> list[str]:
        """Aliases that hold no documents while the ETL expects some."""
        ...


class Readiness:
    """Probes the catalogue every `interval` seconds and publishes SERVING or not.

    An unreachable Elasticsearch changes nothing: every request already fails fast
    with UNAVAILABLE, and flapping health would only move load around.
    """

    def __init__(
        self,
        probe: CatalogueProbe,
        publish: Callable[[bool], Awaitable[None]],
        interval_seconds: float,
    ) -> None:
        self._probe = probe
        self._publish = publish
        self._interval = interval_seconds
        self.serving: bool | None = None

    async def check(self) -> bool | None:
        """One probe; publishes a change of state. None when the probe itself failed."""
        try:
            hollow = await self._probe.hollow_indices()
        except BackendUnavailableError:
            return self.serving
        serving = not hollow
        if serving != self.serving:
            if serving:
                log.info("catalogue complete: serving")
            else:
                log.error(
                    "indices empty though the catalogue has documents: not serving",
                    extra={"indices": hollow},
                )
            self.serving = serving
            await self._publish(serving)
        return serving

    async def run(self) -> None:
        """Probes until cancelled (before the server starts its shutdown drain)."""
        while True:
            await asyncio.sleep(self._interval)
            await self.check()
