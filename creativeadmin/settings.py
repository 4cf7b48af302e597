"""Creative Admin settings, all read from the environment with safe defaults.

The embedded default (nothing set) is the demo: SQLite, Celery tasks run in-process,
media on the local filesystem. Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL, CELERY_BROKER_URL and MEDIA_STORAGE=s3; README.md lists every variable.
"""

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CREATIVE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
# A `.env` file is optional; real deployments set the environment directly.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)


def _secret(name: str) -> str | None:
    """A secret exactly as set: django-environ reads a value starting with "$" as the name of
    another variable, and a random key starts with "$" one time in fifty."""
    return os.environ.get(name) or None


def _secret_key() -> str:
    key = _secret("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Demo only: a key generated once per checkout, kept out of git under var/.
    key_file = VAR_DIR / "demo_secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "rest_framework_api_key",
    "accounts",
    "templates_app",
    "campaigns",
    "analytics",
    "health",
    "demo",
]

MIDDLEWARE = [
    "creativeadmin.security.TrustedProxyMiddleware",  # before anything reads request.is_secure()
    "django.middleware.security.SecurityMiddleware",
    "creativeadmin.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "creativeadmin.errors.ApiNotFoundMiddleware",  # JSON 400s and 404s under /api/ in DEBUG too
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's auth and messages middleware, skipped on the serve path (only browsers need them).
    "creativeadmin.browser_middleware.AuthenticationMiddleware",
    "creativeadmin.browser_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "creativeadmin.urls"
WSGI_APPLICATION = "creativeadmin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "creativeadmin" / "templates"],
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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'creativeadmin.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)  # a kept connection the server dropped is replaced
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL lets the demo server read while an in-process task writes.
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    # A writer waits this long for another's transaction (the background generation thread's are
    # short: one creative, one job mark) before "database is locked"; sqlite3's default is 5 s.
    DATABASES["default"]["OPTIONS"].setdefault("timeout", env.int("SQLITE_BUSY_TIMEOUT", default=20))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))


def _plotly_js_dir() -> str:
    import plotly

    return str(Path(plotly.__file__).parent / "package_data")


# plotly.js ships inside the plotly package; serve it as /static/plotly/plotly.min.js (no CDN).
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", _plotly_js_dir())]
# In DEBUG, WhiteNoise serves straight from the app directories (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="local")

if MEDIA_STORAGE == "s3":
    _media_backend = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": _secret("AWS_SECRET_ACCESS_KEY"),
            # Creatives and uploads are private; clients get expiring signed URLs.
            "default_acl": env.str("AWS_DEFAULT_ACL", default="private"),
            "querystring_auth": True,
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=3600),
            # SigV4: S3 refuses the older signatures for buckets made since 2020.
            "signature_version": env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4"),
            "file_overwrite": False,
        },
    }
elif MEDIA_STORAGE == "local":
    _media_backend = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be 'local' or 's3', not {MEDIA_STORAGE!r}.")

