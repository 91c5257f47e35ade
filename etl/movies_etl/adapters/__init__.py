"""Adapters: PostgreSQL, Elasticsearch and Redis behind small interfaces."""
