-- Accounts at external providers linked to ours. A provider's email is never
-- used to find an existing account: linking happens only from a signed-in one.
-- An account made by a first OAuth sign-in may have no email (the provider's
-- was missing or already taken here) and no password.

alter table auth.users alter column email drop not null;

create table auth.oauth_accounts (
    provider text not null,
    subject text not null,
    user_id uuid not null references auth.users (id) on delete cascade,
    email text,
    created_at timestamptz not null default now(),
    primary key (provider, subject)
);
create index oauth_accounts_by_user on auth.oauth_accounts (user_id);
