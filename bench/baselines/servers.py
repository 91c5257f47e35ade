"""Starts the two baselines on free ports, in the bench's own process tree."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

import orjson
import redis

from bench.common import LOG_DIR, REDIS_URL, ROOT, VENV_BIN, Proc, free_port, http_ok, wait_until

FILM_KEY_PREFIX = "bench:fastapi:film:"
ENVOY_CONCURRENCY = 2  # as the edge under test

DIRECT_RESPONSE_YAML = """\
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: {admin} }} }}
static_resources:
  listeners:
    - name: direct
      address: {{ socket_address: {{ address: 127.0.0.1, port_value: {port} }} }}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: direct
                codec_type: AUTO
                route_config:
                  virtual_hosts:
                    - name: direct
                      domains: ["*"]
                      routes:
                        - match: {{ prefix: "/" }}
                          direct_response:
                            status: 200
                            body: {{ filename: "{body}" }}
                          response_headers_to_add:
                            - header: {{ key: content-type, value: application/json }}
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
"""


class DirectResponse:
    """Envoy answering every request itself with one film's JSON: the edge's ceiling."""

    def __init__(self, film_json: bytes) -> None:
        self.port = free_port()
        self.admin = free_port()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        body = LOG_DIR / "direct-response-film.json"
        body.write_bytes(film_json)
        self.config = LOG_DIR / "envoy-direct-response.yaml"
        self.config.write_text(
            DIRECT_RESPONSE_YAML.format(admin=self.admin, port=self.port, body=body)
        )
        self.proc = Proc(
            "envoy-direct-response",
            [
                str(VENV_BIN / "python"),
                str(ROOT / "envoy" / "launch.py"),
                "--config",
                str(self.config),
                "--concurrency",
                str(ENVOY_CONCURRENCY),
            ],
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DirectResponse:
        self.proc.start()
        wait_until(
            lambda: http_ok(f"http://127.0.0.1:{self.admin}/ready"), 30, "direct_response envoy"
        )
        return self

    def stop(self) -> None:
        self.proc.stop()


def fastapi_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("fastapi", "uvicorn"))


class FastApiBaseline:
    """`bench/baselines/fastapi_app.py` under uvicorn: one worker, uvloop, httptools."""

    def __init__(self, films: Mapping[str, bytes]) -> None:
        self.port = free_port()
        self._redis = redis.Redis.from_url(REDIS_URL)
        self._films = dict(films)
        self.proc = Proc(
            "fastapi-baseline",
            [
                str(VENV_BIN / "python"),
                "-m",
                "uvicorn",
                "bench.baselines.fastapi_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            {"BENCH_REDIS_URL": REDIS_URL, "BENCH_FILM_KEY_PREFIX": FILM_KEY_PREFIX},
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FastApiBaseline:
        if not fastapi_available():
            raise RuntimeError(
                "the FastAPI baseline needs fastapi and uvicorn[standard] (dev group)"
            )
        # The same films, as the JSON the usual implementation would have cached.
        with self._redis.pipeline() as pipe:
            for film_id, body in self._films.items():
                pipe.set(f"{FILM_KEY_PREFIX}{film_id}", body, ex=3600)
            pipe.execute()
        self.proc.start()
        some = next(iter(self._films))
        wait_until(lambda: http_ok(f"{self.url}/api/v1/films/{some}"), 30, "fastapi baseline")
        return self

    def stop(self) -> None:
        self.proc.stop()
        if self._films:
            self._redis.delete(*(f"{FILM_KEY_PREFIX}{i}" for i in self._films))
        self._redis.close()


def film_json(body: bytes) -> bytes:
    """Normalizes a film as the REST API returned it (compact, same field order)."""
    return orjson.dumps(orjson.loads(body))
