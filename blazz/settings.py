"""The one settings module of Blazz (F13): every value comes from the environment through
django-environ, with defaults that make a fresh checkout run against the machine's own
PostgreSQL, Redis and Chromium. `.env.example` lists every variable read here."""

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
# Under pytest the Redis defaults move to databases 10-12, so a test run never flushes or
# reads a running demo's broker, cache or channel layer (scripts/test.sh sets them too).
_REDIS_DB_OFFSET = 10 if "PYTEST_VERSION" in os.environ else 0

env = environ.Env()
# A local .env is optional; real deployments pass the environment directly.
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
# Production refuses to start without real secrets (see blazz/checks.py); development
# gets a fixed, obviously-insecure key so a fresh checkout runs.
# The development values (also in .env.example), which production refuses below.
DEV_SECRET_KEY = "insecure-dev-key-change-me"  # noqa: S105  # nosec B105
DEV_SNAPSHOT_KEY = "ZGV2LW9ubHktc25hcHNob3Qta2V5LWNoYW5nZS1tZTA="
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# No "daphne" app: it only makes `manage.py runserver` serve ASGI, and as an app it is imported
# by every process, costing each session worker's boot (and so every restore) 0.3-0.4 s. The web
# process runs daphne itself (Procfile `web`); `make run` starts it.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_celery_beat",
    "phonenumber_field",
    "channels",
    "axes",
    "blazz.apps.BlazzConfig",
    "accounts",
    "sessions_app",
    "messaging",
    "campaigns",
    "health",
]
# Who hears about a number's lifecycle (sessions_app/listeners.py): the port that lets the
# layers above sessions_app react without sessions_app importing them.
BLAZZ_SESSION_LISTENERS = ["messaging.session_listener.MessagingSessionListener"]
# messaging's Transport per number provider (messaging/transport.py); `meta` is reserved.
BLAZZ_TRANSPORTS = {"webjs": "sessions_app.webjs.transport.WebJsTransport"}
# The WhatsApp Web simulator (top-level wasim/, `manage.py wasim`) is a test double: installed
# for development and tests, never by production settings.
BLAZZ_WASIM_INSTALLED = env.bool("BLAZZ_WASIM_INSTALLED", default=DEBUG)
if BLAZZ_WASIM_INSTALLED:
    INSTALLED_APPS.append("wasim")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "blazz.middleware.RefuseNulQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.CurrentWorkspaceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused (locked-out) login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy on every response (django-csp): scripts, styles, images and
# connections from this origin only, no inline script or style, no plugins, no framing. The
# pages keep their JavaScript and CSS in static/; Swagger UI is served from this project
# (drf-spectacular-sidecar). `'self'` covers the pages' websockets too (ws:/wss: to the same
# host: CSP Level 3, Chromium, Firefox, Safari 15.4+). `data:` images: Swagger UI's icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        # Voice notes, audio and video in the inbox: signed same-origin links (issue 17).
        "media-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "blazz.urls"
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
                "accounts.context_processors.workspace",
                "health.context_processors.failed_numbers",
            ],
        },
    },
]
WSGI_APPLICATION = "blazz.wsgi.application"
ASGI_APPLICATION = "blazz.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/blazz")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
# A kept connection (DB_CONN_MAX_AGE > 0) that a database restart broke is checked and
# replaced before its first use in a request, task or worker tick, instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: the broker, the cache (routing cache, throttles) and the channel layer each get
# their own logical database so a flush of one never empties another.
REDIS_URL = env.str("REDIS_URL", default=f"redis://127.0.0.1:6379/{1 + _REDIS_DB_OFFSET}")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="blazz"),
    }
}
CHANNEL_LAYER_URL = env.str("CHANNEL_LAYER_URL", default=f"redis://127.0.0.1:6379/{2 + _REDIS_DB_OFFSET}")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 reads with a 5 s socket timeout, exactly as long as channels_redis's
        # blocking read on an idle channel: every idle websocket would drop every 5 s
        # (redis-py issue 4091). Longer than the blocking read, still finite for a dead Redis.
        "CONFIG": {"hosts": [{"address": CHANNEL_LAYER_URL, "socket_timeout": 15}]},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# --- Login throttling and lockout (django-axes), sign-up, open sockets ----------------------
