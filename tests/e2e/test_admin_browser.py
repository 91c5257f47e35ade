"""The admin panel in a real browser: Debian's headless Chromium driven by
Playwright (`executable_path`, nothing downloaded at run time).

1. An editor, created through the auth service, signs in at the public door
   (ENVOY_PORT /admin/), renames a film and adds an actor inline, saves; the
   public REST API shows both within 3 s (the ETL, the index and the caches in
   between). The film and the person are the test's own, deleted afterwards.
2. The film change list of a 100,000-film catalogue renders within 1 s: a panel
   process of the test's own over a generated catalogue (made once with the
   ETL's seeded generator, about 100 s, and reused while it holds 100,000 films).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.admin_panel import PASSWORD, Panel, content_database, start_panel
from tests.support.prereq import require
from tests.support.procs import ROOT, VENV_BIN, wait_until
from tests.support.stack import stack

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
EDGE = f"http://127.0.0.1:{stack().envoy_port}"
AUTH_PORT = int(os.environ.get("AUTH_GRPC_PORT", "50052"))
STACK_DIR = Path(os.environ.get("STACK_DIR", ROOT / ".stack"))
VISIBLE_WITHIN_S = 3.0
LIST_WITHIN_S = 1.0
LOADS = 5
BIG_CATALOGUE = "admin_test_films_100k"
BIG_FILMS = 100_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require(CHROMIUM.exists(), "needs Debian's chromium: `make tools` (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-US")
    yield context.new_page()
    context.close()


def ok(reply: httpx.Response) -> Any:
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.fixture(scope="module")
def editor() -> str:
    """An account with the role editor, made through the stack's auth service:
    registered at the edge, the role granted by an admin from `auth createsuperuser`."""
    tag = uuid.uuid4().hex[:10]
    chief, email = f"chief-{tag}@example.org", f"editor-{tag}@example.org"
    made = subprocess.run(
        [str(VENV_BIN / "auth"), "createsuperuser", "--email", chief, "--password", PASSWORD],
        env={
            **os.environ,
            "AUTH_KEY_ENCRYPTION_KEY": os.environ.get("AUTH_KEY_ENCRYPTION_KEY")
            or (STACK_DIR / "auth" / "key-encryption-key").read_text().strip(),
            "AUTH_POSTGRES_DSN": os.environ.get("AUTH_POSTGRES_DSN")
            or stack().pg_dsn("auth", user="auth", password="auth"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    with httpx.Client(base_url=EDGE, timeout=10) as edge:
        user = ok(edge.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}))
        token = ok(edge.post("/api/v1/auth/login", json={"email": chief, "password": PASSWORD}))
        ok(
            edge.post(
                f"/api/v1/users/{user['user_id']}/roles",
                json={"role": "editor"},
                headers={"authorization": f"Bearer {token['access_token']}"},
            )
        )
    return email


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


@pytest.fixture
def own_film() -> Iterator[tuple[str, str]]:
    """A film and a person of the test's own in the stack's catalogue, public
    before the test starts, deleted after it (the ETL removes them from the index)."""
    film_id, person_id = str(uuid.uuid4()), str(uuid.uuid4())
    tag = film_id[:8]
    dsn = stack().pg_dsn("movies")
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into content.film_work (id, title, type, rating) values (%s, %s, 'movie', 7)",
            (film_id, f"Browser test film {tag}"),
        )
        conn.execute(
            "insert into content.person (id, full_name) values (%s, %s)",
            (person_id, f"Zelda Browsertest {tag}"),
        )
    with httpx.Client(base_url=EDGE, timeout=10) as edge:
        wait_until(
            lambda: edge.get(f"/api/v1/films/{film_id}").status_code == 200,
            60,
            "the test's film in the public API",
        )
    try:
        yield film_id, f"Zelda Browsertest {tag}"
    finally:
        with psycopg.connect(dsn) as conn:
            conn.execute("delete from content.film_work where id = %s", (film_id,))
            conn.execute("delete from content.person where id = %s", (person_id,))


def test_an_editors_save_reaches_the_public_api_within_3s(
    page: Page, editor: str, own_film: tuple[str, str]
) -> None:
    film_id, actor = own_film
    sign_in(page, EDGE, editor)
    page.goto(f"{EDGE}/admin/catalog/filmwork/{film_id}/change/")
    new_title = f"Renamed in the browser {film_id[:8]}"
    page.fill("#id_title", new_title)
    page.click("#personfilmwork_set-group .add-row a")
    page.click("#personfilmwork_set-0 .select2-selection")
    page.fill(".select2-search__field", actor.split()[-1])
    page.click(f".select2-results__option:has-text('{actor}')")
    page.select_option("#id_personfilmwork_set-0-role", "actor")

    with httpx.Client(base_url=EDGE, timeout=5) as edge:
        page.click("input[name=_save]")
        saved = time.monotonic()
        page.wait_for_selector(".messagelist .success")

        def shows_the_edit() -> bool:
            film = edge.get(f"/api/v1/films/{film_id}").json()
            names = [a["full_name"] for a in film.get("actors", [])]
            return bool(film.get("title") == new_title and actor in names)

        wait_until(shows_the_edit, 30, "the edit in the public API")
        visible_after = time.monotonic() - saved
    print(f"\nsave → public API: {visible_after:.2f} s")
    assert visible_after < VISIBLE_WITHIN_S


@pytest.fixture(scope="module")
def big_panel() -> Iterator[Panel]:
    """A panel over a 100,000-film catalogue, signing in through the stack's auth service."""
    dsn = stack().pg_dsn(BIG_CATALOGUE)
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("select count(*) from content.film_work").fetchone()
        have = int(row[0]) if row else 0
    except psycopg.Error:
        have = -1
    if have == BIG_FILMS:
        content_database(BIG_CATALOGUE, fresh=False)  # up to the newest migration
    else:
        content_database(BIG_CATALOGUE)
        subprocess.run(
            [str(VENV_BIN / "etl"), "generate", "--films", str(BIG_FILMS), "--chunk", "5000"],
            env={**os.environ, "POSTGRES_DSN": dsn},
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=900,
        )
    yield from start_panel("big", dsn, AUTH_PORT, ADMIN_WORKERS="2")


@pytest.mark.timeout(1200)
def test_the_change_list_of_100k_films_renders_within_1s(
    page: Page, editor: str, big_panel: Panel
) -> None:
    sign_in(page, big_panel.url, editor)
    url = f"{big_panel.url}/admin/catalog/filmwork/"
    page.goto(url)  # warm: the worker's first list, the planner's statistics
    times = []
    for _ in range(LOADS):
        started = time.monotonic()
        page.goto(url, wait_until="load")
        times.append(time.monotonic() - started)
    assert page.locator("#result_list tbody tr").count() == 50
    print(
        f"\nchange list, {BIG_FILMS} films: best {min(times):.3f} s,"
        f" median {statistics.median(times):.3f} s of {LOADS} loads"
    )
    # The best of several loads: what the panel needs; the machine's other work
    # (a 2-core CI box running the suite) only ever adds to it.
    assert min(times) < LIST_WITHIN_S
