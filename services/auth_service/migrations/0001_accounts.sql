-- Accounts, roles, sessions with rotating refresh tokens, signing keys and the
-- login history partitioned by month. Everything lives in schema `auth` of
-- database `auth`; the service applies this at start-up.

create table auth.users (
    id uuid primary key,
    email text not null unique check (email = lower(btrim(email))),
    -- null for accounts that only sign in through an external provider
    password_hash text,
    created_at timestamptz not null default now()
);

create table auth.roles (
    name text primary key check (name ~ '^[a-z0-9_-]{1,64}$'),
    description text not null default '',
    builtin boolean not null default false
);

insert into auth.roles (name, description, builtin) values
    ('admin', 'Manages roles and the users who hold them.', true),
    ('subscriber', 'Every registered account.', true);

create table auth.user_roles (
    user_id uuid not null references auth.users (id) on delete cascade,
    role text not null references auth.roles (name) on delete cascade,
    primary key (user_id, role)
);

create table auth.sessions (
    id uuid primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    created_at timestamptz not null default now(),
    -- when the session last received an access token
    last_used_at timestamptz not null default now(),
    expires_at timestamptz not null,
    revoked_at timestamptz,
    user_agent text not null default '',
    ip text not null default ''
);
create index sessions_active_by_user on auth.sessions (user_id) where revoked_at is null;

-- Only the SHA-256 of a refresh token is kept: the token has 256 random bits,
-- so a plain hash is enough to make a stolen table useless.
create table auth.refresh_tokens (
    token_hash bytea primary key,
    session_id uuid not null references auth.sessions (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    -- set when the token is exchanged; a second exchange is a reuse (theft)
    used_at timestamptz
);
create index refresh_tokens_by_session on auth.refresh_tokens (session_id);

-- Private keys are encrypted (AES-256-GCM, the kid as associated data) with
-- AUTH_KEY_ENCRYPTION_KEY from the environment.
create table auth.signing_keys (
    kid text primary key,
    algorithm text not null,
    public_jwk jsonb not null,
    private_key bytea not null,
    created_at timestamptz not null default now(),
    -- when a newer key took over signing; listed in the JWKS for one more
    -- access-token lifetime after this
    retired_at timestamptz
);

create table auth.login_history (
    id bigserial,
    user_id uuid not null,
    occurred_at timestamptz not null,
    ip text not null default '',
    user_agent text not null default '',
    method text not null,
    success boolean not null,
    primary key (occurred_at, id)
) partition by range (occurred_at);
create index login_history_by_user on auth.login_history (user_id, occurred_at desc, id desc);
