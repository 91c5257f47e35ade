"""The content API as this service needs it: does a film exist, and its title
and rating. Answers are kept in process for a short while, so a burst of writes
on one film asks the catalogue once; the catalogue itself is never copied."""

from __future__ import annotations

import asyncio
from typing import Final

from cachetools import TTLCache
from grpclib.exceptions import ProtocolError, StreamTerminatedError

from movies_client import ClientError, MoviesClient, NotFoundError
from ugc_service.domain.models import Film
from ugc_service.service_layer.ports import CatalogueUnavailableError

_MISSING: Final = object()


class ContentCatalogue:
    """Films found are kept `ttl_s`; films not found `miss_ttl_s` (a film just
    added to the catalogue becomes usable that soon)."""

    def __init__(self, client: MoviesClient, ttl_s: float, miss_ttl_s: float, size: int) -> None:
        self._client = client
        self._found: TTLCache[str, Film] = TTLCache(maxsize=size, ttl=ttl_s)
        self._missing: TTLCache[str, bool] = TTLCache(maxsize=size, ttl=miss_ttl_s)
        # One question in flight per film: concurrent callers share its answer.
        self._inflight: dict[str, asyncio.Future[Film | None]] = {}

    async def film(self, film_id: str) -> Film | None:
        if (hit := self._found.get(film_id)) is not None:
            return hit
        if film_id in self._missing:
            return None
        pending = self._inflight.get(film_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Film | None] = asyncio.get_running_loop().create_future()
        self._inflight[film_id] = future
        try:
            film = await self._ask(film_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        else:
            future.set_result(film)
            return film
        finally:
            del self._inflight[film_id]

    async def _ask(self, film_id: str) -> Film | None:
        try:
            reply = await self._client.get_film(film_id)
        except NotFoundError:
            self._missing[film_id] = True
            return None
        # Any other answer (unavailable after retries, a refused connection, a
        # reset) means the film could not be checked.
        except (ClientError, OSError, TimeoutError, StreamTerminatedError, ProtocolError) as exc:
            raise CatalogueUnavailableError(str(exc)) from exc
        film = Film(
            reply.uuid,
            reply.title,
            reply.imdb_rating if reply.HasField("imdb_rating") else None,
        )
        self._found[film_id] = film
        return film
