"""Every setting comes from the environment (12-factor); the defaults run one local box safely.

The embedded default is SQLite in WAL mode with no broker: ``make run`` needs nothing else.
Production sets DATABASE_URL (PostgreSQL), REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and DEBUG=false.
"""

import os
import secrets
import stat
import tempfile
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
env = environ.Env()

DATA_DIR = Path(env.str("STAMPCARD_DATA_DIR", default=str(PROJECT_DIR / "var")))


def ensure_data_dir() -> Path:
    """The data folder, private (0700) on every start: created so when missing, and narrowed
    when it is ours and looser (a folder made by hand, or by an upload's makedirs with the
    umask's 0755). A folder we cannot create or change (a read-only mount, another owner's)
    is left as it is, with a warning: the box may still run on PostgreSQL and S3."""
    try:
        DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = DATA_DIR.stat()
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != 0o700:
            DATA_DIR.chmod(0o700)  # mkdir's mode is narrowed by the umask, never widened
    except OSError as error:
        warnings.warn(f"Could not make {DATA_DIR} private (0700): {error}", stacklevel=2)
    return DATA_DIR


ensure_data_dir()


DEBUG = env.bool("DEBUG", default=False)
# One switch for a site served over HTTPS by a reverse proxy that terminates TLS: it trusts the
# proxy's X-Forwarded-Proto and turns on Secure cookies, HSTS and the redirect to HTTPS.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=LOCAL_HOSTS)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A box is local when it answers only on loopback and is not behind a TLS proxy (or runs with
# DEBUG on). Anything else is production, where a missing SECRET_KEY must stop the start.
LOCAL_BOX = DEBUG or (not BEHIND_TLS_PROXY and set(ALLOWED_HOSTS) <= set(LOCAL_HOSTS))


def _local_secret_key() -> str:
    """A random key made once for this box and kept beside its data (never a shared default).

    The key is written to a private temporary file and then linked into place, so processes
    starting together all end up reading the one complete key.
    """
    path = DATA_DIR / "secret_key"
    if not path.exists():
        ensure_data_dir()
        with tempfile.NamedTemporaryFile("w", dir=DATA_DIR, delete=False) as draft:
            draft.write(secrets.token_urlsafe(50))
        try:
            os.link(draft.name, path)
        except FileExistsError:
            pass  # another process got there first; its key is the one
        finally:
            os.unlink(draft.name)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not LOCAL_BOX:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. A production box (DEBUG off, and BEHIND_TLS_PROXY on or "
            "ALLOWED_HOSTS beyond loopback) needs a long random SECRET_KEY in its environment."
        )
    SECRET_KEY = _local_secret_key()
# Old keys, newest first, still accepted for signatures and sessions while a new key rolls out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

INSTALLED_APPS = [
    "stampcard.accounts.apps.OTPAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "phonenumber_field",
    "stampcard.tenancy",
    "stampcard.loyalty",
    "stampcard.vouchers",
    "stampcard.idempotency",
    "stampcard.audit",
    "stampcard.outbox",
    "stampcard.stats",
    "stampcard.wallet",
    "stampcard.dashboard",
    "stampcard.customer",
    "stampcard.demo",
    "stampcard.portability",
    "stampcard.accounts",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
]

