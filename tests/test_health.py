import pytest
from django.test import override_settings


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_and_broker(client, settings):
    body = client.get("/readyz").json()
    assert body["database"] == "ok"
    assert body["ready"] is True
    assert body["broker"] == ("ok" if settings.REDIS_URL else "embedded")


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_readyz_says_so_when_the_broker_is_down(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["broker"] == "ConnectionError"
