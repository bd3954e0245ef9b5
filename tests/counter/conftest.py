"""A paired scanner at Corner Cafe's Riverside shop, and a helper that scans through it."""

import json
import uuid

import pytest
from django.utils import timezone

from stampcard.tenancy.services import pair_device


@pytest.fixture
def scanner(business, shop, staff_actor):
    return pair_device(
        business=business, actor=staff_actor, name="Till 1", kind="scanner", location=shop
    )


def body(code, *, nonce=None, action=None, scanned_at=None, **extra):
    data = {
        "code": code,
        "nonce": nonce or uuid.uuid4().hex,
        "scanned_at": (scanned_at or timezone.now()).isoformat(),
        **extra,
    }
    if action is not None:
        data["action"] = action
    return data


@pytest.fixture
def scan(client, scanner):
    """POST one scan to /device/scan as the paired scanner; returns the response."""

    def send(code, *, token=None, language="en", **fields):
        return client.post(
            "/device/scan",
            json.dumps(body(code, **fields)),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Device {token or scanner.token}",
            HTTP_ACCEPT_LANGUAGE=language,
        )

    return send
