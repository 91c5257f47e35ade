-- Change capture for the ETL: every committed change to the catalogue leaves rows in
-- content.etl_change, written by triggers in the same transaction as the change.
-- The queue is not a high-water mark: a transaction that commits late simply makes
-- its rows visible late, and the ETL deletes a row only after Elasticsearch
-- acknowledged the documents it implies, so no committed change can be skipped.

create table if not exists content.etl_change (
    seq bigserial primary key,
    -- The table that changed; 'truncate' asks for a full rebuild.
    entity text not null check (
        entity in ('film_work', 'genre', 'person', 'genre_film_work', 'person_film_work', 'truncate')
    ),
    -- The row's id; for a link row, the genre or person end of the link.
    entity_id uuid,
    -- For a link row, the film end of the link.
    film_id uuid,
    op char(1) not null check (op in ('I', 'U', 'D', 'T')),
    -- The writing transaction, so a full rebuild can drop exactly the rows its
    -- snapshot already reflects (pg_visible_in_snapshot).
    xid xid8 not null default pg_current_xact_id(),
    changed_at timestamptz not null default now()
);

-- What the ETL did last, for `etl status`; written only after Elasticsearch acknowledged.
create table if not exists content.etl_state (
    key text primary key,
    value jsonb not null,
    updated_at timestamptz not null default now()
);

-- Statement-level triggers with transition tables: one INSERT ... SELECT per
-- statement instead of one per row, which keeps COPY-sized loads fast. A row whose
-- UPDATE changed nothing yields no queue row; a relinked row yields both its old
-- and its new ends. Arguments: the column that becomes entity_id, and the column
-- that becomes film_id (or 'null').
create or replace function content.etl_capture() returns trigger
language plpgsql as $$
declare
    target text := format(
        'insert into content.etl_change (entity, entity_id, film_id, op) '
        'select distinct %L, %I, %s::uuid, %L from ',
        tg_table_name, tg_argv[0], tg_argv[1], left(tg_op, 1));
    n bigint;
begin
    if tg_op = 'INSERT' then
        execute target || 'new_rows';
    elsif tg_op = 'DELETE' then
        execute target || 'old_rows';
    else
        execute target || '((table new_rows except table old_rows) union all '
                       || '(table old_rows except table new_rows)) as d';
    end if;
    get diagnostics n = row_count;
    if n > 0 then
        perform pg_notify('content_etl_change', '');
    end if;
    return null;
end;
$$;

create or replace function content.etl_capture_truncate() returns trigger
language plpgsql as $$
begin
    insert into content.etl_change (entity, op) values ('truncate', 'T');
    perform pg_notify('content_etl_change', '');
    return null;
end;
$$;

do $$
declare
    t text;
    args text;
begin
    foreach t in array array['film_work', 'genre', 'person', 'genre_film_work', 'person_film_work'] loop
        args := case t
            when 'genre_film_work' then '''genre_id'', ''film_work_id'''
            when 'person_film_work' then '''person_id'', ''film_work_id'''
            else '''id'', ''null''' end;
        execute format('drop trigger if exists etl_capture_insert on content.%I', t);
        execute format('drop trigger if exists etl_capture_update on content.%I', t);
        execute format('drop trigger if exists etl_capture_delete on content.%I', t);
        execute format('drop trigger if exists etl_capture_truncate on content.%I', t);
        execute format('create trigger etl_capture_insert after insert on content.%I '
                       'referencing new table as new_rows '
                       'for each statement execute function content.etl_capture(%s)', t, args);
        execute format('create trigger etl_capture_update after update on content.%I '
                       'referencing old table as old_rows new table as new_rows '
                       'for each statement execute function content.etl_capture(%s)', t, args);
        execute format('create trigger etl_capture_delete after delete on content.%I '
                       'referencing old table as old_rows '
                       'for each statement execute function content.etl_capture(%s)', t, args);
        execute format('create trigger etl_capture_truncate after truncate on content.%I '
                       'for each statement execute function content.etl_capture_truncate()', t);
    end loop;
end;
$$;
