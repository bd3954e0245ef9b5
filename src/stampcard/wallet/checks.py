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