MIDDLEWARE = [
    # First: scans, PassKit and health probes take a short chain of their own.
    "stampcard.machine_requests.MachineRequestsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Inside the language's middleware, so the 405 page is in the visitor's language.
    "stampcard.method_not_allowed.MethodNotAllowedPageMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "stampcard.accounts.middleware.SessionLimitsMiddleware",
    "stampcard.accounts.middleware.PrivatePagesMiddleware",
    "stampcard.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "stampcard.tenancy.middleware.BusinessScopeMiddleware",
    # Last, so that it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "stampcard.urls"
WSGI_APPLICATION = "stampcard.wsgi.application"

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
                "stampcard.accounts.context_processors.two_factor_prompt",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'stampcard.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if Path(DATABASES["default"]["NAME"]).parent == DATA_DIR:
        ensure_data_dir()
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE takes the write lock at BEGIN, so a read-then-write transaction cannot fail
    # half-way with "database is locked"; WAL lets readers run beside the one writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Lets psycopg prepare the statements the stamp's hot path asks it to (Django's own
    # client-side binding cursors never prepare). Behind PgBouncer in transaction mode this
    # needs PgBouncer 1.21 or later with max_prepared_statements set.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Outbound work goes through the outbox (see stampcard.outbox): written with the change, then
# delivered by Celery workers when there is a broker, or by `python -m stampcard deliver_outbox`
# (started by `make run`) when there is none. Never inside a request.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
OUTBOX_POLL_SECONDS = env.float("OUTBOX_POLL_SECONDS", default=1.0)
CELERY_BEAT_SCHEDULE = {
    # A relay that waited behind busy workers is dropped: the next one does its work.
    "outbox-relay": {
        "task": "stampcard.outbox.tasks.relay",
        "schedule": OUTBOX_POLL_SECONDS,
        "options": {"expires": max(OUTBOX_POLL_SECONDS * 5, 5.0)},
    },
    "outbox-purge": {"task": "stampcard.outbox.tasks.purge", "schedule": 3600.0},
    # Without a broker, deliver_outbox runs every entry but the relay itself on its schedule.
    "mail-wipe-stale": {"task": "stampcard.outbox.tasks.wipe_stale_mail", "schedule": 300.0},
    "vouchers-expire": {
        "task": "stampcard.vouchers.tasks.expire_vouchers",
        "schedule": env.float("VOUCHER_EXPIRY_SECONDS", default=60.0),
    },
    "google-nonces-purge": {
        "task": "stampcard.wallet.tasks.purge_google_nonces",
        "schedule": 3600.0,
    },
    # One-time return and hand-over links, a day after they expired.
    "customer-links-purge": {
        "task": "stampcard.customer.tasks.purge_spent_links",
        "schedule": 3600.0,
    },
}
# The analytics' daily rollups (stampcard.stats): brought up to date this often by Celery beat
# or, without a broker, by deliver_outbox; rows younger than the lag are read live instead,
# so a transaction still open when a run starts is not passed over.
STATS_ROLLUP_EVERY_SECONDS = env.float("STATS_ROLLUP_EVERY_SECONDS", default=60.0)
STATS_ROLLUP_LAG_SECONDS = env.float("STATS_ROLLUP_LAG_SECONDS", default=60.0)
# Who visited in each period ending today is counted again this often per busy business.
STATS_SNAPSHOT_EVERY_SECONDS = env.float("STATS_SNAPSHOT_EVERY_SECONDS", default=900.0)
CELERY_BEAT_SCHEDULE["stats-roll-up"] = {
    "task": "stampcard.stats.tasks.roll_up",
    "schedule": STATS_ROLLUP_EVERY_SECONDS,
    "options": {"expires": STATS_ROLLUP_EVERY_SECONDS},
}
# A dispatcher holds a message this long; past it, the message is taken again.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=300)
OUTBOX_CONSUMER_TIME_LIMIT = env.int("OUTBOX_CONSUMER_TIME_LIMIT", default=60)
OUTBOX_RETRY_BASE_SECONDS = env.float("OUTBOX_RETRY_BASE_SECONDS", default=10.0)
OUTBOX_RETRY_MAX_SECONDS = env.float("OUTBOX_RETRY_MAX_SECONDS", default=3600.0)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=15)

# The least time between two stamps on one card from a kiosk or an Autopilot station, whatever
# the program's cooldown: the customer stamps their own card there, with nobody watching.
SELF_SERVICE_MIN_COOLDOWN_SECONDS = env.int("SELF_SERVICE_MIN_COOLDOWN_SECONDS", default=3600)

