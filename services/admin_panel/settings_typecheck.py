"""Settings for mypy's Django plugin only: it imports the settings to learn the
models, and a type check has no secret key (the real one stays required)."""

import os

os.environ.setdefault("ADMIN_SECRET_KEY", "type-checking-only-never-serves-a-request")

from admin_panel.settings import *  # noqa: F403
