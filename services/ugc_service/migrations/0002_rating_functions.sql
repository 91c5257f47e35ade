-- Rating writes as one round trip each: the row, then the film's summary row, in
-- the function's transaction. The summary row's lock (the one every rater of a
-- popular film queues on) is then held for one statement and the commit, not for
-- the client's round trips in between.

-- Adds to a film's summary (its `shard` row) what replacing score `old` with
-- `new` changes; null is "no rating" on either side.
create function ugc.apply_rating_delta(
    p_film uuid, p_shard smallint, p_new smallint, p_old smallint
) returns void
language sql as $$
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
        d9 = f.d9 + excluded.d9, d10 = f.d10 + excluded.d10
$$;

-- Sets a user's score of a film; returns the score it replaced (null if none).
-- The same score again changes nothing. A concurrent first rating of the same
-- pair makes the insert do nothing; the loop then locks the row it wrote.
create function ugc.put_rating(p_film uuid, p_user uuid, p_score smallint, p_shard smallint)
returns smallint
language plpgsql as $$
declare
    old smallint;
begin
    loop
        insert into ugc.ratings (film_id, user_id, score) values (p_film, p_user, p_score)
            on conflict (film_id, user_id) do nothing;
        if found then
            perform ugc.apply_rating_delta(p_film, p_shard, p_score, null);
            return null;
        end if;
        select score into old from ugc.ratings
            where film_id = p_film and user_id = p_user for update;
        exit when found;
    end loop;
    if old <> p_score then
        update ugc.ratings set score = p_score, updated_at = now()
            where film_id = p_film and user_id = p_user;
        perform ugc.apply_rating_delta(p_film, p_shard, p_score, old);
    end if;
    return old;
end
$$;

-- Removes a user's score of a film; returns it (null if there was none).
create function ugc.delete_rating(p_film uuid, p_user uuid, p_shard smallint)
returns smallint
language plpgsql as $$
declare
    old smallint;
begin
    delete from ugc.ratings where film_id = p_film and user_id = p_user returning score into old;
    if found then
        perform ugc.apply_rating_delta(p_film, p_shard, null, old);
    end if;
    return old;
end
$$;
