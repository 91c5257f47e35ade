-- Many rating writes in one transaction, and the summary of each film they
-- touched, after them (one row per film: a popular film's writes share it).
-- The service sends the writes that arrive while earlier ones are in flight as
-- one call (adapters/batching.py, Batcher): one round trip, one commit and one
-- WAL flush for the lot, where each write alone paid all three.
--
-- Locks are taken in two phases, each in the order of the arrays (the service
-- sorts a batch by film, shard, user): every rating row first, then every
-- summary row. Two batches, or a batch and a single write (rating row, then
-- summary row), therefore never wait on each other in a cycle.
--
-- A (film, user) pair may come twice: the later score wins, and each write's
-- delta is applied, so the summary matches the rows.
create function ugc.put_ratings_summary(
    p_films uuid[], p_users uuid[], p_scores smallint[], p_shards smallint[]
) returns table (
    rated_film uuid, total bigint, n bigint,
    c0 bigint, c1 bigint, c2 bigint, c3 bigint, c4 bigint, c5 bigint,
    c6 bigint, c7 bigint, c8 bigint, c9 bigint, c10 bigint
)
language plpgsql as $$
declare
    items int := coalesce(array_length(p_films, 1), 0);
    -- Per write: whether it changed a row, and the score it replaced.
    changed boolean[] := array_fill(false, array[items]);
    replaced smallint[] := array_fill(null::smallint, array[items]);
    previous smallint;
    film uuid;
begin
    for j in 1 .. items loop
        loop
            insert into ugc.ratings (film_id, user_id, score)
                values (p_films[j], p_users[j], p_scores[j])
                on conflict (film_id, user_id) do nothing;
            if found then
                changed[j] := true;
                exit;
            end if;
            select r.score into previous from ugc.ratings r
                where r.film_id = p_films[j] and r.user_id = p_users[j] for update;
            if found then
                if previous <> p_scores[j] then
                    update ugc.ratings set score = p_scores[j], updated_at = now()
                        where film_id = p_films[j] and user_id = p_users[j];
                    changed[j] := true;
                    replaced[j] := previous;
                end if;
                exit;
            end if;
        end loop;
    end loop;
    for j in 1 .. items loop
        if changed[j] then
            perform ugc.apply_rating_delta(p_films[j], p_shards[j], p_scores[j], replaced[j]);
        end if;
    end loop;
    -- One index lookup per film: a join on the array is planned without knowing
    -- it, and PL/pgSQL's generic plan then scans every film's summary.
    for film in select distinct u.f from unnest(p_films) as u(f) loop
        return query
            select film,
                   coalesce(sum(f.score_sum), 0)::bigint, coalesce(sum(f.score_count), 0)::bigint,
                   coalesce(sum(f.d0), 0)::bigint, coalesce(sum(f.d1), 0)::bigint,
                   coalesce(sum(f.d2), 0)::bigint, coalesce(sum(f.d3), 0)::bigint,
                   coalesce(sum(f.d4), 0)::bigint, coalesce(sum(f.d5), 0)::bigint,
                   coalesce(sum(f.d6), 0)::bigint, coalesce(sum(f.d7), 0)::bigint,
                   coalesce(sum(f.d8), 0)::bigint, coalesce(sum(f.d9), 0)::bigint,
                   coalesce(sum(f.d10), 0)::bigint
            from ugc.film_ratings f where f.film_id = film;
    end loop;
end
$$;

-- ugc.put_rating_summary (0003) stays: a replica of the previous version, still
-- serving during a rolling upgrade, calls it.