STORAGES = {
    "default": _media_backend,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Upload limits: a request body cap and Pillow's decompression-bomb ceiling.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
CREATIVE_MAX_IMAGE_PIXELS = env.int("CREATIVE_MAX_IMAGE_PIXELS", default=40_000_000)
# PSD import (templates): the file size and layer count (groups included) an upload may have; its
# canvas is held to CREATIVE_MAX_IMAGE_PIXELS, checked from the header before anything is parsed.
TEMPLATE_PSD_MAX_BYTES = env.int("TEMPLATE_PSD_MAX_BYTES", default=100 * 1024 * 1024)
TEMPLATE_PSD_MAX_LAYERS = env.int("TEMPLATE_PSD_MAX_LAYERS", default=200)

# Time budgets of the designer's previews (editor render, signed render, preview API) and of a
# template's preview sheet (also run when publishing): past them the work stops and an error answers.
TEMPLATE_PREVIEW_SECONDS = env.float("TEMPLATE_PREVIEW_SECONDS", default=10.0)
TEMPLATE_SHEET_SECONDS = env.float("TEMPLATE_SHEET_SECONDS", default=30.0)

# Video: footage uploads (MP4/MOV) up to this size; an ffmpeg run is stopped after the timeout.
CREATIVE_MAX_FOOTAGE_BYTES = env.int("CREATIVE_MAX_FOOTAGE_BYTES", default=200 * 1024 * 1024)
CREATIVE_VIDEO_TIMEOUT = env.float("CREATIVE_VIDEO_TIMEOUT", default=300.0)
# Image assets and fonts up to this size. Every upload is read in chunks with its size checked as it
# is read, and no one file of a request may pass the largest of the limits (creativeadmin.uploads).
CREATIVE_MAX_FILE_BYTES = env.int("CREATIVE_MAX_FILE_BYTES", default=50 * 1024 * 1024)
CREATIVE_MAX_UPLOAD_BYTES = max(CREATIVE_MAX_FOOTAGE_BYTES, TEMPLATE_PSD_MAX_BYTES, CREATIVE_MAX_FILE_BYTES)
FILE_UPLOAD_HANDLERS = [
    "creativeadmin.uploads.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Fonts: extra directories searched for font files (the CJK font among them).
CREATIVE_FONT_DIRS = env.list("CREATIVE_FONT_DIRS", default=[str(BASE_DIR / "vendor" / "fonts")])

# Cache: serving's statistics and the placement throttle live here. Local memory is per
# process, fine for the embedded default; with several web or worker processes point it at
# Redis (e.g. CACHE_URL=redis://127.0.0.1:6379/3) so they share what the rollups computed.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "creativeadmin.cache.RedisCache"  # one client per pool, not per operation

# Serving: the share of serves chosen uniformly at random (exploration the CTR model learns from).
SERVING_EXPLORATION = env.float("SERVING_EXPLORATION", default=0.05)
# How many impressions the aesthetic score's CTR guess is worth in a creative's Beta prior.
SERVING_PRIOR_IMPRESSIONS = env.float("SERVING_PRIOR_IMPRESSIONS", default=50.0)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured means the embedded default: tasks run in-process.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# With no broker, generation jobs run on a background thread of the web process (creativeadmin.background)
# so Generate returns at once and the page shows the progress; off, they run inline in the request (the
# tests turn it off in conftest.py, so a test sees the job finished when the call returns).
CREATIVE_JOBS_IN_BACKGROUND = env.bool("CREATIVE_JOBS_IN_BACKGROUND", default=CELERY_TASK_ALWAYS_EAGER)
CREATIVE_BACKGROUND_THREADS = env.int("CREATIVE_BACKGROUND_THREADS", default=1)
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=False)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No STARTED state: storing it is a database write before the task body, outside its retries, so
# a connection dropped at that moment failed the task unrun, and acks_late then dropped it.
CELERY_TASK_TRACK_STARTED = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task taken by a worker that died comes back to another this long after it was delivered.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # kombu looks for such tasks every 10 s but, by default, scans only one call in ten (every
    # 100 s); scanning on every call keeps recovery within the visibility timeout plus 10 s.
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "analytics-rollups": {
        "task": "analytics.tasks.rollups_refresh",
        "schedule": env.int("ROLLUP_EVERY_SECONDS", default=60),
    },
    "campaigns-generation-resume": {
        "task": "campaigns.tasks.generation_jobs_resume",
        "schedule": env.int("GENERATION_RESUME_EVERY_SECONDS", default=60),
    },
    "analytics-ctr-model": {
        "task": "analytics.tasks.ctr_model_retrain",
        "schedule": env.int("CTR_MODEL_EVERY_SECONDS", default=24 * 3600),
    },
}
# A running generation job with no product set finished for this long gets its unfinished sets
# sent again (campaigns.tasks.generation_jobs_resume, on the beat schedule above).
GENERATION_STALL_SECONDS = env.int("GENERATION_STALL_SECONDS", default=900)
TRACKING_BURST_EVENTS_PER_MINUTE = env.int("TRACKING_BURST_EVENTS_PER_MINUTE", default=120)
# A pixel's or a click's insert commits without waiting for PostgreSQL's WAL flush: a crash of the
# database server (not of a web process) can lose the last ~0.6 s of them (docs/tracking.md, Speed).
# Batches and conversions always wait for the flush.
TRACKING_ASYNC_COMMIT = env.bool("TRACKING_ASYNC_COMMIT", default=True)
# Campaign webhooks may call loopback, private, link-local and reserved addresses only with this on:
# the demo's and the tests' receivers listen on 127.0.0.1. It is off whenever DEBUG is off, whatever
# the environment says, so a production server never POSTs into its own network (campaigns.webhooks).
WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = DEBUG and env.bool("WEBHOOK_ALLOW_PRIVATE_DESTINATIONS", default=True)
# After a campaign's webhook secret is rotated, calls are signed with the old secret too for this long.
WEBHOOK_SECRET_GRACE_SECONDS = env.int("WEBHOOK_SECRET_GRACE_SECONDS", default=24 * 3600)