# The kiosk's screen timers, handed to its page (counter/kiosk.html): how long an answer stays
# on screen before the kiosk is back at idle, how long a voucher waits for the hold, how long a
# code must be out of the camera's view to count as shown again, and how long after "Not now"
# the same voucher is not asked about again.
KIOSK_IDLE_SECONDS = env.float("KIOSK_IDLE_SECONDS", default=8.0)
KIOSK_CONFIRM_SECONDS = env.float("KIOSK_CONFIRM_SECONDS", default=20.0)
KIOSK_GONE_SECONDS = env.float("KIOSK_GONE_SECONDS", default=5.0)
KIOSK_AGAIN_SECONDS = env.float("KIOSK_AGAIN_SECONDS", default=5.0)
# The staff scanner: the same code seen again this soon by the camera is the same scan.
SCANNER_DEBOUNCE_SECONDS = env.float("SCANNER_DEBOUNCE_SECONDS", default=4.0)

# The largest export document (uncompressed) that import_business reads.
PORTABILITY_MAX_IMPORT_BYTES = env.int("PORTABILITY_MAX_IMPORT_BYTES", default=1024**3)
# The largest export file an owner may upload to the dashboard's import page.
PORTABILITY_MAX_UPLOAD_BYTES = env.int("PORTABILITY_MAX_UPLOAD_BYTES", default=200 * 1024**2)
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=7)
# Topic -> dotted paths of the functions that apply its messages (see outbox.consumers).
OUTBOX_CONSUMERS: dict[str, list[str]] = {
    "card.changed": [
        "stampcard.wallet.consumers.push_card_changed",
        "stampcard.wallet.google_consumers.sync_google_object",
    ],
    "customer.joined": ["stampcard.wallet.google_consumers.sync_google_object"],
    "reward.earned": [
        "stampcard.wallet.consumers.announce_milestone",
        "stampcard.wallet.google_consumers.sync_google_object",
    ],
    "voucher.issued": [
        "stampcard.wallet.consumers.announce_milestone",
        "stampcard.wallet.google_consumers.sync_google_object",
        "stampcard.wallet.google_consumers.sync_google_offer",
    ],
    "voucher.redeemed": [
        "stampcard.wallet.consumers.push_voucher_changed",
        "stampcard.wallet.google_consumers.sync_google_object",
        "stampcard.wallet.google_consumers.sync_google_offer",
    ],
    "voucher.voided": [
        "stampcard.wallet.consumers.push_voucher_changed",
        "stampcard.wallet.google_consumers.sync_google_object",
        "stampcard.wallet.google_consumers.sync_google_offer",
    ],
    "voucher.expired": [
        "stampcard.wallet.consumers.push_voucher_changed",
        "stampcard.wallet.google_consumers.sync_google_object",
        "stampcard.wallet.google_consumers.sync_google_offer",
    ],
    # stampcard.mail: e-mail is sent from here, never inside a request.
    "mail.send": ["stampcard.mail.deliver_mail"],
    # wallet.changes: a program, business or location change; the debounced APNs pushes.
    "wallet.passes_changed": [
        "stampcard.wallet.consumers.refresh_passes",
        "stampcard.wallet.google_consumers.sync_google_program",
    ],
    "wallet.apple_push": ["stampcard.wallet.consumers.send_apple_pushes"],
}

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username+address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    # Older hashes still verify, and are rehashed with Argon2 at the next login.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"
ADMIN_PATH = env.str("ADMIN_PATH", default="admin/").strip("/") + "/"