# Axes' backend comes first and refuses a locked-out login before any password is checked;
# it needs the request (Django's login forms and the admin pass it).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# After this many failed logins for one username from one IP address, that pair is locked
# out (the right password too) for BLAZZ_LOGIN_LOCKOUT_MINUTES; failing again while locked
# out starts the wait over. Staff unlock early by deleting the attempt in the admin.
AXES_FAILURE_LIMIT = env.int("BLAZZ_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("BLAZZ_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a success forgets earlier typos
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"  # a 429 page that says why and how long
# Sign-ups per client IP address (DRF rate syntax, `<n>/<s|m|h|d>`); empty turns it off.
BLAZZ_SIGNUP_RATE = env.str("BLAZZ_SIGNUP_RATE", default="5/h")
# How long a sign-up's confirmation link stays valid.
BLAZZ_SIGNUP_CONFIRM_HOURS = env.int("BLAZZ_SIGNUP_CONFIRM_HOURS", default=48)
# CSV contact imports: rows per transaction, and how long an unfinished import may go without
# progress before Beat wakes it again (its Celery message was lost or its worker died).
BLAZZ_CONTACT_IMPORT_BATCH = env.int("BLAZZ_CONTACT_IMPORT_BATCH", default=500)
BLAZZ_CONTACT_IMPORT_STALE_SECONDS = env.int("BLAZZ_CONTACT_IMPORT_STALE_SECONDS", default=60)
# How long a teammate's invitation link works.
BLAZZ_INVITATION_DAYS = env.int("BLAZZ_INVITATION_DAYS", default=7)
# An open websocket re-reads its login and membership on every access change announced to
# it and, in case an announcement was lost, before relaying once this many seconds have passed.
BLAZZ_WS_ACCESS_RECHECK_SECONDS = env.float("BLAZZ_WS_ACCESS_RECHECK_SECONDS", default=30)
# Sign-up confirmation links and alerts. Development prints e-mails on the console.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Blazz <no-reply@localhost>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# In development whitenoise serves straight from the finders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default=None)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.HasWorkspaceApiKey"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "blazz.pagination.NewestFirstCursorPagination",
    "DEFAULT_PARSER_CLASSES": ["blazz.api_parsers.GuardedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_throttles.ApiKeyRateThrottle"],
    "EXCEPTION_HANDLER": "blazz.api_errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Per API key, DRF rate syntax (`<n>/<sec|min|hour|day>`); empty turns a throttle off.
BLAZZ_API_THROTTLE_RATE = env.str("BLAZZ_API_THROTTLE_RATE", default="600/min")
BLAZZ_API_SEND_THROTTLE_RATE = env.str("BLAZZ_API_SEND_THROTTLE_RATE", default="120/min")
# Largest request body the API parses (bytes); Django's own limit for forms uses it too.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
# Largest request body the server reads at all (bytes): larger ones get 413 before their body
# is read (blazz/body_limit.py). A little above DATA_UPLOAD_MAX_MEMORY_SIZE, so a body near that
# limit still reaches Django and gets the API's own answer. Larger caps for some paths (future
# media uploads) as `prefix=bytes` pairs, e.g. `/api/v1/media=67108864`; the longest prefix wins.
BLAZZ_MAX_REQUEST_BODY_BYTES = env.int(
    "BLAZZ_MAX_REQUEST_BODY_BYTES", default=DATA_UPLOAD_MAX_MEMORY_SIZE + 64 * 1024
)
# The contacts CSV upload takes files up to 10 MiB (messaging.services.contact_imports).
BLAZZ_MAX_REQUEST_BODY_BYTES_BY_PATH = {
    "/contacts/import/": 10 * 1024 * 1024 + 64 * 1024,
    "/api/v1/contacts/imports": 10 * 1024 * 1024 + 64 * 1024,
    **{
        prefix: int(limit)
        for prefix, limit in env.dict("BLAZZ_MAX_REQUEST_BODY_BYTES_BY_PATH", default={}).items()
    },
}
# Media uploads (issue 17). A multipart/form-data body may be this large on the paths below
# (a file and its form fields): at least the largest media file (documents, 100 MB) plus room
# for the multipart framing and the other fields. Any other body on those paths (JSON) keeps
# the caps above, so a JSON message stays refused at ~1 MB before it is read
# (blazz/body_limit.py). The cost: an unauthenticated multipart POST to these paths is read up
# to this size before the API key is checked, as any upload endpoint's is.
BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES = env.int(
    "BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES", default=100 * 1024 * 1024 + 1024 * 1024
)
BLAZZ_MAX_MULTIPART_BODY_BYTES_BY_PATH = {
    "/api/v1/messages": BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES,
    "/api/v1/media": BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES,
    # The campaign form's attachment and the inbox's attach button.
    "/campaigns/": BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES,
    "/inbox/": BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES,
}
# `media_url` fetches (messaging/media_fetch.py) go through the webhooks' SSRF guard (private
# addresses refused unless BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS) and must be https. These
# `host:port` pairs are exempt from both (an operator's internal asset server; tests' local one).
BLAZZ_MEDIA_URL_ALLOWED_HOSTS = env.list("BLAZZ_MEDIA_URL_ALLOWED_HOSTS", default=[])
BLAZZ_MEDIA_URL_CONNECT_TIMEOUT_SECONDS = env.float("BLAZZ_MEDIA_URL_CONNECT_TIMEOUT_SECONDS", default=5.0)
# Per socket operation, and for the whole fetch (redirects included): the API request waits.
BLAZZ_MEDIA_URL_TIMEOUT_SECONDS = env.float("BLAZZ_MEDIA_URL_TIMEOUT_SECONDS", default=15.0)
BLAZZ_MEDIA_URL_DEADLINE_SECONDS = env.float("BLAZZ_MEDIA_URL_DEADLINE_SECONDS", default=60.0)
SPECTACULAR_SETTINGS = {
    "TITLE": "Blazz API",
    "DESCRIPTION": "Many WhatsApp numbers, one workspace.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from this project's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "blazz.api_errors.declare_common_errors",
    ],
    # Session statuses appear in several components (numbers, health): one named enum.
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "sessions_app.models.WhatsAppSession.Status",
        "WorkerStatusEnum": "sessions_app.models.WorkerInstance.Status",
        "DirectionEnum": "messaging.models.Chat.Direction",
        "ConversationStatusEnum": "messaging.models.ContactSession.Status",
        # What a file is sent as (messages' `type`, campaigns' `media_type`), issue 17.
        "MediaTypeEnum": "messaging.media_send_api.FILE_KINDS",
    },
}

