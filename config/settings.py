"""Settings for the whole site, driven by environment variables.

Development needs nothing set: SQLite in the project folder, DEBUG on only when
``DEBUG=1``. Production sets ``SECRET_KEY``, ``ALLOWED_HOSTS``,
``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL``; see README.md.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (any long random string), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "dev-only-insecure-key-not-for-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_htmx",
    "template_partials",
    "calculator",
    "catalog",
    "faq",
    "front",
]

MIDDLEWARE = [
    # Every response a client accepts gzip for (HTML, JSON) is compressed, cold renders
    # too; a response-cache hit arrives already gzipped and is passed through.
    "django.middleware.gzip.GZipMiddleware",
    # API errors always JSON; control characters in a path or query refused (front/middleware.py)
    "front.middleware.ApiErrorsAsJson",
    "front.middleware.RejectControlCharacters",
    "django.middleware.security.SecurityMiddleware",
    "config.deadline.RequestDeadlineMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Pages' whole-response cache (front/caching.py): a hit skips everything below.
    "front.caching.ResponseCacheMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "front.context_processors.engine_facts",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# Timeouts, so a hung or overloaded database fails a request instead of holding it:
# PostgreSQL gives up connecting after DB_CONNECT_TIMEOUT seconds (libpq's minimum is 2)
# and cancels any statement after DB_STATEMENT_TIMEOUT seconds (0: never). Options in
# DATABASE_URL's query string (?connect_timeout=…&options=-c statement_timeout=…) win.
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=5)
DB_STATEMENT_TIMEOUT = env.float("DB_STATEMENT_TIMEOUT", default=10.0)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
    _db_options["options"] = (
        f"-c statement_timeout={round(DB_STATEMENT_TIMEOUT * 1000)} "
        + _db_options.get("options", "")
    ).strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

# Cache: Redis in production (CACHE_URL, e.g. redis://host:6379/1 — a different DB
# index from the broker's). FailSoftRedisCache turns a stopped Redis into cache
# misses instead of errors. Without CACHE_URL each process has its own local cache,
# fine for development and for a single web process only.
CACHE_URL = env.str("CACHE_URL", default="locmemcache://")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "config.cache.FailSoftRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="llmram"),
            "TIMEOUT": env.int("CACHE_TIMEOUT", default=3600),
            # Seconds to connect and to wait for an answer: a dead cache costs one short
            # wait, then FailSoftRedisCache skips it for a few seconds.
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.25),
                "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CACHES = {"default": env.cache_url_config(CACHE_URL)}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Celery: broker and results on Redis (keep the cache on another DB index).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Socket timeouts for the broker and the result backend (seconds): a Redis that hangs
# fails a publish or a result write instead of blocking it. The read timeout stays above
# the worker's 1 s BRPOP poll.
BROKER_CONNECT_TIMEOUT = env.float("BROKER_CONNECT_TIMEOUT", default=2.0)
BROKER_SOCKET_TIMEOUT = env.float("BROKER_SOCKET_TIMEOUT", default=10.0)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_CONNECT_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
    "socket_timeout": BROKER_SOCKET_TIMEOUT,
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = BROKER_CONNECT_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = BROKER_SOCKET_TIMEOUT
# Whether the broker answers, for code that would queue a task (config.broker): unset,
# it is probed (PING, BROKER_PROBE_TIMEOUT seconds); 1/0 forces the answer.
CELERY_BROKER_AVAILABLE = env.bool("CELERY_BROKER_AVAILABLE", default=None)
BROKER_PROBE_TIMEOUT = env.float("BROKER_PROBE_TIMEOUT", default=0.5)

# Catalog price sync: beat runs the dispatcher, which fans out one task per due retailer.
# Locks and the cross-worker rate limit live in Redis (CATALOG_REDIS_URL).
CATALOG_SYNC_INTERVAL = timedelta(hours=env.float("CATALOG_SYNC_INTERVAL_HOURS", default=4.0))
CATALOG_REDIS_URL = env.str("CATALOG_REDIS_URL", default=REDIS_URL)
CATALOG_REDIS_PREFIX = env.str("CATALOG_REDIS_PREFIX", default="catalog")
# GGUF repository listings on the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN are read by
# catalog.hub at call time); a file missing from this many listings in a row is gone.
GGUF_SYNC_INTERVAL_HOURS = env.float("GGUF_SYNC_INTERVAL_HOURS", default=24.0)
GGUF_GONE_AFTER_RUNS = env.int("GGUF_GONE_AFTER_RUNS", default=3)
CELERY_BEAT_SCHEDULE = {
    "catalog-sync-due-retailers": {
        "task": "catalog.tasks.sync_due_retailers",
        "schedule": CATALOG_SYNC_INTERVAL,
    },
    "catalog-sync-due-gguf-repositories": {
        "task": "catalog.tasks.sync_due_gguf_repositories",
        "schedule": timedelta(hours=GGUF_SYNC_INTERVAL_HOURS),
    },
}

# Request bodies: a pasted config.json is small; refuse anything huge early.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1_000_000)
# A request past this many seconds stops at its next database query with a 503
# (config.deadline); 0 switches the deadline off. Above the catalog's 25 s budget for
# syncs an editor runs in the request (CATALOG_INPROCESS_BUDGET).
REQUEST_DEADLINE = env.float("REQUEST_DEADLINE", default=30.0)
# /healthz shows targets and error text only to loopback clients that came in directly,
# or to a request with "Authorization: Bearer <HEALTHZ_TOKEN>" (unset: no token works).
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")

# Logs go to stderr; LOG_FORMAT=json writes one JSON object per line (for a collector).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Security (HTTPS, cookies, headers) ----------------------------------------------
# Production defaults follow DEBUG: with DEBUG off everything is on. HTTPS=0 switches
# the HTTPS-only parts off together (a production-like server on plain http, as
# `make bench` runs it); each one can still be set on its own.
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$"]  # load balancers probe the plain-http port
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=HTTPS)
SESSION_COOKIE_HTTPONLY = True
# Behind a TLS-terminating proxy (nginx, a load balancer) that sets X-Forwarded-Proto
# and appends the client address to X-Forwarded-For. Never set it without such a proxy:
# clients could then claim HTTPS and any address.
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4). No inline script, no eval; htmx's indicator
# <style> is switched off in base.html's htmx-config meta. The templates carry no
# style="" attributes, so style-src stays 'self' too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- API limits ------------------------------------------------------------------------
# Rate limits per client address, counted in the default cache (Redis in production,
# so every web process shares the counters). With the cache down, each process counts
# on its own (front/api_limits.py): the limit holds per process instead of switching off.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
API_RATE_GET = env.str("API_RATE_GET", default="120/m")
API_RATE_POST = env.str("API_RATE_POST", default="30/m")
# POST bodies above this many bytes are refused (413) from Content-Length, unread.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=20)
# A pasted config's layer counts: the largest real models have ~130 layers.
API_MAX_CONFIG_LAYERS = env.int("API_MAX_CONFIG_LAYERS", default=1024)
