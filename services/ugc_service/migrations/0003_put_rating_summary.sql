-- A rating write and the film's summary after it in one statement: the service
-- then sends one query per write, with no pipeline (which cost more of the
-- service's CPU than the second statement saved).
create function ugc.put_rating_summary(
    p_film uuid, p_user uuid, p_score smallint, p_shard smallint
) returns table (
    total bigint, n bigint,
    c0 bigint, c1 bigint, c2 bigint, c3 bigint, c4 bigint, c5 bigint,
    c6 bigint, c7 bigint, c8 bigint, c9 bigint, c10 bigint
)
language plpgsql as $$
begin
    perform ugc.put_rating(p_film, p_user, p_score, p_shard);
    return query
        select coalesce(sum(f.score_sum), 0)::bigint, coalesce(sum(f.score_count), 0)::bigint,
               coalesce(sum(f.d0), 0)::bigint, coalesce(sum(f.d1), 0)::bigint,
               coalesce(sum(f.d2), 0)::bigint, coalesce(sum(f.d3), 0)::bigint,
               coalesce(sum(f.d4), 0)::bigint, coalesce(sum(f.d5), 0)::bigint,
               coalesce(sum(f.d6), 0)::bigint, coalesce(sum(f.d7), 0)::bigint,
               coalesce(sum(f.d8), 0)::bigint, coalesce(sum(f.d9), 0)::bigint,
               coalesce(sum(f.d10), 0)::bigint
        from ugc.film_ratings f where f.film_id = p_film;
end
$$;
