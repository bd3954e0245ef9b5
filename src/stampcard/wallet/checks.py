import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register()
def web_service_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``WALLET_WEB_SERVICE_URL`` as Apple needs it: absolute, ending before ``v1``."""
    url = settings.WALLET_WEB_SERVICE_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problem = "must be an absolute http(s) URL"
    elif not url.endswith("/") or parts.path.rstrip("/").endswith("/v1"):
        # Devices append "v1/devices/…" themselves.
        problem = "must end with '/' and before 'v1'"
    else:
        return []
    return [Error(f"WALLET_WEB_SERVICE_URL {problem}: {url!r}", id="wallet.E001")]


@register()
def apns_connections(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``APNS_CONNECTIONS``: a few connections, never none, never a crowd."""
    from stampcard.wallet import apns  # the HTTP/2 client, loaded only here in a web process

    value = settings.APNS_CONNECTIONS
    whole = isinstance(value, int) and not isinstance(value, bool)
    if whole and 1 <= value <= apns.MAX_CONNECTIONS:
        return []
    return [
        Error(
            f"APNS_CONNECTIONS must be a whole number from 1 to {apns.MAX_CONNECTIONS}: {value!r}",
            hint="Apple advises a few long-lived connections; 4 is the default.",
            id="wallet.E002",
        )
    ]


# A renewal takes a few days at Apple's portal; a month's notice leaves room for it.
CERTIFICATE_NOTICE = datetime.timedelta(days=30)


@register()
def signing_certificates(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The material that signs Apple passes holds together: the key is the pass certificate's,
    the WWDR certificate issued it, and it is not about to expire (an iPhone refuses a pass
    signed otherwise, silently). Nothing to check before a local box made its chain."""
    from stampcard.wallet import signing

    configured = (settings.APPLE_PASS_CERT, settings.APPLE_PASS_KEY, settings.APPLE_WWDR_CERT)
    if not any(configured) and not (Path(settings.DATA_DIR) / signing.DEV_DIR_NAME).exists():
        return []
    try:
        cert_path, key_path, wwdr_path = signing.material_paths()
        certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
        wwdr = x509.load_pem_x509_certificate(Path(wwdr_path).read_bytes())
    except (ImproperlyConfigured, OSError, ValueError, TypeError) as unreadable:
        return [Error(f"Apple pass signing material unusable: {unreadable}", id="wallet.E003")]
    found: list[CheckMessage] = []
    if key.public_key().public_bytes(*_PUBLIC) != certificate.public_key().public_bytes(*_PUBLIC):
        found.append(
            Error(
                f"APPLE_PASS_KEY {key_path} is not the key of APPLE_PASS_CERT {cert_path}.",
                hint="Export both from the same Pass Type ID identity (pass.p12).",
                id="wallet.E004",
            )
        )
    try:
        certificate.verify_directly_issued_by(wwdr)
    except (ValueError, TypeError, InvalidSignature):
        found.append(
            Error(
                f"APPLE_WWDR_CERT {wwdr_path} ({wwdr.subject.rfc4514_string()}) did not issue "
                f"APPLE_PASS_CERT {cert_path} (issuer {certificate.issuer.rfc4514_string()}).",
                hint="Download the WWDR intermediate the certificate's issuer names (OU G4).",
                id="wallet.E005",
            )
        )
    left = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    if left <= datetime.timedelta(0):
        found.append(
            Warning(
                f"APPLE_PASS_CERT {cert_path} expired on "
                f"{certificate.not_valid_after_utc:%Y-%m-%d}: devices refuse new passes.",
                hint="Renew the Pass Type ID certificate at Apple's developer portal.",
                id="wallet.W001",
            )
        )
    elif left <= CERTIFICATE_NOTICE:
        found.append(
            Warning(
                f"APPLE_PASS_CERT {cert_path} expires on "
                f"{certificate.not_valid_after_utc:%Y-%m-%d}, in {left.days} days.",
                hint="Renew the Pass Type ID certificate at Apple's developer portal.",
                id="wallet.W001",
            )
        )
    return found


_PUBLIC = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
