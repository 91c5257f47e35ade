-- apply_rating_delta again, in PL/pgSQL with the same body. A SQL-language
-- function that is not inlined (an INSERT ... ON CONFLICT never is) parses and
-- plans its statement on every call; PL/pgSQL keeps the plan for the session.
-- Measured on one connection, 10k films: PostgreSQL's CPU per put_rating_summary
-- call went from 0.55-0.61 ms to 0.25-0.28 ms.
create or replace function ugc.apply_rating_delta(
    p_film uuid, p_shard smallint, p_new smallint, p_old smallint
) returns void
language plpgsql as $$
begin
    insert into ugc.film_ratings as f
        (film_id, shard, score_sum, score_count, d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10)
    values (
        p_film, p_shard,
        coalesce(p_new, 0) - coalesce(p_old, 0),
        (p_new is not null)::int - (p_old is not null)::int,
        coalesce(p_new = 0, false)::int - coalesce(p_old = 0, false)::int,
        coalesce(p_new = 1, false)::int - coalesce(p_old = 1, false)::int,
        coalesce(p_new = 2, false)::int - coalesce(p_old = 2, false)::int,
        coalesce(p_new = 3, false)::int - coalesce(p_old = 3, false)::int,
        coalesce(p_new = 4, false)::int - coalesce(p_old = 4, false)::int,
        coalesce(p_new = 5, false)::int - coalesce(p_old = 5, false)::int,
        coalesce(p_new = 6, false)::int - coalesce(p_old = 6, false)::int,
        coalesce(p_new = 7, false)::int - coalesce(p_old = 7, false)::int,
        coalesce(p_new = 8, false)::int - coalesce(p_old = 8, false)::int,
        coalesce(p_new = 9, false)::int - coalesce(p_old = 9, false)::int,
        coalesce(p_new = 10, false)::int - coalesce(p_old = 10, false)::int
    )
    on conflict (film_id, shard) do update set
        score_sum = f.score_sum + excluded.score_sum,
        score_count = f.score_count + excluded.score_count,
        d0 = f.d0 + excluded.d0, d1 = f.d1 + excluded.d1, d2 = f.d2 + excluded.d2,
        d3 = f.d3 + excluded.d3, d4 = f.d4 + excluded.d4, d5 = f.d5 + excluded.d5,
        d6 = f.d6 + excluded.d6, d7 = f.d7 + excluded.d7, d8 = f.d8 + excluded.d8,
        d9 = f.d9 + excluded.d9, d10 = f.d10 + excluded.d10;
end
$$;
