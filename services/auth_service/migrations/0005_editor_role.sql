-- The admin panel lets in the roles `editor` (edits the catalogue) and `admin`
-- (everything): `editor` exists from the start, so granting it needs no setup.
insert into auth.roles (name, description, builtin)
values ('editor', 'Edits films, genres and people in the admin panel.', true)
on conflict (name) do nothing;
