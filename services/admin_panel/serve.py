"""`python -m admin_panel.serve`: what the stack runs. Applies the panel's own
migrations, collects the static files (hashed, compressed, served by
whitenoise), then becomes gunicorn on ADMIN_HOST:ADMIN_PORT."""

from __future__ import annotations

import os
import sys

from django.core.management import call_command


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "admin_panel.settings")
    import django

    from admin_panel.config import settings

    django.setup()
    # Refuse to serve over a catalogue schema the models no longer match.
    call_command("check_content_schema")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    cfg = settings()
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    argv = [
        gunicorn,
        "admin_panel.wsgi:application",
        f"--bind={cfg.admin_host}:{cfg.admin_port}",
        f"--workers={cfg.admin_workers}",
        "--worker-class=gthread",
        f"--threads={cfg.admin_threads}",
        "--access-logfile=-",
        "--graceful-timeout=10",
        # One control socket per user by default: two panels would fight over it.
        "--no-control-socket",
        # Import Django once in the master: workers answer their first request at once.
        "--preload",
    ]
    os.execv(gunicorn, argv)


if __name__ == "__main__":
    main()