# Login throttling (django-axes): a username is locked from one address after AXES_FAILURE_LIMIT
# wrong passwords in a row, for AXES_COOLOFF_TIME; every try while locked restarts the wait.
# Counts live in Redis when there is one, else in the database, which all processes of a box
# share (an in-process cache would give each worker its own count).
AXES_HANDLER = (
    "axes.handlers.cache.AxesCacheHandler"
    if REDIS_URL
    else "axes.handlers.database.AxesDatabaseHandler"
)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
# Not also per username: axes has one limit for every combination, so a username lockout would
# let anyone lock a victim out in AXES_FAILURE_LIMIT tries (README, LOGIN_FAILURE_LIMIT).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Sign-ups (accounts.signup): accounts started from one client address, and sign-ups of one
# e-mail address, within the window; more are refused until it has passed.
SIGNUPS_PER_ADDRESS = env.int("SIGNUPS_PER_ADDRESS", default=10)
SIGNUPS_PER_EMAIL = env.int("SIGNUPS_PER_EMAIL", default=3)
SIGNUP_WINDOW_SECONDS = env.int("SIGNUP_WINDOW_SECONDS", default=60 * 60)
for _name in ("SIGNUPS_PER_ADDRESS", "SIGNUPS_PER_EMAIL", "SIGNUP_WINDOW_SECONDS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be 1 or more.")
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "stampcard.accounts.views.locked_out"
# No banner on every command; a refused login is still logged with its username and address.
AXES_VERBOSE = False
if BEHIND_TLS_PROXY:
    # The client's address is the one the proxy in front of us saw.
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)

# Two-factor (django-otp, TOTP). Owners and platform operators with a confirmed device must enter
# a code after their password; those without one are asked to set one up after each login and
# may postpone it, unless OTP_REQUIRED is on (then they cannot reach a business page or the admin
# before they have one).
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="stampcard")

# Sessions end 12 hours after login at the latest, and after SESSION_IDLE_MINUTES without a
# request (both checked by stampcard.accounts.middleware.SessionLimitsMiddleware).
SESSION_COOKIE_AGE = min(env.int("SESSION_MAX_HOURS", default=12), 12) * 3600
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_MINUTES", default=30) * 60

# Mail (password reset). EMAIL_URL such as smtp+tls://user:password@mail.example.com:587;
# without it, mail is printed on the console, which is enough for one local box.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="stampcard <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds before a mail server that does not answer counts as down (the outbox retries).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("th", _("Thai")),
    ("kk", _("Kazakh")),
    ("uk", _("Ukrainian")),
    ("ru", _("Russian")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Kazakh dates and numbers (Django ships no formats for kk); the others keep Django's.
FORMAT_MODULE_PATH = ["stampcard.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
WHITENOISE_USE_FINDERS = True
# WhiteNoise knows no .webmanifest: browsers want the counter apps' manifests as this type.
WHITENOISE_MIMETYPES = {".webmanifest": "application/manifest+json"}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = BEHIND_TLS_PROXY
CSRF_COOKIE_SECURE = BEHIND_TLS_PROXY
SECURE_SSL_REDIRECT = BEHIND_TLS_PROXY
# Load balancers probe these over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=31536000) if BEHIND_TLS_PROXY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = (
    []
    if SECURE_HSTS_PRELOAD
    else [
        # Preloading is a promise to browsers vendors that only the domain's owner can make.
        "security.W021"
    ]
)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# No inline script or style anywhere: scripts are ES modules and styles are files under static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # QR codes and card previews are inline SVG or data: images.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# The counter's scanner uses this site's camera; nothing else may ask for these.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "camera": ["self"],
    "geolocation": [],
    "microphone": [],
    "payment": [],
    "usb": [],
    "serial": [],
    "bluetooth": [],
    "display-capture": [],
}

# Apple Wallet passes (stampcard.wallet): the pass type and team of the Pass Type ID certificate,
# and PEM files of that certificate, its key and the WWDR intermediate that issued it. Unset on
# a local box, a development chain is made once under DATA_DIR/wallet-dev/ (wallet.signing).
APPLE_PASS_TYPE_ID = env.str("APPLE_PASS_TYPE_ID", default="pass.local.stampcard")
APPLE_TEAM_ID = env.str("APPLE_TEAM_ID", default="LOCALTEAM1")
APPLE_PASS_CERT = env.str("APPLE_PASS_CERT", default="")
APPLE_PASS_KEY = env.str("APPLE_PASS_KEY", default="")
APPLE_WWDR_CERT = env.str("APPLE_WWDR_CERT", default="")
# Where customers reach this installation: printed QR codes, e-mailed links and the web card
# carry it (loyalty.links). Absolute, no trailing path.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# The PassKit web service as devices reach it (wallet.passkit): absolute, ending before "v1"
# (devices append "v1/..."). Apple requires https on a real device; plain http only works with
# the developer setting "Allow HTTP Services".
WALLET_WEB_SERVICE_URL = env.str("WALLET_WEB_SERVICE_URL", default="http://127.0.0.1:8000/passkit/")

