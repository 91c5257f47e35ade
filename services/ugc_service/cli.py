"""`python -m ugc_service`: run the service and check its store.

python -m ugc_service serve     the gRPC server (migrates first)
python -m ugc_service migrate   apply pending SQL migrations
python -m ugc_service check     recompute every aggregate from its rows and
                                compare (exit 1 and list what drifted)
"""

from __future__ import annotations

import argparse
import sys

import uvloop

from movies_auth import TokenCheckSettings
from movies_logging import configure
from ugc_service.bootstrap import build_app
from ugc_service.config import Settings
from ugc_service.main import serve


async def _migrate(settings: Settings) -> int:
    async with build_app(settings):
        return 0  # build_app migrates


async def _check(settings: Settings) -> int:
    async with build_app(settings) as app:
        films = await app.store.rating_drift()
        reviews = await app.store.vote_drift()
    for film in films:
        print(f"film {film}: rating summary differs from its ratings")
    for review in reviews:
        print(f"review {review}: vote counters differ from its votes")
    if films or reviews:
        return 1
    print("aggregates match their rows")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="ugc_service", description=__doc__)
    parser.add_argument("command", choices=["serve", "migrate", "check"])
    args = parser.parse_args()
    settings = Settings()
    configure(settings.log_level, settings.log_json)
    if args.command == "serve":
        uvloop.run(serve(settings, TokenCheckSettings()))
    elif args.command == "migrate":
        sys.exit(uvloop.run(_migrate(settings)))
    else:
        sys.exit(uvloop.run(_check(settings)))
