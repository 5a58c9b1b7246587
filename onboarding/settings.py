"""Settings for the Onboarding review desk.

Everything that differs between machines comes from the environment or a `.env` file
(the environment wins). The defaults run a fresh clone: SQLite, the local Artu sandbox
and its test key, and the database task backend.
"""

import datetime
import os
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "data"

env = environ.Env()
# A server keeps its file outside the code (deploy/manage passes ENV_FILE=/etc/onboarding/onboarding.env).
ENV_FILE = Path(env("ENV_FILE", default=BASE_DIR / ".env"))
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Local-only fallback so a clone runs; `check --deploy` flags it and production sets its own.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-only-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "onboarding.apps.OnboardingConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "django_countries",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "onboarding.middleware.NoStoreMiddleware",  # below WhiteNoise: static files stay cacheable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "onboarding.middleware.SessionIdleTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "onboarding.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "onboarding.urls"
WSGI_APPLICATION = "onboarding.wsgi.application"
ASGI_APPLICATION = "onboarding.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "onboarding.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATA_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'onboarding.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes every write transaction take the lock up front, so two writers queue
    # instead of failing mid-transaction; WAL lets readers go on while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file, not shared-cache memory: worker threads then wait on the lock (timeout) like production.
    DATABASES["default"]["TEST"] = {
        "NAME": env("SQLITE_TEST_NAME", default=str(DATA_DIR / f"test-{os.getpid()}.sqlite3"))
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)

# --- Sign-in throttling (django-axes; README, "Sign-in throttling") ----------------------------------------
# A user name is locked from one address after LOGIN_FAILURE_LIMIT failures; an address after
# LOGIN_ADDRESS_FAILURE_LIMIT failures over any user names (onboarding/signin.py). Both for LOGIN_COOLOFF_MINUTES.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=4 * LOGIN_FAILURE_LIMIT)
LOGIN_COOLOFF_MINUTES = env.int("LOGIN_COOLOFF_MINUTES", default=15)
# Reverse proxies in front of the app that append to X-Forwarded-For (0: clients connect directly).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last: it turns a locked-out sign-in into the lockout page
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "onboarding.signin.SignInThrottle"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]  # the order SignInThrottle reads
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = datetime.timedelta(minutes=LOGIN_COOLOFF_MINUTES)
# Attempts refused during a lockout are not counted: it ends on time however long an attacker keeps trying.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success does not wipe an address's failures on other user names (it would let one account reset the count).
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "onboarding.middleware.client_ip"
AXES_LOCKOUT_CALLABLE = "onboarding.views.signin.locked_out"
AXES_DISABLE_ACCESS_LOG = True  # sign-ins and sign-outs are in the audit trail already
AXES_VERBOSE = False  # no banner on every manage.py command; failures and lockouts are still logged

# --- i18n -----------------------------------------------------------------------------
LANGUAGE_CODE = "es-mx"
LANGUAGES = [("es-mx", _("Spanish (Mexico)")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "onboarding" / "locale"]
TIME_ZONE = env("TIME_ZONE", default="America/Mexico_City")
USE_I18N = True
USE_TZ = True
# Dates as DD/MM/YYYY in both languages, typed and shown (onboarding/formats/).
FORMAT_MODULE_PATH = ["onboarding.formats"]

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names whatever DEBUG is: `collectstatic` run with DEBUG=True (make run) still writes the manifest a
    # DEBUG=False server needs. With DEBUG=True, {% static %} gives plain names, served from static/ directly.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=DATA_DIR / "media")

# --- Security -------------------------------------------------------------------------
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# HTTPS=True: the site is only ever served over TLS (behind nginx, see deploy/). `check --deploy` is then silent.
HTTPS = env.bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS and not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a monitor on the machine itself asks over plain HTTP
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# HSTS: browsers refuse plain HTTP for this long once they have seen the header. Lower it (e.g. 3600) while
# trying TLS out; includeSubDomains also binds every subdomain (set HSTS_INCLUDE_SUBDOMAINS=False if one is HTTP).
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=True)
# Behind a reverse proxy that sets X-Forwarded-Proto itself, overwriting the client's (addresses: TRUSTED_PROXY_COUNT).
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# A session unused this long ends (SESSION_COOKIE_AGE above stays the limit however active it is).
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
# /healthz fails when a task due this long ago is still waiting for a worker.
HEALTH_WORKER_SECONDS = env.int("HEALTH_WORKER_SECONDS", default=120)