# --- Celery (DESIGN section 2, CONVENTIONS habit 4) -------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"redis://127.0.0.1:6379/{0 + _REDIS_DB_OFFSET}")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacked task after the visibility timeout; long countdowns are
# therefore forbidden (far-future work is a scheduled_at column claimed by Beat).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = "default"
GENERAL_QUEUES = ("default", "webhooks", "campaigns", "maintenance")
CELERY_TASK_QUEUES = [Queue(name) for name in GENERAL_QUEUES]
# Session tasks are not routed here: they go to the queue of the session's assigned worker
# (`wa.<worker name>`), resolved at send time by sessions_app.selectors.
CELERY_TASK_ROUTES = {
    "messaging.tasks.deliver_webhook*": {"queue": "webhooks"},
    "campaigns.tasks.*": {"queue": "campaigns"},
    "sessions_app.tasks.maintenance_*": {"queue": "maintenance"},
    "sessions_app.tasks.sessions_cleanup_stale": {"queue": "maintenance"},
    "sessions_app.tasks.sessions_reconcile": {"queue": "maintenance"},
    "sessions_app.tasks.sessions_liveness_check": {"queue": "maintenance"},
    "sessions_app.tasks.sessions_snapshot_refresh": {"queue": "maintenance"},
    "messaging.tasks.chats_sweep_pending": {"queue": "maintenance"},
    "messaging.tasks.contact_imports_sweep": {"queue": "maintenance"},
    "messaging.tasks.media_cleanup": {"queue": "maintenance"},
    "messaging.tasks.media_thumbnails_sweep": {"queue": "maintenance"},
}

