"""The admin panel's test harness: a catalogue database migrated by the ETL's
own migrations, a panel process (the same `python -m admin_panel.serve` the
stack runs) on a free port, and an HTTP session that signs in and submits the
admin's forms as a browser would (CSRF token, Referer)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from tests.support.procs import ROOT, VENV_BIN, Proc, free_port, http_ok, wait_until
from tests.support.stack import stack

SECRET_KEY = "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG"
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def content_database(name: str, *, fresh: bool = True) -> str:
    """A database with schema `content` as etl/migrations makes it; its DSN."""
    if fresh:
        with psycopg.connect(stack().admin_dsn, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
            conn.execute(f'create database "{name}" owner movies')
    dsn = stack().pg_dsn(name)
    subprocess.run(
        [str(VENV_BIN / "etl"), "migrate"],
        env={**os.environ, "POSTGRES_DSN": dsn},
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dsn


def drop_database(name: str) -> None:
    with psycopg.connect(stack().admin_dsn, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@dataclass
class Panel:
    proc: Proc
    port: int
    dsn: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`python -m admin_panel ...` with this panel's settings (and `env` on top)."""
        return subprocess.run(
            [str(VENV_BIN / "python"), "-m", "admin_panel", *args],
            env={**os.environ, **self.env, **env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []


def start_panel(name: str, dsn: str, auth_port: int, **overrides: str) -> Iterator[Panel]:
    port = free_port()
    env = {
        "ADMIN_SECRET_KEY": SECRET_KEY,
        "ADMIN_PORT": str(port),
        "ADMIN_WORKERS": "1",
        "ADMIN_THREADS": "4",
        "ADMIN_STATIC_ROOT": f".stack/tests/admin-{name}/static",
        "POSTGRES_DSN": dsn,
        "AUTH_GRPC_PORT": str(auth_port),
        "LANGUAGE_CODE": "en",
        **overrides,
    }
    proc = Proc(f"admin-panel-{name}", [str(VENV_BIN / "python"), "-m", "admin_panel.serve"], env)
    proc.start()
    panel = Panel(proc, port, dsn, env)
    try:
        wait_until(
            lambda: proc.alive() and http_ok(f"{panel.url}/admin/login/"),
            120,
            f"admin panel {name} (log: {proc.log_path})",
        )
        yield panel
    finally:
        proc.stop()


@dataclass
class Browser:
    """An HTTP client with a cookie jar that fills in the admin's forms."""

    base: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def close(self) -> None:
        self.client.close()

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def csrf(self, path: str) -> str:
        page = self.client.get(path)
        found = _CSRF.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code}"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], form_page: str = "") -> httpx.Response:
        """Submits `data` to `path` with the CSRF token of `form_page` (default: `path`)."""
        token = self.csrf(form_page or path)
        return self.client.post(
            path,
            data={"csrfmiddlewaretoken": token, **data},
            headers={"Referer": f"{self.base}{path}"},
        )

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.post(
            "/admin/login/?next=/admin/",
            {"username": email, "password": password, "next": "/admin/"},
        )


def errors(page: httpx.Response) -> list[str]:
    """The messages of the admin's error lists and error notes, whitespace squeezed."""
    found = re.findall(
        r'<(?:ul class="errorlist[^"]*"[^>]*>\s*<li>|p class="errornote">)(.*?)</', page.text, re.S
    )
    return [" ".join(m.split()) for m in found]