# --- Background tasks -----------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- Artu -----------------------------------------------------------------------------
# Default: the local sandbox, on ARTU_SANDBOX_PORT when given (scripts/run-local sets ARTU_API_URL itself).
ARTU_API_URL = env("ARTU_API_URL", default=f"http://127.0.0.1:{env.int('ARTU_SANDBOX_PORT', default=8001)}")
# The sandbox's test token by default; a real key comes only from the environment.
ARTU_API_KEY = env("ARTU_API_KEY", default="sk_test_sandbox")
ARTU_ENVIRONMENT = env("ARTU_ENVIRONMENT", default="test")
ARTU_TIMEOUT = env.float("ARTU_TIMEOUT", default=30.0)
ARTU_CONNECT_TIMEOUT = env.float("ARTU_CONNECT_TIMEOUT", default=5.0)
ARTU_BATCH_SIZE = env.int("ARTU_BATCH_SIZE", default=250)
ARTU_CONCURRENCY = env.int("ARTU_CONCURRENCY", default=4)
ARTU_MAX_ATTEMPTS = env.int("ARTU_MAX_ATTEMPTS", default=6)
# Retries: exponential backoff with jitter from BASE seconds up to CAP seconds (Retry-After is honoured).
ARTU_BACKOFF_BASE = env.float("ARTU_BACKOFF_BASE", default=1.0)
ARTU_BACKOFF_CAP = env.float("ARTU_BACKOFF_CAP", default=60.0)
# Reconciliation: each record's lookup is tried this often (with the same backoff); it never uses a send attempt.
ARTU_LOOKUP_ATTEMPTS = env.int("ARTU_LOOKUP_ATTEMPTS", default=8)
# A batch Artu keeps failing is paused and resumed by the worker after a cool-off, BASE seconds doubling each time up
# to CAP, for at most GIVE_UP_AFTER seconds from its first attempt; then it waits for a person (resume).
ARTU_COOL_OFF_BASE = env.float("ARTU_COOL_OFF_BASE", default=30.0)
ARTU_COOL_OFF_CAP = env.float("ARTU_COOL_OFF_CAP", default=600.0)
ARTU_GIVE_UP_AFTER = env.float("ARTU_GIVE_UP_AFTER", default=3600.0)
# A batch whose worker has shown no sign of life for this long is taken over (after reconciliation).
ARTU_LEASE_SECONDS = env.int("ARTU_LEASE_SECONDS", default=300)
ARTU_SANDBOX_TOKEN = env("ARTU_SANDBOX_TOKEN", default="sk_test_sandbox")
# The metadata key under which each record's local UUID travels to Artu (exactly-once lookups).
ARTU_RECORD_METADATA_KEY = "onboardingRecordId"

# --- Uploads --------------------------------------------------------------------------
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
UPLOAD_MAX_ROWS = env.int("UPLOAD_MAX_ROWS", default=300_000)
# Files with more rows than this are staged by the background task (a progress bar shows), not in the request.
UPLOAD_SYNC_MAX_ROWS = env.int("UPLOAD_SYNC_MAX_ROWS", default=2000)
# A staging whose worker has shown no sign of life this long is started again from the beginning (it stages all
# rows or none), until it has been started UPLOAD_MAX_ATTEMPTS times; then it is failed with a message.
UPLOAD_LEASE_SECONDS = env.int("UPLOAD_LEASE_SECONDS", default=120)
UPLOAD_MAX_ATTEMPTS = env.int("UPLOAD_MAX_ATTEMPTS", default=3)
# `manage.py worker` looks for work whose lease has expired (batches, stagings) when it starts and this often.
WORKER_SWEEP_SECONDS = env.float("WORKER_SWEEP_SECONDS", default=30.0)
# Refused while the file is read, before work that grows with them: columns per file (and cells per Excel row),
# characters per cell, characters per CSV row or JSON item.
UPLOAD_MAX_COLUMNS = env.int("UPLOAD_MAX_COLUMNS", default=500)
UPLOAD_MAX_CELL_CHARS = env.int("UPLOAD_MAX_CELL_CHARS", default=10_000)
UPLOAD_MAX_LINE_CHARS = env.int("UPLOAD_MAX_LINE_CHARS", default=100_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Logging --------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "onboarding.logs.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "onboarding.logs.JsonFormatter",
            "exception_messages": env.bool("LOG_EXCEPTION_MESSAGES", False),
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="json"),
            "filters": ["request"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Through the root handler only (Django's own console handler would print each line twice under DEBUG).
        "django": {"handlers": [], "level": LOG_LEVEL},
        # SQL at DEBUG carries its parameters: names, RFCs, CURPs. Never logged, whatever LOG_LEVEL says.
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
