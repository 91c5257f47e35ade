-- A rotated key is published in the JWKS before it signs: it signs from
-- active_from on, once every cache of the key set (the edge's above all) has had
-- time to fetch it. Existing keys were active from their creation.
alter table auth.signing_keys add column active_from timestamptz;
update auth.signing_keys set active_from = created_at;
alter table auth.signing_keys
    alter column active_from set not null,
    alter column active_from set default now();
