-- Tell updates that other documents show apart from updates only the row's own
-- document shows. A film's title appears in its people's filmographies, a person's
-- name and a genre's name in their films; a new rating or a genre's description
-- does not. Op 'U' asks the ETL to rebuild the neighbours too, op 'u' only the row's
-- own document: editing the description of a genre with half the catalogue in it
-- no longer rewrites half the catalogue.

alter table content.etl_change drop constraint if exists etl_change_op_check;
alter table content.etl_change
    add constraint etl_change_op_check check (op in ('I', 'U', 'u', 'D', 'T'));

-- Arguments: the column that becomes entity_id, the column that becomes film_id (or
-- 'null'), and for entity tables the column their neighbours show (or 'null').
create or replace function content.etl_capture() returns trigger
language plpgsql as $$
declare
    head text := format(
        'insert into content.etl_change (entity, entity_id, film_id, op) select distinct %L, ',
        tg_table_name);
    shown text := coalesce(tg_argv[2], 'null');
    n bigint;
begin
    if tg_op = 'INSERT' then
        execute head || format('%I, %s::uuid, %L from new_rows', tg_argv[0], tg_argv[1], 'I');
    elsif tg_op = 'DELETE' then
        execute head || format('%I, %s::uuid, %L from old_rows', tg_argv[0], tg_argv[1], 'D');
    elsif shown = 'null' then
        -- Link rows: both the old and the new ends of a changed link.
        execute head || format('%I, %s::uuid, %L from ((table new_rows except table old_rows)'
                               ' union all (table old_rows except table new_rows)) as d',
                               tg_argv[0], tg_argv[1], 'U');
    else
        execute head || format(
            'd.id, null::uuid, case when d.shown_changed then %L else %L end from ('
            '  select n.id, o.id is null or o.%I is distinct from n.%I as shown_changed'
            '  from new_rows n left join old_rows o on o.id = n.id'
            '  where o.id is null or (n.*) is distinct from (o.*)'
            '  union all'
            '  select o.id, true from old_rows o'
            '  where not exists (select 1 from new_rows n where n.id = o.id)'
            ') as d',
            'U', 'u', shown, shown);
    end if;
    get diagnostics n = row_count;
    if n > 0 then
        perform pg_notify('content_etl_change', '');
    end if;
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
            when 'film_work' then '''id'', ''null'', ''title'''
            when 'genre' then '''id'', ''null'', ''name'''
            when 'person' then '''id'', ''null'', ''full_name'''
            when 'genre_film_work' then '''genre_id'', ''film_work_id'', ''null'''
            else '''person_id'', ''film_work_id'', ''null''' end;
        execute format('drop trigger if exists etl_capture_update on content.%I', t);
        execute format('create trigger etl_capture_update after update on content.%I '
                       'referencing old table as old_rows new table as new_rows '
                       'for each statement execute function content.etl_capture(%s)', t, args);
    end loop;
end;
$$;