# --- Session workers and browsers (DESIGN sections 2 and 6) ------------------------------
BLAZZ_WORKER_NAME = env.str("BLAZZ_WORKER_NAME", default="wa1")
BLAZZ_WORKER_CAPACITY = env.int("BLAZZ_WORKER_CAPACITY", default=10)
# Browsers a session worker starts at once (restores after a start, failover): 0 = from the
# host's cores and free memory (sessions_app/webjs/host/capacity.py).
BLAZZ_BROWSER_START_CONCURRENCY = env.int("BLAZZ_BROWSER_START_CONCURRENCY", default=0)
BLAZZ_BROWSER_START_MEMORY_MB = env.int("BLAZZ_BROWSER_START_MEMORY_MB", default=400)
BLAZZ_WORKER_QUEUE_PREFIX = "wa."
BLAZZ_DATA_DIR = env.path("BLAZZ_DATA_DIR", default=BASE_DIR / "var")
BLAZZ_BROWSER = env.str("BLAZZ_BROWSER", default="selenium")  # "selenium" or "uc"
BLAZZ_CHROMIUM_PATH = env.str("BLAZZ_CHROMIUM_PATH", default="/usr/lib/chromium/chromium")
BLAZZ_CHROMEDRIVER_PATH = env.str("BLAZZ_CHROMEDRIVER_PATH", default="/usr/bin/chromedriver")
BLAZZ_HEADLESS = env.bool("BLAZZ_HEADLESS", default=True)
# Memory-saving Chromium flags (sessions_app/webjs/driver/browser.py LEAN_ARGUMENTS).
BLAZZ_BROWSER_LEAN = env.bool("BLAZZ_BROWSER_LEAN", default=True)
# Chromium's sandbox is on unless the worker runs as root (where Chromium refuses it); true
# forces it off, for a host without unprivileged user namespaces (deploy/README.md).
BLAZZ_BROWSER_NO_SANDBOX = env.bool("BLAZZ_BROWSER_NO_SANDBOX", default=False)
BLAZZ_BROWSER_STOP_DEADLINE = env.float("BLAZZ_BROWSER_STOP_DEADLINE", default=10.0)
# Page events are pushed to the worker over DevTools (issue 18): a page is drained when it
# says it has events, after a batch window that turns a burst into one transaction; every
# page again at the sweep (a lost wake-up); a page without a push connection at the tick.
BLAZZ_HARVEST_PUSH = env.bool("BLAZZ_HARVEST_PUSH", default=True)
# The drain and its confirm go over that same DevTools connection (false: chromedriver's
# execute_script, as before).
BLAZZ_HARVEST_OVER_DEVTOOLS = env.bool("BLAZZ_HARVEST_OVER_DEVTOOLS", default=True)
BLAZZ_HARVEST_TICK_MS = env.int("BLAZZ_HARVEST_TICK_MS", default=500)
BLAZZ_HARVEST_SWEEP_MS = env.int("BLAZZ_HARVEST_SWEEP_MS", default=2000)
BLAZZ_HARVEST_BATCH_MS = env.int("BLAZZ_HARVEST_BATCH_MS", default=5)
# Pages drained at once; each holds only its own page's lock.
BLAZZ_HARVEST_POOL_SIZE = env.int("BLAZZ_HARVEST_POOL_SIZE", default=4)
BLAZZ_HARVEST_BUSY_RETRY_MS = env.int("BLAZZ_HARVEST_BUSY_RETRY_MS", default=25)
BLAZZ_PUSH_RETRY_SECONDS = env.int("BLAZZ_PUSH_RETRY_SECONDS", default=30)
BLAZZ_WA_URL = env.str("BLAZZ_WA_URL", default="http://127.0.0.1:8765/")
BLAZZ_WASIM_HOST = env.str("BLAZZ_WASIM_HOST", default="127.0.0.1")
BLAZZ_WASIM_PORT = env.int("BLAZZ_WASIM_PORT", default=8765)
# The wa-js bundle the driver injects at document start: a file, or (for the simulator, which
# serves its wa-js 4.6.0 stand-in) a loopback URL. Empty: the vendored file for WhatsApp Web,
# the simulator's own stand-in for any other target.
BLAZZ_WAJS_BUNDLE = env.str("BLAZZ_WAJS_BUNDLE", default="") or (
    str(BASE_DIR / "vendor" / "wa-js" / "wppconnect-wa.js")
    if "web.whatsapp.com" in BLAZZ_WA_URL
    else BLAZZ_WA_URL.rstrip("/") + "/wppconnect-wa.js"
)
# How wa-js behaves (window.WPPConfig and send options, set before the bundle loads): no
# telemetry to Google Analytics, no read receipts or link previews (fetched through
# third-party servers by wa-js) unless asked for.
BLAZZ_WA_DISABLE_ANALYTICS = env.bool("BLAZZ_WA_DISABLE_ANALYTICS", default=True)
BLAZZ_WA_SEND_STATUS_TO_DEVICE = env.bool("BLAZZ_WA_SEND_STATUS_TO_DEVICE", default=True)
BLAZZ_WA_MARK_IS_READ = env.bool("BLAZZ_WA_MARK_IS_READ", default=False)
BLAZZ_WA_LINK_PREVIEW = env.bool("BLAZZ_WA_LINK_PREVIEW", default=False)
# Fernet keys, newest first; MultiFernet decrypts with any and encrypts with the first,
# so a key is rotated by prepending a new one.
BLAZZ_SNAPSHOT_KEYS = env.list(
    "BLAZZ_SNAPSHOT_KEYS",
    default=[DEV_SNAPSHOT_KEY] if DEBUG else [],
)
BLAZZ_SNAPSHOT_MAX_BYTES = env.int("BLAZZ_SNAPSHOT_MAX_BYTES", default=50 * 1024 * 1024)
BLAZZ_MESSAGE_MAX_CHARS = env.int("BLAZZ_MESSAGE_MAX_CHARS", default=4096)
# A send is a row; its Celery message only wakes the worker (messaging.services.chats_sweep_pending):
# woken again when nobody claimed it for this long, its claim released when it made nothing,
# failed (message.failed) when still pending at the deadline.
BLAZZ_SEND_SWEEP_AFTER_SECONDS = env.int("BLAZZ_SEND_SWEEP_AFTER_SECONDS", default=60)
BLAZZ_SEND_CLAIM_STALE_SECONDS = env.int("BLAZZ_SEND_CLAIM_STALE_SECONDS", default=600)
BLAZZ_SEND_DEADLINE_SECONDS = env.int("BLAZZ_SEND_DEADLINE_SECONDS", default=7200)
BLAZZ_QR_ATTEMPTS_PER_HOUR = env.int("BLAZZ_QR_ATTEMPTS_PER_HOUR", default=5)
# A QR that has not rotated for this long after its expiry belongs to a page nobody drives.
BLAZZ_QR_STALE_GRACE_SECONDS = env.int("BLAZZ_QR_STALE_GRACE_SECONDS", default=120)
# A worker whose heartbeat is older than this is dead (F9); leases outlive a few heartbeats.
BLAZZ_WORKER_DEAD_AFTER_SECONDS = env.int("BLAZZ_WORKER_DEAD_AFTER_SECONDS", default=30)
# How long a dead worker's reaper may take to save its browsers' state before reconciliation
# moves the numbers anyway (the reaper itself died, or hangs).
BLAZZ_WORKER_RESCUE_DEADLINE_SECONDS = env.int("BLAZZ_WORKER_RESCUE_DEADLINE_SECONDS", default=120)
BLAZZ_SESSION_LEASE_SECONDS = env.int("BLAZZ_SESSION_LEASE_SECONDS", default=60)
# A stop, restart or logout still pending after this long lost its Celery message (or its
# worker): reconciliation sends it again, or carries it out on the row when no worker hosts it.
BLAZZ_SESSION_VERB_RESEND_SECONDS = env.int("BLAZZ_SESSION_VERB_RESEND_SECONDS", default=120)
BLAZZ_WORKER_HEARTBEAT_SECONDS = env.float("BLAZZ_WORKER_HEARTBEAT_SECONDS", default=5.0)
# How often a session worker re-measures Chrome's memory and descriptors for its heartbeat
# (walking /proc for fifty browsers is not free); the heartbeat itself stays frequent.
BLAZZ_CHROME_METRICS_SECONDS = env.float("BLAZZ_CHROME_METRICS_SECONDS", default=30.0)
# How often each page's garbage is collected (sessions_app/webjs/host/memory.py); 0 = never.
BLAZZ_PAGE_MEMORY_TRIM_SECONDS = env.float("BLAZZ_PAGE_MEMORY_TRIM_SECONDS", default=300.0)
# How long a QR shown by the page stays valid (WhatsApp rotates it every 20 s).
BLAZZ_QR_PERIOD_SECONDS = env.int("BLAZZ_QR_PERIOD_SECONDS", default=20)
# Chrome writes localStorage to disk about 5 s after a change: the first snapshot after a
# login waits for it. Then snapshots are refreshed periodically and on stop.
BLAZZ_SNAPSHOT_AFTER_LOGIN_SECONDS = env.float("BLAZZ_SNAPSHOT_AFTER_LOGIN_SECONDS", default=10.0)
BLAZZ_SNAPSHOT_INTERVAL_SECONDS = env.float("BLAZZ_SNAPSHOT_INTERVAL_SECONDS", default=600.0)
# Automatic restarts of a session whose browser died, until it connects again.
BLAZZ_AUTO_RESTARTS = env.int("BLAZZ_AUTO_RESTARTS", default=1)
# How often a session worker removes profiles and browsers of no live session (F6, F8).
BLAZZ_ORPHAN_SWEEP_SECONDS = env.float("BLAZZ_ORPHAN_SWEEP_SECONDS", default=300.0)
# Liveness (F7): a connected page whose own heartbeat is older than this, or whose probe of
# WhatsApp's servers fails, is restarted from its snapshot; after MAX_RESTARTS restarts
# within WINDOW it is marked failed and its workspace alerted.
BLAZZ_LIVENESS_HEARTBEAT_MAX_SECONDS = env.float("BLAZZ_LIVENESS_HEARTBEAT_MAX_SECONDS", default=30.0)
BLAZZ_LIVENESS_PROBE_TIMEOUT_SECONDS = env.float("BLAZZ_LIVENESS_PROBE_TIMEOUT_SECONDS", default=10.0)
BLAZZ_LIVENESS_MAX_RESTARTS = env.int("BLAZZ_LIVENESS_MAX_RESTARTS", default=3)
BLAZZ_LIVENESS_WINDOW_SECONDS = env.int("BLAZZ_LIVENESS_WINDOW_SECONDS", default=3600)
# A session restored from its snapshot that is not connected again after this long counts
# as a failed check too.
BLAZZ_LIVENESS_START_TIMEOUT_SECONDS = env.int("BLAZZ_LIVENESS_START_TIMEOUT_SECONDS", default=90)
# Fault-test hook: the session worker SIGKILLs itself inside the transaction that stores an
# inbound batch, after the rows are written and before the commit. Refused unless DEBUG.
BLAZZ_FAULT_KILL_BEFORE_INBOUND_COMMIT = env.bool("BLAZZ_FAULT_KILL_BEFORE_INBOUND_COMMIT", default=False)

