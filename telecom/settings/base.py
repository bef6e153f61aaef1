"""Settings shared by every environment, read from the environment (see `.env.example`).

`make run` and a plain `manage.py` use these as they are (`telecom.settings.base`); the test
suite uses `telecom.settings.test` and a deployment `telecom.settings.production`
(`telecom/settings/__init__.py`).

Importing the settings starts nothing: `DATABASE_URL` must be set. With none configured, `make
run` (`telecom.devstack`), `make test` (`telecom.pytest_embedded`) and `manage.py` start (or join)
the embedded PostgreSQL (`telecom.embedded`) and set it before Django reads these settings. With
no `REDIS_URL` Celery uses kombu's filesystem transport under `var/broker`.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from telecom.email_url import email_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("TELECOM_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = _env_bool("DEBUG", False)
# Production must set SECRET_KEY (`manage.py check --deploy` flags the default); a fixed local
# key keeps `make run` and `make test` working on a bare machine.
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-local-development-key-change-me"
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "telecom.apps.TelecomAdminConfig",  # django.contrib.admin with the console site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc as static files: the docs work offline
    "django_htmx",
    "telecom",
    "accounts",
    "licensing",
    "numbering",
    "billing",
    "webapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "telecom.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "telecom.headers.ResponseHeadersMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# The Content-Security-Policy of every page (telecom.headers): scripts only from this site (no
# inline script: the Swagger UI page loads its set-up as a file), styles from this site plus
# inline `style` attributes (the console's templates, ReDoc and htmx set some), images also as
# data: URIs (Swagger UI's icons), ReDoc's web worker from a blob:, nothing framed, forms posted
# back to this site only.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

ROOT_URLCONF = "telecom.urls"
WSGI_APPLICATION = "telecom.wsgi.application"

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
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Set it (e.g. postgres://user@host:5432/telecom), or use "
        "`make run`, `make test` or `python manage.py`, which start the embedded PostgreSQL "
        "under var/ when it is unset (README.md)."
    )
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"],
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # A persistent connection is checked before each request reuses it: one the database
        # dropped (restart, failover, `pg_terminate_backend`) is replaced instead of failing it.
        conn_health_checks=True,
    )
}
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_telecom")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleBackend"]
# Wrong passwords allowed for one e-mail address from one client address before that pair is
# refused for a while (accounts.backends): passwords cannot be guessed at length.
SIGN_IN_FAILURES_ALLOWED = int(os.environ.get("SIGN_IN_FAILURES_ALLOWED", "10"))
SIGN_IN_LOCKOUT_SECONDS = int(os.environ.get("SIGN_IN_LOCKOUT_SECONDS", "900"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# A failed CSRF check shows the product's page with a way back (telecom.views).
CSRF_FAILURE_VIEW = "telecom.views.csrf_failure"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Mail (invoices and credit notes to billing contacts, invitations, password resets): EMAIL_URL
# names the backend and its SMTP server (telecom/email_url.py); `make run` points it at a local
# SMTP server that keeps every message under var/mail/. Without it, mail is printed (offline).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_TIMEOUT = 20
if os.environ.get("EMAIL_URL"):
    globals().update(email_settings(os.environ["EMAIL_URL"]))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-reply@telecom.localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "telecom.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "telecom.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "telecom.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "telecom.schema.ProductAutoSchema",
    # Per client address. Token requests are password guesses to a brute-force attacker.
    "DEFAULT_THROTTLE_RATES": {
        "signup": os.environ.get("SIGNUP_THROTTLE", "20/hour"),
        "auth_token": os.environ.get("AUTH_TOKEN_THROTTLE", "10/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Telecom administration API",
    "DESCRIPTION": "Licences, phone numbers and billing for business phone systems.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs pages load Swagger UI and ReDoc from this site's /static/ (the pinned
    # drf-spectacular-sidecar package), never from a CDN: they render with no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No "valid" badge fetched from validator.swagger.io either.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Several models have a `kind`; name each choice set instead of letting them collide.
    "ENUM_NAME_OVERRIDES": {
        "LicenceKindEnum": "licensing.models.LicenceKind",
        "LineKindEnum": "licensing.models.LineKind",
        "InvoiceLineKindEnum": "billing.models.InvoiceLineKind",
        "PaymentMethodTypeEnum": "billing.payments.models.MethodKind",
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        "NumberTypeEnum": "numbering.models.NumberType",
        "PaymentMethodStatusEnum": "billing.payments.models.MethodStatus",
        "PaymentAttemptStatusEnum": "billing.payments.models.AttemptStatus",
    },
}

# The cache holds the API throttles' counts: in Redis they are shared by every process and
# machine; the in-process cache (no Redis configured) counts for its own process only.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "telecom",
        }
    }

# Celery. Tasks are acknowledged late and re-queued when a worker dies, so every task must be
# idempotent (they are: see billing/tasks.py). A task may run for at most CELERY_TASK_TIME_LIMIT;
# the Redis visibility timeout (after which an unacknowledged message, e.g. of a worker whose
# machine died, is delivered again) is longer, so a task still running is never handed out twice.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("BROKER_VISIBILITY_TIMEOUT", 2 * 60 * 60))
    }
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With late acks a task whose broker connection drops will be delivered again: stop it rather
# than let two copies run side by side.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Renewals hourly (an organisation renews at its local midnight, so some organisation is due
# every hour); overdue invoices and quarantine release once a day (docs/architecture.md).
CELERY_BEAT_SCHEDULE = {
    "billing.renewals": {"task": "billing.renewals_dispatch", "schedule": crontab(minute=5)},
    "billing.overdue-invoices": {
        "task": "billing.flag_overdue_invoices",
        "schedule": crontab(minute=15, hour=0),
    },
    "billing.dunning": {"task": "billing.dunning", "schedule": crontab(minute=20, hour=0)},
    "numbering.quarantine-release": {
        "task": "numbering.release_quarantined_numbers",
        "schedule": crontab(minute=25, hour=0),
    },
    "numbering.porting-progress": {
        "task": "numbering.porting_progress",
        "schedule": crontab(minute=35),
    },
    "accounts.finish-closing": {"task": "accounts.finish_closing", "schedule": crontab(minute=45)},
    "licensing.discard-unconfirmed-uploads": {
        "task": "licensing.discard_unconfirmed_uploads",
        "schedule": crontab(minute=55, hour=0),
    },
    "accounts.discard-expired-signups": {
        "task": "accounts.discard_expired_signups",
        "schedule": crontab(minute=50, hour=0),
    },
}
# How many `billing.renewals_work` tasks each hourly dispatch sends: the workers that share the
# due organisations (SKIP LOCKED), so at most this many worker processes renew at once.
RENEWAL_FANOUT = int(os.environ.get("RENEWAL_FANOUT", "2"))
# Organisations renewed per transaction by each worker (billing/renewal.py): about 0.1 s of
# work, during which their rows are locked.
RENEWAL_BATCH_SIZE = int(os.environ.get("RENEWAL_BATCH_SIZE", "1000"))

# Domain settings.
INVOICE_DUE_DAYS = 14
DEFAULT_CALLING_CREDIT_CAP = "250.00"
NUMBER_QUARANTINE_DAYS = 30
CARRIER_BACKEND = os.environ.get("CARRIER_BACKEND", "numbering.carriers.LocalInventoryBackend")
MESSAGING_GATEWAY = os.environ.get("MESSAGING_GATEWAY", "webapp.gateways.LocalGateway")
# Payments (billing/payments/, docs/payments.md): the provider holding cards and SEPA mandates
# (default: offline, with test cards), the retries after a soft decline in days after the first
# failure, and the days past due after which a restricted organisation is suspended.
PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "billing.payments.provider.LocalProvider")
PAYMENT_RETRY_DAYS = (1, 3, 5, 7)
SUSPEND_AFTER_DAYS_PAST_DUE = 30
PORTING_MIN_WORKING_DAYS = 3
PORTING_DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
MASS_CONFIG_MAX_BYTES = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Security (docs/security.md): client addresses, sign-in limit, API tokens, uploads ---------
# The client's address (telecom/clients.py): X-Forwarded-For is believed only as far as these
# proxies. TRUSTED_PROXIES: the reverse proxies' networks ("10.0.0.0/8,127.0.0.1"); NUM_PROXIES:
# how many proxies stand in front. Neither (the default): the connecting address only.
TRUSTED_PROXIES = _env_list("TRUSTED_PROXIES", "")
NUM_PROXIES = int(os.environ.get("NUM_PROXIES", "0"))
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES  # any DRF throttle that is not telecom's
MIDDLEWARE.insert(
    MIDDLEWARE.index("telecom.middleware.RejectNulMiddleware"),
    "telecom.clients.ClientAddressMiddleware",
)
# The sign-in limit (accounts/sign_in_limit.py): unknown clients together may fail this many
# times per account before only the member's known devices (a signed cookie set at sign-in) may
# try; SIGN_IN_FAILURES_ALLOWED above counts per account and client.
SIGN_IN_ACCOUNT_FAILURES_ALLOWED = int(os.environ.get("SIGN_IN_ACCOUNT_FAILURES_ALLOWED", "100"))
SIGN_IN_DEVICE_COOKIE_DAYS = int(os.environ.get("SIGN_IN_DEVICE_COOKIE_DAYS", "180"))
MIDDLEWARE.append("accounts.sign_in_limit.KnownDeviceMiddleware")
# Members' API tokens stop working after this many days without use (accounts/api_tokens.py).
API_TOKEN_IDLE_DAYS = int(os.environ.get("API_TOKEN_IDLE_DAYS", "30"))
# Uploads (telecom/middleware.py RequestSizeLimitMiddleware): a request body over
# MAX_REQUEST_BYTES is refused (413) from its Content-Length before it is read; the margin above
# the largest accepted file lets a file just over its own limit get the form's error instead.
# The largest file any form takes: mass configuration, porting documents, voicemail audio (10 MB,
# webapp/services.py VOICEMAIL_MAX_BYTES).
MAX_UPLOAD_BYTES = max(MASS_CONFIG_MAX_BYTES, PORTING_DOCUMENT_MAX_BYTES, 10 * 1024 * 1024)
MAX_REQUEST_BYTES = int(os.environ.get("MAX_REQUEST_BYTES", MAX_UPLOAD_BYTES + 1024 * 1024))
MIDDLEWARE.insert(
    MIDDLEWARE.index("telecom.middleware.RejectNulMiddleware"),
    "telecom.middleware.RequestSizeLimitMiddleware",
)
# Mass configuration: at most this many extension rows in one file (licensing/mass_config).
MASS_CONFIG_MAX_ROWS = int(os.environ.get("MASS_CONFIG_MAX_ROWS", "20000"))
# A console upload longer than this many lines is checked by a job, and the review page follows
# its progress (licensing/mass_config/checks.py); shorter files are checked within the request.
MASS_CONFIG_BACKGROUND_ROWS = int(os.environ.get("MASS_CONFIG_BACKGROUND_ROWS", "2000"))