# --- REST framework and OpenAPI --------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "creativeadmin.schema.AutoSchema",
    # A personal API key first: DRF asks the first authenticator for the challenge, so a request
    # without credentials gets 401 + `WWW-Authenticate: Bearer`. Sessions (with CSRF) still work.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only, their nesting depth bounded (creativeadmin.json_input): no operation uploads a file,
    # and one content type per body keeps generated clients from sending forms the fields cannot hold.
    "DEFAULT_PARSER_CLASSES": ["creativeadmin.json_input.DepthLimitedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "creativeadmin.pagination.PageSizePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "creativeadmin.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"placement": env.str("PLACEMENT_RATE", default="6000/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Creative Admin API",
    "DESCRIPTION": "Templates, campaigns, creative serving and tracking.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # A request model apart from the answer's (`CampaignRequest` / `Campaign`): read-only fields are never
    # asked for on input, which generated clients would otherwise require in their constructors.
    "COMPONENT_SPLIT_REQUEST": True,
    "GET_LIB_DOC_EXCLUDES": "creativeadmin.schema.lib_doc_excludes",  # no base class's docstring as a model's
    # Swagger UI and Redoc from static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No online validator badge: it would send the schema's URL to validator.swagger.io (and the CSP refuses it).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Who may read the schema and the docs: creativeadmin.schema.ApiDocsPermission (settings.API_DOCS_PUBLIC).
    "SERVE_PERMISSIONS": ["creativeadmin.schema.ApiDocsPermission"],
    "REDOC_DIST": "SIDECAR",
    # Template kind and placement format are the same choices (image, video): one schema name.
    "ENUM_NAME_OVERRIDES": {
        "MediaKindEnum": "templates_app.models.Template.Kind",
        "TemplateStatusEnum": "templates_app.models.Template.Status",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "CreativeStateEnum": "campaigns.models.Creative.State",
        "ProductImageKindEnum": "campaigns.models.ProductImage.Kind",
        "GenerationJobStateEnum": "campaigns.models.GenerationJob.State",
        "CreativeReviewActionEnum": [("approve", "approve"), ("reject", "reject")],
    },
}

# The API schema and Swagger UI are for signed-in users unless this makes them public (default: in DEBUG).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=DEBUG)

# --- Proxies ------------------------------------------------------------------
# The TLS-terminating proxies in front of the web processes (addresses or networks, e.g.
# 10.0.0.5,10.1.0.0/16). X-Forwarded-Proto is believed only from them: unset, nobody's is, and the
# SSL redirect and secure cookies go by the connection itself (creativeadmin.security).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Content-Security-Policy and Permissions-Policy (creativeadmin.security) ---


def _media_origins() -> list[str]:
    """Where the pages' images and videos come from besides this site: the S3 store's origin(s)."""
    if MEDIA_STORAGE != "s3":
        return []
    from urllib.parse import urlsplit

    endpoint = _media_backend["OPTIONS"]["endpoint_url"]
    if endpoint:
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        # Virtual-hosted addressing puts the bucket in front of a named host (bucket.s3.example.com).
        named = not parts.hostname.replace(".", "").isdigit() and ":" not in parts.hostname
        return [origin, f"{parts.scheme}://*.{parts.netloc}"] if named else [origin]
    bucket, region = _media_backend["OPTIONS"]["bucket_name"], _media_backend["OPTIONS"]["region_name"]
    origins = [f"https://{bucket}.s3.amazonaws.com"]
    return origins + ([f"https://{bucket}.s3.{region}.amazonaws.com"] if region else [])


_MEDIA_SOURCES = ["'self'", "data:", "blob:", *env.list("CSP_MEDIA_ORIGINS", default=_media_origins())]
# No inline script anywhere (scripts are static files; data reaches them as <script type="application/json">).
# Styles allow 'unsafe-inline': Swagger UI's page and the admin carry style attributes and <style> blocks,
# and plotly.js writes style attributes as it draws. Script is what the policy is for.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": _MEDIA_SOURCES,
    "media-src": _MEDIA_SOURCES,
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), midi=(), payment=(), usb=(), fullscreen=(self)"
)

# --- Production hardening (active whenever DEBUG is off) --------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

LOGIN_URL = "admin:login"
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)  # failed logins per username and address per 15 min