# --- Health, metrics and cleanup (DESIGN F2, F6) -------------------------------------------
# Beat's cleanup soft-deletes sessions left in `qr_scanning` / `disconnected` this long,
# counted from when they entered that status (their last status-change event).
BLAZZ_STALE_QR_MINUTES = env.int("BLAZZ_STALE_QR_MINUTES", default=30)
BLAZZ_STALE_DISCONNECTED_HOURS = env.int("BLAZZ_STALE_DISCONNECTED_HOURS", default=24)
# The Health page lists a connected number with no activity for this long as "silent".
BLAZZ_HEALTH_SILENT_AFTER_MINUTES = env.int("BLAZZ_HEALTH_SILENT_AFTER_MINUTES", default=60)
# /metrics: with a token, only `Authorization: Bearer <token>`; empty, only loopback clients
# that did not come through a proxy.
BLAZZ_METRICS_TOKEN = env.str("BLAZZ_METRICS_TOKEN", default="")

# --- Integrator webhooks (DESIGN F5) ------------------------------------------------------
# SSRF guard: when False, webhook URLs resolving to private, loopback, link-local, multicast
# or reserved addresses are refused at creation and again at delivery.
BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS", default=DEBUG)
# Read timeout (each wait for the receiver's bytes), and a short connect timeout apart from
# it: a receiver that does not even accept the connection frees its slot quickly.
BLAZZ_WEBHOOK_TIMEOUT_SECONDS = env.float("BLAZZ_WEBHOOK_TIMEOUT_SECONDS", default=15.0)
BLAZZ_WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("BLAZZ_WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=3.0)
# The whole attempt (connect, TLS, send, status line and headers) ends by then, however the
# receiver trickles its bytes; must stay under the 2-minute claim lease.
BLAZZ_WEBHOOK_DEADLINE_SECONDS = env.float("BLAZZ_WEBHOOK_DEADLINE_SECONDS", default=30.0)
# Isolation (messaging.webhooks.delivery): at most this many deliveries of one endpoint in
# flight; after CIRCUIT_FAILURES failed attempts in a row the endpoint is backed off for
# CIRCUIT_OPEN_SECONDS (then one probe at a time until one succeeds).
BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY = env.int("BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY", default=2)
BLAZZ_WEBHOOK_CIRCUIT_FAILURES = env.int("BLAZZ_WEBHOOK_CIRCUIT_FAILURES", default=5)
BLAZZ_WEBHOOK_CIRCUIT_OPEN_SECONDS = env.int("BLAZZ_WEBHOOK_CIRCUIT_OPEN_SECONDS", default=60)
# Webhook endpoints one workspace may have (messaging.webhooks.endpoints).
BLAZZ_QUOTA_WEBHOOK_ENDPOINTS = env.int("BLAZZ_QUOTA_WEBHOOK_ENDPOINTS", default=10)

# --- Campaigns (DESIGN F12: pacing that protects numbers from bans) -------------------------
# Daily sends per number by its age (since the phone first connected to this workspace):
# under 7 days, 7-30 days, over 30 days.
BLAZZ_CAMPAIGN_DAILY_CAP_NEW = env.int("BLAZZ_CAMPAIGN_DAILY_CAP_NEW", default=500)
BLAZZ_CAMPAIGN_DAILY_CAP_YOUNG = env.int("BLAZZ_CAMPAIGN_DAILY_CAP_YOUNG", default=1500)
BLAZZ_CAMPAIGN_DAILY_CAP_MATURE = env.int("BLAZZ_CAMPAIGN_DAILY_CAP_MATURE", default=3000)
# Per-number limits and the random gap between two sends of one number.
BLAZZ_CAMPAIGN_PER_MINUTE = env.int("BLAZZ_CAMPAIGN_PER_MINUTE", default=20)
BLAZZ_CAMPAIGN_PER_HOUR = env.int("BLAZZ_CAMPAIGN_PER_HOUR", default=500)
BLAZZ_CAMPAIGN_GAP_MIN_SECONDS = env.float("BLAZZ_CAMPAIGN_GAP_MIN_SECONDS", default=3.0)
BLAZZ_CAMPAIGN_GAP_MAX_SECONDS = env.float("BLAZZ_CAMPAIGN_GAP_MAX_SECONDS", default=7.0)
# Sends of one recipient (each on another number when its number dropped) before it fails.
BLAZZ_CAMPAIGN_MAX_ATTEMPTS = env.int("BLAZZ_CAMPAIGN_MAX_ATTEMPTS", default=3)
# At most this many sends per dispatch tick (Beat runs the tick every second).
BLAZZ_CAMPAIGN_DISPATCH_BATCH = env.int("BLAZZ_CAMPAIGN_DISPATCH_BATCH", default=100)
# A number this far behind its planned send times gets its remaining sends re-planned.
BLAZZ_CAMPAIGN_REPLAN_LAG_SECONDS = env.int("BLAZZ_CAMPAIGN_REPLAN_LAG_SECONDS", default=120)
# Recipient lists longer than this are imported in the background (a RecipientImport row,
# processed in batches of BLAZZ_RECIPIENT_IMPORT_BATCH by the campaigns queue); shorter ones
# in the request. Beat re-enqueues an import nobody advanced for BLAZZ_RECIPIENT_IMPORT_STALE_SECONDS.
BLAZZ_RECIPIENT_IMPORT_SYNC_MAX = env.int("BLAZZ_RECIPIENT_IMPORT_SYNC_MAX", default=500)
BLAZZ_RECIPIENT_IMPORT_BATCH = env.int("BLAZZ_RECIPIENT_IMPORT_BATCH", default=1000)
BLAZZ_RECIPIENT_IMPORT_STALE_SECONDS = env.int("BLAZZ_RECIPIENT_IMPORT_STALE_SECONDS", default=60)

# --- Per-workspace quotas and fair share (issue 16: no tenant starves the others) ----------
# Numbers a workspace may keep (not deleted, not stopped or failed).
BLAZZ_QUOTA_ACTIVE_NUMBERS = env.int("BLAZZ_QUOTA_ACTIVE_NUMBERS", default=10)
# Contacts a workspace may create through the UI, the API, campaign lists and sends
# (contacts created by inbound messages are never refused: a customer's message is kept).
BLAZZ_QUOTA_CONTACTS = env.int("BLAZZ_QUOTA_CONTACTS", default=100_000)
# Recipients of one campaign.
BLAZZ_QUOTA_CAMPAIGN_RECIPIENTS = env.int("BLAZZ_QUOTA_CAMPAIGN_RECIPIENTS", default=50_000)
# No workspace holds more browsers than this fraction of the live fleet's capacity, and
# never fewer than BLAZZ_FAIR_SHARE_MIN_SESSIONS (so a small fleet still lets each connect).
BLAZZ_FAIR_SHARE_FRACTION = env.float("BLAZZ_FAIR_SHARE_FRACTION", default=0.5)
BLAZZ_FAIR_SHARE_MIN_SESSIONS = env.int("BLAZZ_FAIR_SHARE_MIN_SESSIONS", default=2)

# --- Media (issue 17) ----------------------------------------------------------------------
# Photos, voice notes, videos, documents and stickers go through Django's storage API under the
# STORAGES alias "blazz_media" (messaging/media/storage.py): the filesystem under
# BLAZZ_MEDIA_ROOT by default, an S3-compatible bucket (django-storages) when
# BLAZZ_MEDIA_S3_BUCKET is set. Files are content-addressed, `<workspace uuid>/<sha256[:2]>/<sha256>`.
# Empty (as in .env.example) means the default, like unset.
BLAZZ_MEDIA_ROOT = Path(
    env.str("BLAZZ_MEDIA_ROOT", default="") or Path(str(BLAZZ_DATA_DIR)) / "media"
).resolve()
# WhatsApp's own caps per kind (bytes); the page refuses to hand over more, the API answers 413.
BLAZZ_MEDIA_MAX_IMAGE_BYTES = env.int("BLAZZ_MEDIA_MAX_IMAGE_BYTES", default=16 * 1024 * 1024)
BLAZZ_MEDIA_MAX_VIDEO_BYTES = env.int("BLAZZ_MEDIA_MAX_VIDEO_BYTES", default=16 * 1024 * 1024)
BLAZZ_MEDIA_MAX_AUDIO_BYTES = env.int("BLAZZ_MEDIA_MAX_AUDIO_BYTES", default=16 * 1024 * 1024)
BLAZZ_MEDIA_MAX_DOCUMENT_BYTES = env.int("BLAZZ_MEDIA_MAX_DOCUMENT_BYTES", default=100 * 1024 * 1024)
# WhatsApp stickers are 512x512 WebP of at most 100 KB (500 KB animated); 1 MB leaves room for
# what other clients send without letting a "sticker" carry a large file.
BLAZZ_MEDIA_MAX_STICKER_BYTES = env.int("BLAZZ_MEDIA_MAX_STICKER_BYTES", default=1024 * 1024)
# Bytes of media one workspace may keep (each distinct file counted once); 0 = no limit.
BLAZZ_MEDIA_WORKSPACE_QUOTA_BYTES = env.int("BLAZZ_MEDIA_WORKSPACE_QUOTA_BYTES", default=5 * 1024**3)
# How long a signed media link (webhooks, the inbox) works, in seconds.
BLAZZ_MEDIA_LINK_LIFETIME_S = env.int("BLAZZ_MEDIA_LINK_LIFETIME_S", default=24 * 3600)
# Inbound bytes the page could not hand over are fetched again after BACKOFF_S, doubling each
# attempt (capped at an hour), and marked failed after MAX_ATTEMPTS.
BLAZZ_MEDIA_FETCH_MAX_ATTEMPTS = env.int("BLAZZ_MEDIA_FETCH_MAX_ATTEMPTS", default=5)
BLAZZ_MEDIA_FETCH_BACKOFF_S = env.int("BLAZZ_MEDIA_FETCH_BACKOFF_S", default=30)
# Thumbnails (Pillow, general worker): longest side in pixels; images with more pixels than
# BLAZZ_MEDIA_MAX_IMAGE_PIXELS are refused as decompression bombs.
BLAZZ_MEDIA_THUMBNAIL_PX = env.int("BLAZZ_MEDIA_THUMBNAIL_PX", default=320)
BLAZZ_MEDIA_MAX_IMAGE_PIXELS = env.int("BLAZZ_MEDIA_MAX_IMAGE_PIXELS", default=50_000_000)
# Media of numbers deleted this long ago is removed by the cleanup (their messages stay).
BLAZZ_MEDIA_RETIRED_NUMBER_DAYS = env.int("BLAZZ_MEDIA_RETIRED_NUMBER_DAYS", default=30)
# This server's public origin, for absolute links in webhooks (signed media links, the API).
BLAZZ_PUBLIC_URL = env.str("BLAZZ_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# An S3-compatible bucket instead of the filesystem: all of bucket and credentials, or none
# (a half-configured set is a `manage.py check` error, blazz/checks.py).
BLAZZ_MEDIA_S3_BUCKET = env.str("BLAZZ_MEDIA_S3_BUCKET", default="")
BLAZZ_MEDIA_S3_ENDPOINT_URL = env.str("BLAZZ_MEDIA_S3_ENDPOINT_URL", default="")
BLAZZ_MEDIA_S3_REGION = env.str("BLAZZ_MEDIA_S3_REGION", default="")
BLAZZ_MEDIA_S3_ACCESS_KEY_ID = env.str("BLAZZ_MEDIA_S3_ACCESS_KEY_ID", default="")
BLAZZ_MEDIA_S3_SECRET_ACCESS_KEY = env.str("BLAZZ_MEDIA_S3_SECRET_ACCESS_KEY", default="")


def media_storage_config(
    *, root: Path, bucket: str, endpoint_url: str, region: str, access_key: str, secret_key: str
) -> dict:
    """The "blazz_media" STORAGES entry for these settings (tests build an S3 one with it)."""
    if not bucket:
        # Content-addressed names: writing the same name again writes the same bytes.
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None, "allow_overwrite": True},
        }
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "default_acl": None,  # private; every read goes through Blazz's checks
            "querystring_auth": True,
            "file_overwrite": True,
        },
    }


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "blazz_media": media_storage_config(
        root=BLAZZ_MEDIA_ROOT,
        bucket=BLAZZ_MEDIA_S3_BUCKET,
        endpoint_url=BLAZZ_MEDIA_S3_ENDPOINT_URL,
        region=BLAZZ_MEDIA_S3_REGION,
        access_key=BLAZZ_MEDIA_S3_ACCESS_KEY_ID,
        secret_key=BLAZZ_MEDIA_S3_SECRET_ACCESS_KEY,
    ),
}

