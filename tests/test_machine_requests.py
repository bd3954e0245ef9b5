"""Scans, the PassKit web service and health probes take the short middleware chain
(``stampcard.machine_requests``); pages for people keep the whole one."""

import contextlib
import contextvars
import io
import json
import select
import sys
import time

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections, transaction
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import cache

from stampcard.counter import views as counter_views
from stampcard.loyalty.models import StampEvent
from stampcard.machine_requests import MachineRequestsHandler
from stampcard.tenancy.middleware import DEVICE_COOKIE
from stampcard.tenancy.services import pair_device, revoke_device
from tests.counter.conftest import body


class PeopleOnly(AssertionError):
    pass


@pytest.fixture
def people_chain_refuses(monkeypatch):
    """Middleware only people's pages run raises if a request reaches it."""

    def refuse(*args, **kwargs):
        raise PeopleOnly()

    monkeypatch.setattr(SessionMiddleware, "process_request", refuse)
    monkeypatch.setattr(CsrfViewMiddleware, "process_request", refuse)


@pytest.fixture
def device(business, shop, staff_actor, settings):
    # One card is stamped again and again here: no least self-service cooldown.
    settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS = 0
    return pair_device(
        business=business, actor=staff_actor, name="Till 9", kind="autopilot", location=shop
    )


def post_scan(client, token, data, **headers):
    return client.post(
        "/device/scan",
        json.dumps(data),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
        **headers,
    )


