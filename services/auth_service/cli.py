"""`auth`: run the service and administer it.

auth serve                                   the gRPC server (migrates first)
auth migrate                                 apply pending SQL migrations
auth createsuperuser --email E [--password P]  an account with the role admin
auth keys rotate [--now]                     a new signing key, signing after a delay
auth keys new-encryption-key                 a value for AUTH_KEY_ENCRYPTION_KEY
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from auth_service.adapters import crypto
from auth_service.bootstrap import build_app
from auth_service.config import Settings
from auth_service.domain.errors import DomainError
from auth_service.main import serve
from movies_logging import configure

log = logging.getLogger("auth")

PASSWORD_ENV = "AUTH_SUPERUSER_PASSWORD"


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    async with build_app(settings, background=False):
        return 0  # build_app migrates


async def _createsuperuser(settings: Settings, args: argparse.Namespace) -> int:
    """The password comes from --password, else $AUTH_SUPERUSER_PASSWORD, else a
    prompt (so it need not sit in the shell history)."""
    password = args.password or os.environ.get(PASSWORD_ENV) or getpass.getpass("password: ")
    async with build_app(settings, background=False) as app:
        try:
            user = await app.accounts.register(args.email, password, admin=True)
        except DomainError as exc:
            print(f"auth: {exc.message}", file=sys.stderr)
            return 1
    print(f"created admin {user.email} ({user.id})")
    return 0


async def _rotate(settings: Settings, args: argparse.Namespace) -> int:
    """Adds a signing key: in the JWKS at once, signing after
    AUTH_KEY_ACTIVATION_DELAY_SECONDS (every JWKS cache, the edge's included, has
    it by then); the old key signs until then and stays in the JWKS until the
    last token it signed has expired, then a later rotation deletes it. With
    --now the key signs at once (a compromised key): the edge refuses its tokens
    until its JWKS cache (ENVOY_JWKS_CACHE_DURATION) expires.

    Private keys live in PostgreSQL (`auth.signing_keys`), encrypted with
    AES-256-GCM under AUTH_KEY_ENCRYPTION_KEY from the environment: all replicas
    and this command share them without a shared disk, and a database dump
    alone cannot sign tokens. Rotating that encryption key itself means
    re-encrypting the rows (not automated yet).
    """
    async with build_app(settings, background=False) as app:
        kid, active_from = await app.keys.rotate(now=args.now)
    print(f"new key {kid} signs from {active_from.isoformat()}")
    return 0


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    await serve(settings)
    return 0


def _new_kek() -> int:
    print(crypto.new_kek())
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="auth", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {}

    sub.add_parser("serve", help="run the gRPC server")
    commands["serve"] = _serve
    sub.add_parser("migrate", help="apply pending SQL migrations")
    commands["migrate"] = _migrate
    su = sub.add_parser("createsuperuser", help="create an account with the role admin")
    su.add_argument("--email", required=True)
    su.add_argument("--password", help=f"else ${PASSWORD_ENV}, else a prompt")
    commands["createsuperuser"] = _createsuperuser
    keys = sub.add_parser("keys", help="signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser(
        "rotate", help=_rotate.__doc__.split("\n")[0] if _rotate.__doc__ else ""
    )
    rotate.add_argument(
        "--now",
        action="store_true",
        help="sign with it at once (emergency: the edge refuses its tokens until its JWKS "
        "cache expires)",
    )
    keys_sub.add_parser("new-encryption-key", help="print a value for AUTH_KEY_ENCRYPTION_KEY")

    args = parser.parse_args(argv)
    if args.command == "keys" and args.keys_command == "new-encryption-key":
        sys.exit(_new_kek())
    settings = Settings()
    configure(settings.log_level, settings.log_json)
    run = _rotate if args.command == "keys" else commands[args.command]
    # uvloop for the server, as content-api; the one-shot commands need no speed.
    runner = uvloop.run if args.command == "serve" else asyncio.run
    sys.exit(runner(run(settings, args)))


if __name__ == "__main__":
    main()
