-- One round trip per refresh: lock the token and its session, classify the
-- attempt, and on success spend the token, store its successor, extend the
-- session, record the history row and return the roles for the new access
-- token. Row locks make two exchanges of one token serial: the second finds
-- it spent (a reuse).

create function auth.rotate_refresh_token(
    p_old bytea, p_new bytea, p_ttl_seconds integer, p_ip text, p_user_agent text
)
returns table (r_outcome text, r_session_id uuid, r_user_id uuid, r_roles text[])
language plpgsql
as $$
declare
    t record;
begin
    select rt.session_id as sid, s.user_id as uid,
           rt.used_at is not null as used,
           rt.expires_at <= now() or s.expires_at <= now() as expired,
           s.revoked_at is not null as revoked
      into t
      from auth.refresh_tokens rt
      join auth.sessions s on s.id = rt.session_id
     where rt.token_hash = p_old
       for update of rt, s;
    if not found then
        return query select 'unknown'::text, null::uuid, null::uuid, null::text[];
        return;
    end if;
    if t.revoked or t.used or t.expired then
        return query select
            case when t.revoked then 'revoked' when t.used then 'reused' else 'expired' end,
            t.sid, t.uid, null::text[];
        return;
    end if;
    update auth.refresh_tokens set used_at = now() where token_hash = p_old;
    insert into auth.refresh_tokens (token_hash, session_id, expires_at)
        values (p_new, t.sid, now() + make_interval(secs => p_ttl_seconds));
    update auth.sessions
       set last_used_at = now(), expires_at = now() + make_interval(secs => p_ttl_seconds),
           ip = p_ip, user_agent = p_user_agent
     where id = t.sid;
    insert into auth.login_history (user_id, occurred_at, ip, user_agent, method, success)
        values (t.uid, now(), p_ip, p_user_agent, 'refresh', true);
    return query select 'rotated'::text, t.sid, t.uid,
        coalesce((select array_agg(ur.role order by ur.role)
                    from auth.user_roles ur where ur.user_id = t.uid), '{}'::text[]);
end
$$;
