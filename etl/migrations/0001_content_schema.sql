-- The catalogue editors write: films, genres, people and the links between them.
-- Link rows go with their film, genre or person: deleting either end deletes the link.

create schema if not exists content;

create table if not exists content.film_work (
    id uuid primary key,
    title text not null,
    description text,
    creation_date date,
    rating double precision,
    type text,
    created timestamptz not null default now(),
    modified timestamptz not null default now()
);

create table if not exists content.genre (
    id uuid primary key,
    name text not null unique,
    description text,
    created timestamptz not null default now(),
    modified timestamptz not null default now()
);

create table if not exists content.person (
    id uuid primary key,
    full_name text not null,
    created timestamptz not null default now(),
    modified timestamptz not null default now()
);

create table if not exists content.genre_film_work (
    id uuid primary key,
    genre_id uuid not null references content.genre (id) on delete cascade,
    film_work_id uuid not null references content.film_work (id) on delete cascade,
    created timestamptz not null default now(),
    constraint genre_film_work_film_genre_key unique (film_work_id, genre_id)
);

create table if not exists content.person_film_work (
    id uuid primary key,
    person_id uuid not null references content.person (id) on delete cascade,
    film_work_id uuid not null references content.film_work (id) on delete cascade,
    role text not null check (role in ('actor', 'writer', 'director')),
    created timestamptz not null default now(),
    constraint person_film_work_film_person_role_key unique (film_work_id, person_id, role)
);

-- The unique constraints above serve "links of a film"; these serve the reverse
-- direction the ETL needs: a person's films and a genre's films.
create index if not exists person_film_work_person_idx on content.person_film_work (person_id);
create index if not exists genre_film_work_genre_idx on content.genre_film_work (genre_id);
