"""Birge settings, read strictly from the environment.

With nothing set, Birge runs as a development demo: SQLite under ``var/``,
DEBUG on, console e-mail, tasks in the database. Production sets
``BIRGE_ENV=production`` and must then give ``SECRET_KEY``, ``ALLOWED_HOSTS``
and ``DATABASE_URL``; nothing falls back silently there.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("BIRGE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
BIRGE_ENV = env.str("BIRGE_ENV", default="development")
if BIRGE_ENV not in {"development", "test", "production"}:
    raise environ.ImproperlyConfigured("BIRGE_ENV must be development, test or production")
PRODUCTION = BIRGE_ENV == "production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="birge-development-only-not-secret-0123456789abcdefghijklmnop")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "axes",
    # Birge, in the order of the child's path (an app imports only those above it)
    "birge.core",
    "birge.learners",
    "birge.referrals",
    "birge.assessments",
    "birge.plans",
    "birge.support",
    "birge.screening",
    "birge.exchange",
    "birge.monitoring",
    "birge.api",
]

MIDDLEWARE = [
    "birge.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "birge.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "birge.core.middleware.LanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "birge.core.middleware.AccessLogMiddleware",
]

ROOT_URLCONF = "birge.urls"
WSGI_APPLICATION = "birge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "birge" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "birge.core.context_processors.birge",
            ],
        },
    },
]

# Database: DATABASE_URL, else SQLite under var/ (the embedded default).
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    # Production names its database explicitly; nothing falls back to a local file there.
    "default": env.db_url("DATABASE_URL") if PRODUCTION
    else env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'birge.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after 30 idle minutes and always after the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Login throttling (django-axes): lock a username+IP after 5 failures for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)

# Internationalisation: Kyrgyz first, Russian and English complete.
LANGUAGE_CODE = "ky"
LANGUAGES = [("ky", "Кыргызча"), ("ru", "Русский"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "birge" / "locale"]
LANGUAGE_COOKIE_NAME = "birge_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Bishkek"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "birge" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(VAR_DIR / "media")}},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = not PRODUCTION  # development serves straight from the app folders
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# E-mail: console in development, SMTP from EMAIL_URL in production.
if PRODUCTION:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="birge@localhost")

# Background tasks: in the database by default (one process can also run them).
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

# Security headers. HSTS and secure cookies whenever TLS terminates in front.
SECURE_TLS = env.bool("SECURE_TLS", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SECURE_TLS:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "birge.core.authentication.TokenAuthentication",  # first: a 401 names the scheme
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "birge.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "birge.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "10/minute"},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Birge API",
    "DESCRIPTION": "The REST API of Birge, the information system of inclusive education of the Kyrgyz Republic.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One schema name per choice set (several models call their field "kind", "level", "role"…).
    "ENUM_NAME_OVERRIDES": {
        "OrganizationKindEnum": "birge.core.roles.OrgKind",
        "RoleEnum": "birge.core.roles.Role",
        "TerritoryLevelEnum": "birge.core.models.Territory.Level",
        "DeadlineClockEnum": "birge.core.deadline_models.Clock",
        "EducationLevelEnum": "birge.learners.models.Level",
        "FormOfEducationEnum": "birge.learners.models.FormOfEducation",
        "ConsentMethodEnum": "birge.learners.models.Consent.Method",
        "AssignmentKindEnum": "birge.learners.models.Assignment.Kind",
        "ReferralKindEnum": "birge.referrals.models.Referral.Kind",
        "ConcernDomainEnum": "birge.referrals.models.Domain",
        "CatalogueItemKindEnum": "birge.assessments.models.CatalogueItem.Kind",
        "FindingDomainEnum": "birge.assessments.models.Domain",
        "ObligationKindEnum": "birge.assessments.models.Obligation.Kind",
        "FamilyAgreementEnum": "birge.plans.models.Agreement",
        "AccommodationKindEnum": "birge.plans.models.AccommodationKind",
        "PlanMemberRoleEnum": "birge.plans.models.MemberRole",
        "IndicatorKindEnum": "birge.monitoring.models.Indicator.Kind",
        "RegisterPurposeEnum": "birge.exchange.models.Purpose",
        "LinkMethodEnum": "birge.exchange.models.LinkMethod",
        "PairDecisionEnum": "birge.exchange.models.Decision",
        "SourceKindEnum": "birge.exchange.models.AgencyKind",
        "SameChildRelationEnum": "birge.exchange.models.SameChildRelation",
        "RelationEnum": "birge.learners.models.GuardianLink.Relation",
        "PlanReviewDecisionEnum": "birge.plans.models.ReviewDecision",
    },
}

# Deadline rules (working days are not modelled; calendar days). Override with
# BIRGE_DEADLINE_<NAME>=days.
BIRGE_DEADLINES = {
    name: env.int(f"BIRGE_DEADLINE_{name.upper()}", default=days)
    for name, days in {
        "referral_acknowledge": 5,
        "referral_conclude": 30,
        "release_to_plan": 30,
        "plan_review": 90,
        "conclusion_review": 365,
        "service_start": 14,
        "outreach_contact": 14,
        "device_delivery": 60,
    }.items()
}
BIRGE_DUE_SOON_DAYS = env.int("BIRGE_DUE_SOON_DAYS", default=7)

# Record linkage (birge.exchange): match probabilities from which a pair links automatically and
# from which it goes to clerical review; processes reading the learner register in a run.
BIRGE_LINKAGE = {
    "link_threshold": env.float("BIRGE_LINK_THRESHOLD", default=0.9),
    "review_threshold": env.float("BIRGE_REVIEW_THRESHOLD", default=0.3),
    "workers": env.int("BIRGE_LINK_WORKERS", default=1),
    "inline_rows": env.int("BIRGE_LINK_INLINE_ROWS", default=20_000),  # larger batches go to the task worker
}

# Structured logs (JSON lines) with no personal data: ids only.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "birge.core.logging.JsonFormatter"}},
    "filters": {"request_id": {"()": "birge.core.logging.RequestIdFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.server": {"handlers": [], "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

BIRGE_DEMO_PASSWORD = "birge-demo"
BIRGE_SERVICE_NAME = _("Birge")
