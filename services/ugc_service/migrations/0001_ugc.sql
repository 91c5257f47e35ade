-- Ratings, reviews with votes, and bookmarks. Everything lives in schema `ugc`
-- of database `ugc`; the service applies this at start-up. Films and users are
-- ids only: the catalogue belongs to the content API, accounts to the auth
-- service, so there are no foreign keys to them.

-- One score per user and film. The primary key serves "this user's score of
-- this film" and the film's rows for the rebuild check; ratings_by_user serves
-- a user's own list (and erasing an account).
create table ugc.ratings (
    film_id uuid not null,
    user_id uuid not null,
    score smallint not null check (score between 0 and 10),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (film_id, user_id)
);
create index ratings_by_user on ugc.ratings (user_id, film_id);

-- The rating summary of a film, changed in the same transaction as the rating
-- row that moves it, so it never drifts. A film's summary is the sum of its
-- rows: `shard` (0 unless UGC_RATING_SHARDS > 1) spreads one popular film's
-- writes over several rows so they do not all queue on one row lock. Shard rows
-- are deltas, so a single row may hold negative counts; their sum may not.
create table ugc.film_ratings (
    film_id uuid not null,
    shard smallint not null default 0 check (shard >= 0),
    score_sum bigint not null default 0,
    score_count bigint not null default 0,
    -- how many ratings of each score, 0 to 10
    d0 bigint not null default 0,
    d1 bigint not null default 0,
    d2 bigint not null default 0,
    d3 bigint not null default 0,
    d4 bigint not null default 0,
    d5 bigint not null default 0,
    d6 bigint not null default 0,
    d7 bigint not null default 0,
    d8 bigint not null default 0,
    d9 bigint not null default 0,
    d10 bigint not null default 0,
    primary key (film_id, shard)
);

-- The lower bound of the Wilson score interval (95%, z = 1.96) of `up`
-- positive votes out of `up + down`: a review with 9 of 10 helpful votes ranks
-- below one with 90 of 100. Immutable, so reviews.helpfulness can be a stored
-- generated column that moves with the vote counters and never drifts.
create function ugc.wilson_lower_bound(up integer, down integer) returns double precision
language sql immutable strict parallel safe as $$
    select case when up + down = 0 then 0::double precision else
        ((up::double precision / (up + down)) + 1.9208 / (up + down)
         - 1.96 * sqrt(up::double precision * down / (up + down) + 0.9604) / (up + down))
        / (1 + 3.8416 / (up + down))
    end
$$;

-- One review per user and film. Votes are counted here in the same
-- transaction as the review_votes row that changes them.
create table ugc.reviews (
    id uuid primary key,
    film_id uuid not null,
    user_id uuid not null,
    body text not null check (char_length(body) between 1 and 5000),
    score smallint check (score between 0 and 10),
    spoiler boolean not null default false,
    created_at timestamptz not null default now(),
    edited_at timestamptz,
    votes_up integer not null default 0 check (votes_up >= 0),
    votes_down integer not null default 0 check (votes_down >= 0),
    helpfulness double precision not null
        generated always as (ugc.wilson_lower_bound(votes_up, votes_down)) stored,
    unique (film_id, user_id)
);
-- Keyset pages of a film's reviews: newest first, and most helpful first; the
-- id breaks ties so a page boundary is exact.
create index reviews_newest on ugc.reviews (film_id, created_at desc, id desc);
create index reviews_helpful on ugc.reviews (film_id, helpfulness desc, id desc);
create index reviews_by_user on ugc.reviews (user_id);

-- One vote per user and review: +1 helpful, -1 not helpful.
create table ugc.review_votes (
    review_id uuid not null references ugc.reviews (id) on delete cascade,
    user_id uuid not null,
    value smallint not null check (value in (-1, 1)),
    created_at timestamptz not null default now(),
    primary key (review_id, user_id)
);
create index review_votes_by_user on ugc.review_votes (user_id);

-- A user's watch list, newest first.
create table ugc.bookmarks (
    user_id uuid not null,
    film_id uuid not null,
    created_at timestamptz not null default now(),
    primary key (user_id, film_id)
);
create index bookmarks_newest on ugc.bookmarks (user_id, created_at desc, film_id desc);