@pytest.mark.django_db
def test_a_scan_never_reaches_the_middleware_made_for_people(
    client, device, card, people_chain_refuses
):
    response = post_scan(client, device.token, body(card.code, action="stamp"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "stamped"
    assert StampEvent.objects.filter(card=card).count() == 1
    # No session was opened for it, and the security headers are still there.
    assert "sessionid" not in response.cookies
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_a_page_for_people_still_runs_the_whole_chain(client, people_chain_refuses):
    with pytest.raises(PeopleOnly):
        client.get("/accounts/login/")


@pytest.mark.django_db
def test_the_short_chain_answers_in_the_callers_language(client, device):
    response = post_scan(
        client, device.token, body("ZZZZZZZZZ", action="stamp"), HTTP_ACCEPT_LANGUAGE="th"
    )
    assert response.json()["ok"] is False
    assert response["Content-Language"] == "th"
    message = response.json()["message"]
    # Thai script only: no English sentence slipped through.
    assert message
    assert not any(ch.isascii() and ch.isalpha() for ch in message)


@pytest.mark.django_db
def test_the_door_still_refuses_a_revoked_device_at_once(
    client, business, device, card, staff_actor
):
    assert post_scan(client, device.token, body(card.code, action="stamp")).status_code == 200
    revoke_device(business=business, device=device.device, actor=staff_actor)
    refused = post_scan(client, device.token, body(card.code, action="stamp"))
    assert refused.status_code in (401, 403)
    assert StampEvent.objects.filter(card=card).count() == 1


@pytest.mark.django_db
def test_passkit_and_health_take_the_short_chain(client, people_chain_refuses):
    logged = client.post(
        "/passkit/v1/log", json.dumps({"logs": ["hello"]}), content_type="application/json"
    )
    assert logged.status_code == 200
    assert "Content-Language" not in logged  # no sentences: no language to work out
    assert client.get("/healthz").status_code == 200


# The server's handler (stampcard.wsgi): the device scan's short way, against Django's own.


@contextlib.contextmanager
def connections_kept():
    """As Django's test client does: a test's transaction must outlive the request, so the
    signals that would close its connection are held back."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def call(app, method="POST", path="/device/scan", body=b"", context=None, **extra):
    """One request through a WSGI ``app``, from an empty context as a server sends it (or in
    ``context``): its status, its headers in order and its body."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **extra,
    }
    started = []

    def run():
        answer = app(environ, lambda status, headers, *exc: started.append((status, headers)))
        try:
            return b"".join(answer)
        finally:
            answer.close()

    content = (context or contextvars.Context()).run(run)
    return started[0][0], started[0][1], content


@pytest.fixture
def handlers(monkeypatch):
    """Django's handler, and the server's with its whole chain refusing to run: whatever the
    second answers came the short way."""
    django_handler = WSGIHandler()
    server = MachineRequestsHandler()

    def refuse(request):
        raise PeopleOnly(request.path)

    monkeypatch.setattr(server, "whole_chain", refuse)
    # The answers say "never cache" with the time: one fixed time for both.
    monkeypatch.setattr(cache, "http_date", lambda *args: "Tue, 01 Dec 2026 09:30:00 GMT")
    monkeypatch.setattr(counter_views, "http_date", lambda *args: "Tue, 01 Dec 2026 09:30:00 GMT")
    return django_handler, server


def both(handlers, card=None, **request):
    """The request answered by each handler, each undone afterwards; the stamp's ledger row
    (its id comes from a sequence) written as ``<event>``."""
    answers = []
    for app in handlers:
        with connections_kept(), transaction.atomic():
            status, headers, content = call(app, **request)
            if card is not None:
                for event in StampEvent.objects.filter(card=card):
                    for field in (b'"last_event": ', b'"event_id": '):
                        content = content.replace(field + b"%d" % event.pk, field + b"<event>")
            transaction.set_rollback(True)
        answers.append((status, headers, content))
    assert answers[0] == answers[1]
    return answers[1]


def scan_request(token, data, **extra):
    return {
        "body": json.dumps(data).encode(),
        "HTTP_AUTHORIZATION": f"Device {token}",
        **extra,
    }


@pytest.mark.django_db
def test_the_short_way_answers_a_stamp_as_django_does(handlers, device, card):
    status, headers, content = both(
        handlers, card, **scan_request(device.token, body(card.code, action="stamp"))
    )
    assert status == "200 OK"
    assert b'"event_id": <event>' in content
    assert json.loads(content.replace(b"<event>", b"0"))["outcome"] == "stamped"
    assert ("X-Content-Type-Options", "nosniff") in headers


@pytest.mark.django_db
def test_the_short_way_answers_a_shown_card_and_a_replay_as_django_does(handlers, device, card):
    status, _, content = both(handlers, **scan_request(device.token, body(card.code)))
    assert status == "200 OK"
    assert json.loads(content)["outcome"] == "shown"
    stamp = scan_request(device.token, body(card.code, action="stamp"))
    with connections_kept():
        assert call(handlers[0], **stamp)[0] == "200 OK"
    status, headers, content = both(handlers, card, **stamp)
    assert status == "200 OK"
    assert ("Idempotent-Replayed", "true") in headers


@pytest.mark.django_db
def test_the_short_way_refuses_as_django_does_in_the_callers_language(handlers, device, card):
    status, headers, content = both(
        handlers,
        **scan_request(device.token, body("ZZZZZZZZZ", action="stamp"), HTTP_ACCEPT_LANGUAGE="uk"),
    )
    assert status.startswith("4")
    assert json.loads(content)["ok"] is False
    assert ("Content-Language", "uk") in headers


@pytest.mark.django_db
def test_the_short_way_refuses_a_revoked_device_and_a_bad_token_as_django_does(
    handlers, business, device, card, staff_actor
):
    status, headers, _ = both(
        handlers, **scan_request("not-a-token", body(card.code, action="stamp"))
    )
    assert status == "401 Unauthorized"
    assert ("WWW-Authenticate", "Device") in headers
    revoke_device(business=business, device=device.device, actor=staff_actor)
    status, _, content = both(
        handlers, **scan_request(device.token, body(card.code, action="stamp"))
    )
    assert status == "403 Forbidden"
    assert json.loads(content)["code"] == "device_revoked"
    assert StampEvent.objects.filter(card=card).count() == 0


@pytest.mark.django_db
def test_the_short_way_refuses_a_wrong_method_and_a_malformed_scan_as_django_does(
    handlers, device, card
):
    status, headers, _ = both(handlers, method="GET", HTTP_AUTHORIZATION=f"Device {device.token}")
    assert status == "405 Method Not Allowed"
    assert ("Allow", "POST") in headers
    status, _, content = both(
        handlers, body=b'{"code": ', HTTP_AUTHORIZATION=f"Device {device.token}"
    )
    assert status == "400 Bad Request"
    assert json.loads(content)["refusal"] == "invalid_scan"


@pytest.mark.django_db
def test_the_short_way_asks_a_cookie_caller_for_the_csrf_token_as_django_does(
    handlers, device, card
):
    data = json.dumps(body(card.code, action="stamp")).encode()
    status, _, _ = both(handlers, body=data, HTTP_COOKIE=f"{DEVICE_COOKIE}={device.token}")
    assert status == "403 Forbidden"
    assert StampEvent.objects.filter(card=card).count() == 0


@pytest.mark.django_db
def test_every_other_url_takes_djangos_whole_way(device):
    with connections_kept():
        assert call(MachineRequestsHandler(), method="GET", path="/healthz")[0] == "200 OK"
        status, _, _ = call(
            MachineRequestsHandler(),
            method="GET",
            path="/device/",
            HTTP_AUTHORIZATION=f"Device {device.token}",
        )
        assert status == "200 OK"
        assert call(MachineRequestsHandler(), path="/device/scan/")[0] == "404 Not Found"


# The connection a scan finds: Django's health check, without its round trip when quiet.


def server_connection():
    """A context for a server's requests, and the database connection they use in it: the
    test's own, except while an event loop is running in this thread (left by the browser
    tests' Playwright), when Django keeps one connection per context."""
    served = contextvars.Context()
    return served, served.run(lambda: connections[DEFAULT_DB_ALIAS])


def backend_gone(db):
    """End the PostgreSQL backend of ``db`` (from a connection of its own to the same
    database) and wait until it has exited and its goodbye has reached ``db``'s socket."""
    pid = db.connection.info.backend_pid
    other = db.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            for _ in range(500):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.01)
            else:
                raise AssertionError(f"backend {pid} still running")
    finally:
        other.close()
    poll = select.poll()
    poll.register(db.connection.fileno(), select.POLLIN)
    assert poll.poll(5000), f"backend {pid} gone, but its connection has heard nothing"


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_is_replaced_before_the_next_scan(device, card):
    server = MachineRequestsHandler()
    served, db = server_connection()
    stamp = scan_request(device.token, body(card.code, action="stamp"))
    assert call(server, context=served, **stamp)[0] == "200 OK"
    assert db.connection is not None  # kept for the next request (CONN_MAX_AGE)
    pid = db.connection.info.backend_pid
    backend_gone(db)
    try:
        status, _, content = call(
            server, context=served, **scan_request(device.token, body(card.code, action="stamp"))
        )
        assert status == "200 OK", content
        assert db.connection.info.backend_pid != pid
        assert StampEvent.objects.filter(card=card).count() == 2
    finally:
        db.close()  # whatever happened, the next test starts on a live connection
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_quiet_kept_connection_is_used_without_a_health_round_trip(device, card, monkeypatch):
    server = MachineRequestsHandler()
    served, db = server_connection()
    stamp = scan_request(device.token, body(card.code, action="stamp"))
    assert call(server, context=served, **stamp)[0] == "200 OK"
    checks = []
    wrapper = type(connections[DEFAULT_DB_ALIAS])
    is_usable = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda db: checks.append(db) or is_usable(db))
    pid = db.connection.info.backend_pid
    stamp = scan_request(device.token, body(card.code, action="stamp"))
    assert call(server, context=served, **stamp)[0] == "200 OK"
    assert checks == []
    assert db.connection.info.backend_pid == pid
    # Elsewhere a request's first query keeps Django's own check.
    signals.request_started.send(sender=WSGIHandler, environ={})
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    signals.request_finished.send(sender=WSGIHandler)
    assert len(checks) == 1
