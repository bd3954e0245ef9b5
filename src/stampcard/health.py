"""Probes for load balancers: /healthz (the process answers), /readyz (its backends answer)."""

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which kind
        checks["database"] = type(exc).__name__
    if settings.REDIS_URL:
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = type(exc).__name__
    else:
        checks["broker"] = "embedded"
    ready = all(value in ("ok", "embedded") for value in checks.values())
    return JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)