if not DEBUG:
    # Production refuses to start without its secrets rather than run with weak ones.
    _missing = [name for name in ("SECRET_KEY", "BLAZZ_SNAPSHOT_KEYS") if not globals()[name]]
    if _missing:
        raise ImproperlyConfigured(f"DEBUG is off and {', '.join(_missing)} is not set in the environment.")
    # The development values are published in .env.example: anyone could forge sessions or
    # decrypt snapshots with them.
    _published = {
        "SECRET_KEY": SECRET_KEY == DEV_SECRET_KEY,
        "BLAZZ_SNAPSHOT_KEYS": DEV_SNAPSHOT_KEY in BLAZZ_SNAPSHOT_KEYS,
    }
    _published_names = [name for name, published in _published.items() if published]
    if _published_names:
        raise ImproperlyConfigured(
            f"DEBUG is off and {', '.join(_published_names)} is the development value published in "
            ".env.example; set a secret of your own."
        )
    if BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS:
        raise ImproperlyConfigured(
            "DEBUG is off and BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS is true: tenants could make this server "
            "call its own network. Set it to false."
        )
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Per-hop times of every drained page batch (sessions_app/webjs/host/harvest.py); DEBUG
    # turns it on, for a benchmark or a latency hunt, not for everyday production logs.
    "loggers": {"blazz.inbound_trace": {"level": env.str("BLAZZ_INBOUND_TRACE_LEVEL", default="INFO")}},
}
