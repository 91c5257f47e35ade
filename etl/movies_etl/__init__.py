"""ETL that keeps the Elasticsearch read model equal to the PostgreSQL catalogue."""
