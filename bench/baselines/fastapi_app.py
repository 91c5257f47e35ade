"""The usual implementation's hot path: FastAPI + uvicorn + `redis.asyncio` + pydantic.

GET /api/v1/films/{film_id} reads the film's JSON from Redis (the bench writes
copies of real films there), validates it into a pydantic model and returns it:
a cache hit, nothing else. The bench runs it with one uvicorn worker, uvloop and
httptools, and no access log: the usual setup at its best.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import redis.asyncio as aioredis
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
KEY_PREFIX = os.environ.get("BENCH_FILM_KEY_PREFIX", "bench:fastapi:film:")


class FilmGenre(BaseModel):
    uuid: UUID
    name: str


class FilmPerson(BaseModel):
    uuid: UUID
    full_name: str


class Film(BaseModel):
    uuid: UUID
    title: str
    imdb_rating: float | None = None
    description: str | None = None
    genres: list[FilmGenre] = []
    actors: list[FilmPerson] = []
    writers: list[FilmPerson] = []
    directors: list[FilmPerson] = []


class State:
    redis: aioredis.Redis


state = State()


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    state.redis = aioredis.Redis.from_url(REDIS_URL)
    yield
    await state.redis.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/api/v1/films/{film_id}")
async def get_film(film_id: UUID) -> Film:
    raw = await state.redis.get(f"{KEY_PREFIX}{film_id}")
    if raw is None:
        raise HTTPException(status_code=404, detail="film not found")
    return Film.model_validate_json(raw)
