"""The synthetic catalogue: deterministic, and shaped like a real one."""

from __future__ import annotations

from collections import Counter

from movies_etl.generator import GENRES, CatalogGenerator


def _all(films: int, seed: int) -> tuple[list[object], list[object], list[object]]:
    gen = CatalogGenerator(films, seed)
    f: list[object] = []
    g: list[object] = []
    p: list[object] = []
    for films_, glinks, plinks in gen.chunks(300):
        f += films_
        g += glinks
        p += plinks
    return f, g, p


def test_same_seed_same_catalogue_different_seed_different_one() -> None:
    assert _all(500, 7) == _all(500, 7)
    assert _all(500, 7)[0] != _all(500, 8)[0]


def test_shape_is_realistic() -> None:
    gen = CatalogGenerator(20_000, 1)
    films, glinks, plinks = [], [], []
    for f, g, p in gen.chunks(5000):
        films += f
        glinks += g
        plinks += p

    assert len(films) == 20_000
    assert len({f.id for f in films}) == 20_000
    assert len(gen.genres) == len(GENRES) == 26
    per_film = Counter(link.film_work_id for link in glinks)
    assert set(per_film.values()) <= {1, 2, 3, 4}
    assert len(per_film) == 20_000
    roles = Counter(link.role for link in plinks)
    assert roles["actor"] > roles["writer"] > 0
    assert roles["director"] > 0
    appearances = Counter(link.person_id for link in plinks)
    # A few people in hundreds of films (not thousands), most in a few.
    assert 100 <= max(appearances.values()) <= 1000
    assert sorted(appearances.values())[len(appearances) // 2] <= 10
    assert len({(p.film_work_id, p.person_id, p.role) for p in plinks}) == len(plinks)
    assert all(f.rating is None or 1.0 <= f.rating <= 10.0 for f in films)
    assert any(f.description is None for f in films)