# APNs pushes that tell devices a pass changed (wallet.apns, wallet.md B2). Off unless set: a
# local box and the tests never call Apple. Token auth when APNS_KEY_FILE (a .p8) is set,
# else TLS client auth with the pass certificate and key above.
APNS_ENABLED = env.bool("APNS_ENABLED", default=False)
APNS_URL = env.str("APNS_URL", default="https://api.push.apple.com")
APNS_KEY_ID = env.str("APNS_KEY_ID", default="")
APNS_KEY_FILE = env.str("APNS_KEY_FILE", default="")
# A CA bundle (PEM) that verifies the APNs server's certificate instead of the system's trust
# store; empty: the system's.
APNS_CA_FILE = env.str("APNS_CA_FILE", default="")
# Apple refuses a token refreshed more often than every 20 minutes and one older than an hour.
APNS_TOKEN_REFRESH_SECONDS = env.int("APNS_TOKEN_REFRESH_SECONDS", default=2400)
APNS_TIMEOUT_SECONDS = env.float("APNS_TIMEOUT_SECONDS", default=10.0)
APNS_CONCURRENCY = env.int("APNS_CONCURRENCY", default=100)
# HTTP/2 connections a process spreads a large batch of pushes over (1 to 16; checked by
# the wallet.E002 system check).
APNS_CONNECTIONS = env.int("APNS_CONNECTIONS", default=4)
# Changes of one pass within this many seconds make one push (wallet.changes).
WALLET_PUSH_DEBOUNCE_SECONDS = env.float("WALLET_PUSH_DEBOUNCE_SECONDS", default=2.0)

# Google Wallet loyalty passes (wallet.google, wallet.md C): a class per program and an object
# per card through the REST API, as the service account of GOOGLE_WALLET_SERVICE_ACCOUNT_FILE
# (its JSON key). Off unless both the issuer id and the key are set: then nothing is sent and
# no save link is offered.
GOOGLE_WALLET_ISSUER_ID = env.str("GOOGLE_WALLET_ISSUER_ID", default="")
GOOGLE_WALLET_SERVICE_ACCOUNT_FILE = env.str("GOOGLE_WALLET_SERVICE_ACCOUNT_FILE", default="")
GOOGLE_WALLET_API_URL = env.str(
    "GOOGLE_WALLET_API_URL", default="https://walletobjects.googleapis.com/walletobjects/v1/"
)
# Empty: the token_uri of the key file (Google's OAuth token endpoint).
GOOGLE_WALLET_TOKEN_URL = env.str("GOOGLE_WALLET_TOKEN_URL", default="")
# Google's root signing keys, which the save/delete callbacks are verified against (C6).
GOOGLE_WALLET_ROOT_KEYS_URL = env.str(
    "GOOGLE_WALLET_ROOT_KEYS_URL", default="https://pay.google.com/gp/m/issuer/keys"
)
GOOGLE_WALLET_TIMEOUT_SECONDS = env.float("GOOGLE_WALLET_TIMEOUT_SECONDS", default=10.0)
# Calls to Google at once when a program change rewrites many objects (wallet.google).
GOOGLE_WALLET_CONCURRENCY = env.int("GOOGLE_WALLET_CONCURRENCY", default=8)

PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default=None)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint logs each step of every printable at INFO: only its warnings are news.
    "loggers": {"weasyprint": {"level": "WARNING"}},
}
# Nonces of Google's callbacks are kept this many days, so a replayed callback is ignored; a
# callback whose own expiry lies further ahead is refused, so no accepted callback outlives its
# nonce (wallet.google_callbacks).
GOOGLE_WALLET_NONCE_KEEP_DAYS = env.int("GOOGLE_WALLET_NONCE_KEEP_DAYS", default=7)
