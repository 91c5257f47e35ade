"""The editors' admin panel: Django's admin over the catalogue in PostgreSQL
(schema `content`, owned by etl/migrations), signed in through the auth service."""
