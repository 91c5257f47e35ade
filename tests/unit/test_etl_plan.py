"""Which documents a batch of queued changes makes stale."""

from __future__ import annotations

import datetime as dt
from uuid import UUID, uuid4

from movies_etl.domain import Change, chunks, plan_changes

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def change(entity: str, op: str, entity_id: UUID | None, film_id: UUID | None = None) -> Change:
    return Change.from_row(1, entity, entity_id, film_id, op, NOW)


def test_renamed_person_reaches_their_films() -> None:
    person = uuid4()

    plan = plan_changes([change("person", "U", person)])

    assert plan.persons == {person}
    assert plan.films_of_persons == {person}
    assert not plan.rebuild


def test_update_neighbours_do_not_show_does_not_fan_out() -> None:
    genre, film = uuid4(), uuid4()

    plan = plan_changes([change("genre", "u", genre), change("film_work", "u", film)])

    assert plan.genres == {genre}
    assert plan.films == {film}
    assert plan.films_of_genres == plan.persons_of_films == set()


def test_inserted_person_does_not_fan_out() -> None:
    person = uuid4()

    plan = plan_changes([change("person", "I", person)])

    assert plan.persons == {person}
    assert plan.films_of_persons == set()


def test_renamed_genre_reaches_its_films_and_itself() -> None:
    genre = uuid4()

    plan = plan_changes([change("genre", "U", genre)])

    assert plan.genres == {genre}
    assert plan.films_of_genres == {genre}


def test_updated_film_reaches_its_people() -> None:
    film = uuid4()

    plan = plan_changes([change("film_work", "U", film)])

    assert plan.films == {film}
    assert plan.persons_of_films == {film}


def test_link_changes_touch_both_ends() -> None:
    film_a, film_b, genre, person = uuid4(), uuid4(), uuid4(), uuid4()

    plan = plan_changes(
        [
            change("genre_film_work", "U", genre, film_a),
            change("genre_film_work", "U", genre, film_b),
            change("person_film_work", "D", person, film_a),
        ]
    )

    assert plan.films == {film_a, film_b}
    assert plan.genres == {genre}
    assert plan.persons == {person}


def test_truncate_or_unknown_rows_ask_for_a_rebuild() -> None:
    assert plan_changes([change("truncate", "T", None)]).rebuild
    assert plan_changes([change("something_new", "I", uuid4())]).rebuild


def test_chunks_are_sorted_and_bounded() -> None:
    ids = {uuid4() for _ in range(7)}

    parts = list(chunks(ids, 3))

    assert [len(p) for p in parts] == [3, 3, 1]
    assert [i for p in parts for i in p] == sorted(ids)
