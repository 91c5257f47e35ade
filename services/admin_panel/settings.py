"""Django's settings, built from `PanelSettings` (the environment): nothing
secret or host-specific is written here."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_lazy as _
from psycopg.conninfo import conninfo_to_dict

from admin_panel.config import settings as panel_settings

_cfg = panel_settings()
_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parents[1]

SECRET_KEY = _cfg.admin_secret_key.get_secret_value()
DEBUG = _cfg.admin_debug
ALLOWED_HOSTS = _cfg.admin_allowed_hosts
CSRF_TRUSTED_ORIGINS = _cfg.admin_csrf_trusted_origins

INSTALLED_APPS = [
    "admin_panel.accounts",
    "admin_panel.catalog",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files are answered here, before sessions and the account check.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "admin_panel.accounts.middleware.AccountCheckMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "admin_panel.urls"
WSGI_APPLICATION = "admin_panel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_db = conninfo_to_dict(_cfg.postgres_dsn)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.get("dbname", "movies"),
        "USER": _db.get("user", ""),
        "PASSWORD": _db.get("password", ""),
        "HOST": _db.get("host", "127.0.0.1"),
        "PORT": _db.get("port", "5432"),
        "CONN_MAX_AGE": _cfg.admin_db_conn_max_age,
        "CONN_HEALTH_CHECKS": True,
        # The panel's own tables (sessions, admin log, users) are created in the
        # first schema; the catalogue's tables are found in `content`, which
        # only etl/migrations changes.
        "OPTIONS": {"options": f"-c search_path={_cfg.admin_db_schema},content"},
    }
}
ADMIN_DB_SCHEMA = _cfg.admin_db_schema

AUTH_USER_MODEL = "accounts.Editor"
AUTHENTICATION_BACKENDS = ["admin_panel.accounts.backend.AuthServiceBackend"]
AUTH_GRPC_HOST = _cfg.auth_grpc_host
AUTH_GRPC_PORT = _cfg.auth_grpc_port
AUTH_TIMEOUT_SECONDS = _cfg.admin_auth_timeout_seconds
ADMIN_EXACT_COUNT_BELOW = _cfg.admin_exact_count_below
LOGIN_URL = "admin:login"

LANGUAGE_CODE = _cfg.language_code
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [_HERE / "locale"]
TIME_ZONE = _cfg.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/admin/static/"
STATIC_ROOT = _ROOT / _cfg.admin_static_root
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cookies only travel to the panel's own paths behind the shared edge.
SESSION_COOKIE_NAME = "admin_sessionid"
SESSION_COOKIE_PATH = "/admin/"
SESSION_COOKIE_AGE = _cfg.admin_session_age_seconds
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _cfg.admin_secure_cookies
CSRF_COOKIE_NAME = "admin_csrftoken"
CSRF_COOKIE_PATH = "/admin/"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = _cfg.admin_secure_cookies
X_FRAME_OPTIONS = "DENY"
# The TLS settings `check --deploy` asks for; on where TLS terminates in front.
SECURE_SSL_REDIRECT = _cfg.admin_ssl_redirect
SECURE_HSTS_SECONDS = _cfg.admin_hsts_seconds
if _cfg.admin_ssl_redirect:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
