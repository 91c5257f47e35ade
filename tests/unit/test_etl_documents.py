"""The list order of documents where SQL's lowercasing and Python's case folding differ.

The documents themselves are built by SQL: `tests/integration/test_etl_documents.py`.
"""

from __future__ import annotations

import orjson

import movies_index as indices
from movies_etl.documents import in_python_order, sort_key

A = "00000000-0000-0000-0000-00000000000a"
B = "00000000-0000-0000-0000-00000000000b"
C = "00000000-0000-0000-0000-00000000000c"


def test_order_ignores_case_then_compares_exactly_then_by_id() -> None:
    names = [("anna", B), ("Bob", C), ("Anna", A), ("anna", A)]

    ordered = sorted(names, key=lambda item: sort_key(*item))

    assert ordered == [("Anna", A), ("anna", A), ("anna", B), ("Bob", C)]


def test_ascii_and_cyrillic_documents_are_passed_through_untouched() -> None:
    for source in ('{"id":"x","films":[{"id":"b","title":"B"}]}', '{"id":"x","title":"Тихий дом"}'):
        assert in_python_order(indices.PERSONS, source) is source


def test_a_document_with_sharp_s_is_resorted_by_case_folding() -> None:
    # SQL lowercasing puts "Straße" after "Strasze" (ß > z); case folding reads "strasse".
    films = [
        {"id": A, "title": "Strasse", "roles": ["actor"]},
        {"id": C, "title": "Strasze", "roles": ["actor"]},
        {"id": B, "title": "Straße", "roles": ["writer"]},
    ]
    source = orjson.dumps({"id": "p", "full_name": "Weiß", "films": films}).decode()

    resorted = orjson.loads(in_python_order(indices.PERSONS, source))

    assert [f["title"] for f in resorted["films"]] == ["Strasse", "Straße", "Strasze"]
    assert resorted["films"][1] == {"id": B, "title": "Straße", "roles": ["writer"]}
    assert resorted["full_name"] == "Weiß"


def test_every_list_of_a_film_is_resorted() -> None:
    people = [
        {"id": C, "full_name": "Ｚ"},
        {"id": A, "full_name": "ß"},
        {"id": B, "full_name": "sz"},
    ]
    doc = {"id": "f", "title": "T", "genres": [], "actors": people, "writers": people[::-1]}
    source = orjson.dumps({**doc, "directors": []}).decode()

    resorted = orjson.loads(in_python_order(indices.MOVIES, source))

    assert [p["id"] for p in resorted["actors"]] == [A, B, C]
    assert [p["id"] for p in resorted["writers"]] == [A, B, C]
