"""The catalogue as editors see it: films, genres, people and their links."""
