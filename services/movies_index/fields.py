"""Field paths queries filter and sort on; `indices` maps each of them.

Multi-fields: `<field>.raw` is a lowercased keyword for case-insensitive sorting,
`<field>.ru` the same text analysed as Russian.
"""

from __future__ import annotations

from typing import Final

from movies_index.documents import ROLE_LISTS, Role

RAW: Final = "raw"
RUSSIAN: Final = "ru"

ID: Final = "id"

# movies
TITLE: Final = "title"
TITLE_RU: Final = f"{TITLE}.{RUSSIAN}"
TITLE_SORT: Final = f"{TITLE}.{RAW}"
DESCRIPTION: Final = "description"
DESCRIPTION_RU: Final = f"{DESCRIPTION}.{RUSSIAN}"
RATING: Final = "imdb_rating"
GENRE_ID: Final = "genres.id"
# What lists and searches of films return (the `FilmSummary` keys).
FILM_SUMMARY: Final = (ID, TITLE, RATING)


def person_id(role: Role) -> str:
    """The path of the ids of a film's people in `role`."""
    return f"{ROLE_LISTS[role]}.{ID}"


# genres
NAME_SORT: Final = f"name.{RAW}"

# persons
FULL_NAME: Final = "full_name"
FULL_NAME_SORT: Final = f"{FULL_NAME}.{RAW}"
