from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


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
