"""APNs certificate auth over real TLS, against the stand-in serving TLS on loopback.

A throwaway PKI made here stands in for Apple's: a root, a "WWDR" intermediate it signed and
a Pass Type ID certificate the intermediate issued; the stand-in trusts the root alone, so a
client that does not send the intermediate is refused. A second CA issued the server's
certificate (for 127.0.0.1), which the client trusts through ``APNS_CA_FILE``.
"""

import datetime
import ipaddress
import logging
import ssl
import warnings

import jwt
import pytest
from bench.wallet_apns_stand_in import WAIT, StandIn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from stampcard.outbox import dispatch
from stampcard.outbox.models import MessageStatus
from stampcard.wallet import apns, apns_http2
from stampcard.wallet.models import PassRegistration
from tests.wallet.test_apns import message_for, push_messages, register

PASS_TYPE = "pass.local.stampcard"
TEAM = "LOCALTEAM1"


def _name(common_name, *extra):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name), *extra])


def _certificate(subject, key, issuer, issuer_key, *, ca, san=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class Pki:
    """Apple's side (root, WWDR, pass certificates) and the server's, written under ``folder``."""

    def __init__(self, folder):
        self.folder = folder
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _certificate(
            _name("Stand-in Apple Root CA"), self.root_key, _name("Stand-in Apple Root CA"),
            self.root_key, ca=True,
        )  # fmt: skip
        self.wwdr_key, self.wwdr = self.intermediate("Stand-in WWDR G4", self.root_key, self.root)
        server_ca_key = ec.generate_private_key(ec.SECP256R1())
        server_ca = _certificate(
            _name("Stand-in server CA"), server_ca_key, _name("Stand-in server CA"),
            server_ca_key, ca=True,
        )  # fmt: skip
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = _certificate(
            _name("api.push.apple.com stand-in"), server_key, server_ca.subject, server_ca_key,
            ca=False, san="127.0.0.1",
        )  # fmt: skip
        self.server_ca_file = self.write("server-ca.pem", _pem(server_ca))
        self.server_chain = self.write("server.pem", _pem(server))
        self.server_key = self.write("server-key.pem", _key_pem(server_key))
        self.apple_root_file = self.write("apple-root.pem", _pem(self.root))

    def write(self, name, data):
        path = self.folder / name
        path.write_bytes(data)
        return str(path)

    def intermediate(self, common_name, root_key, root):
        key = ec.generate_private_key(ec.SECP256R1())
        return key, _certificate(_name(common_name), key, root.subject, root_key, ca=True)

    def pass_certificate(self, name, *, wwdr=None, wwdr_key=None):
        """A Pass Type ID certificate and key (``name``-cert.pem, ``name``-key.pem) issued by
        ``wwdr`` (the stand-in WWDR unless told), and that WWDR (``name``-wwdr.pem)."""
        wwdr, wwdr_key = wwdr or self.wwdr, wwdr_key or self.wwdr_key
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.USER_ID, PASS_TYPE),
                x509.NameAttribute(NameOID.COMMON_NAME, f"Pass Type ID: {PASS_TYPE} ({name})"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, TEAM),
            ]
        )
        certificate = _certificate(subject, key, wwdr.subject, wwdr_key, ca=False)
        return (
            self.write(f"{name}-cert.pem", _pem(certificate)),
            self.write(f"{name}-key.pem", _key_pem(key)),
            self.write(f"{name}-wwdr.pem", _pem(wwdr)),
            certificate,
        )

    def server_context(self, *, versions=None, alpn=("h2",), client_ca=None):
        """What the stand-in serves with: a client certificate required, checked against
        Apple's root alone (``client_ca`` to trust another)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_chain, self.server_key)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca or self.apple_root_file)
        context.set_alpn_protocols(list(alpn))
        if versions is not None:
            with warnings.catch_warnings():  # TLS 1.0 and 1.1 are deprecated: the point
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version, context.maximum_version = versions
            # OpenSSL's default security level allows no cipher under TLS 1.2 any more.
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        return context


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


@pytest.fixture
def tls_apns(settings, pki, tmp_path):
    """Certificate auth configured with a good pass certificate; returns a function that
    starts a TLS stand-in (given its server context) and points the client at it."""
    servers = []
    settings.DATA_DIR = tmp_path
    settings.APNS_KEY_FILE = ""
    settings.APNS_CA_FILE = pki.server_ca_file
    settings.APNS_TIMEOUT_SECONDS = WAIT
    settings.WALLET_PUSH_DEBOUNCE_SECONDS = 0
    use_pass_certificate(settings, pki.pass_certificate("good"))
    apns.reset_client()

    def start(context=None, answers=None):
        server = StandIn(answers, tls=context or pki.server_context()).start()
        servers.append(server)
        settings.APNS_URL = server.url
        apns.reset_client()
        return server

    yield start
    apns.reset_client()
    for server in servers:
        server.stop()


def use_pass_certificate(settings, made):
    settings.APPLE_PASS_CERT, settings.APPLE_PASS_KEY, settings.APPLE_WWDR_CERT, _ = made


def subjects(chain):
    return [x509.load_der_x509_certificate(der).subject.rfc4514_string() for der in chain]


def test_the_client_presents_the_pass_certificate_and_its_wwdr_intermediate(tls_apns, pki):
    server = tls_apns()
    result = apns.client().send("tok-tls")
    assert result.outcome is apns.Outcome.OK
    (session,) = server.tls_sessions
    # The pass certificate file holds the leaf alone (as Apple's export does): the client
    # added the WWDR intermediate, without which a server trusting only the root refuses it.
    leaf, intermediate = session["chain"]
    assert x509.load_der_x509_certificate(leaf).subject.get_attributes_for_oid(NameOID.USER_ID)[
        0
    ].value == (PASS_TYPE)
    assert x509.load_der_x509_certificate(intermediate) == pki.wwdr
    assert session["alpn"] == "h2"
    assert session["version"] == "TLSv1.3"
    (request,) = server.requests
    assert request["headers"][":scheme"] == "https"
    assert "authorization" not in request["headers"]
    assert server.tls_refusals == []


def test_a_chain_file_that_already_holds_the_intermediate_sends_it_once(tls_apns, pki, settings):
    cert, key, wwdr, _ = pki.pass_certificate("bundled")
    with open(cert, "ab") as chain, open(wwdr, "rb") as intermediate:
        chain.write(intermediate.read())
    use_pass_certificate(settings, (cert, key, wwdr, None))
    server = tls_apns()
    assert apns.client().send("tok").outcome is apns.Outcome.OK
    assert len(server.tls_sessions[0]["chain"]) == 2


def test_the_client_context_requires_tls_1_2_or_later_and_offers_h2_only(settings, pki):
    settings.APNS_CA_FILE = pki.server_ca_file
    context = apns_http2.tls_context(ca_file=pki.server_ca_file)
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname


def test_tls_1_2_is_enough(tls_apns, pki):
    server = tls_apns(pki.server_context(versions=(ssl.TLSVersion.TLSv1_2,) * 2))
    assert apns.client().send("tok").outcome is apns.Outcome.OK
    assert server.tls_sessions[0]["version"] == "TLSv1.2"


def test_a_server_offering_only_tls_older_than_1_2_is_refused_clearly(tls_apns, pki):
    old = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
    server = tls_apns(pki.server_context(versions=old))
    result = apns.client().send("tok")
    assert result.outcome is apns.Outcome.CONFIG
    assert "TLS 1.2 or later is required" in result.reason
    assert server.requests == []
    # The server refused for want of a version in common (its alert says no more).
    assert server.tls_refusals == ["UNSUPPORTED_PROTOCOL"]


def test_a_server_that_does_not_agree_to_http2_is_refused_clearly(tls_apns, pki):
    server = tls_apns(pki.server_context(alpn=("http/1.1",)))
    result = apns.client().send("tok")
    assert result.outcome is apns.Outcome.CONFIG
    assert "did not agree to HTTP/2" in result.reason
    assert server.requests == []
    # Refused once: no reconnecting in a loop.
    assert server.connections == 1


def test_an_untrusted_server_certificate_is_refused_and_names_apns_ca_file(tls_apns, settings):
    settings.APNS_CA_FILE = ""  # the system's trust store, which knows no stand-in CA
    server = tls_apns()
    result = apns.client().send("tok")
    assert result.outcome is apns.Outcome.CONFIG
    assert "APNS_CA_FILE" in result.reason
    assert server.requests == []


@pytest.mark.parametrize(
    ("version", "after_handshake"),
    [(ssl.TLSVersion.TLSv1_3, True), (ssl.TLSVersion.TLSv1_2, False)],
)
def test_a_refused_client_certificate_is_a_certificate_problem_not_retried(
    tls_apns, pki, settings, version, after_handshake
):
    # A certificate from a "WWDR" that Apple's root never signed: the server refuses it.
    rogue_root_key = ec.generate_private_key(ec.SECP256R1())
    rogue_root = _certificate(
        _name("Rogue root"), rogue_root_key, _name("Rogue root"), rogue_root_key, ca=True
    )
    rogue_key, rogue = pki.intermediate("Rogue WWDR", rogue_root_key, rogue_root)
    use_pass_certificate(settings, pki.pass_certificate("rogue", wwdr=rogue, wwdr_key=rogue_key))
    server = tls_apns(pki.server_context(versions=(version, version)))
    client = apns.client()
    results = client.send_many([f"tok-{n}" for n in range(5)])
    assert {r.outcome for r in results} == {apns.Outcome.CONFIG}
    assert all(r.reason.startswith("CertificateRefused: ") for r in results), results
    assert "the server refused our client certificate" in results[0].reason
    assert server.tls_refusals  # the stand-in did refuse it, with a TLS alert
    # One connection, one refusal: connecting again with the same certificate is pointless.
    assert server.connections == 1
    if after_handshake:
        # TLS 1.3: the client's handshake completed before the refusal; the server's
        # alert was read as the connection's first answer.
        assert server.tls_sessions == []


def test_after_a_refusal_the_tls_context_is_rebuilt_from_the_replaced_certificate(
    tls_apns, pki, settings
):
    expired_ca_key, expired_ca = pki.intermediate("WWDR of another root", *_other_root(pki.folder))
    use_pass_certificate(
        settings, pki.pass_certificate("old", wwdr=expired_ca, wwdr_key=expired_ca_key)
    )
    server = tls_apns()
    client = apns.client()
    assert client.send("tok").outcome is apns.Outcome.CONFIG
    assert client.tls_contexts == 1
    # The operator installs the renewed certificate (new files, same settings' names).
    cert, key, wwdr, renewed = pki.pass_certificate("renewed")
    for setting, path in (
        ("APPLE_PASS_CERT", cert),
        ("APPLE_PASS_KEY", key),
        ("APPLE_WWDR_CERT", wwdr),
    ):
        with open(path, "rb") as new, open(getattr(settings, setting), "wb") as old:
            old.write(new.read())
    assert client.send("tok").outcome is apns.Outcome.OK
    assert client.tls_contexts == 2
    leaf = x509.load_der_x509_certificate(server.tls_sessions[-1]["chain"][0])
    assert leaf == renewed
    # Without a refusal the context stays: a new connection reuses it.
    assert client.send("tok").outcome is apns.Outcome.OK
    assert client.tls_contexts == 2


def test_a_key_that_is_not_the_certificates_is_a_configuration_error(tls_apns, pki, settings):
    _, other_key, _, _ = pki.pass_certificate("other")
    settings.APPLE_PASS_KEY = other_key
    server = tls_apns()
    result = apns.client().send("tok")
    assert result.outcome is apns.Outcome.CONFIG
    assert "cannot be used" in result.reason
    assert "PRIVATE KEY" not in result.reason
    assert server.connections == 0


def _other_root(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _certificate(_name("Another root"), key, _name("Another root"), key, ca=True)


@pytest.mark.django_db
def test_a_refused_certificate_parks_the_push_message_until_replayed(
    tls_apns, pki, settings, card, caplog
):
    settings.APNS_ENABLED = True
    other_key, other_root = _other_root(pki.folder)
    bad_wwdr_key, bad_wwdr = pki.intermediate("WWDR of another root", other_key, other_root)
    use_pass_certificate(
        settings, pki.pass_certificate("refused", wwdr=bad_wwdr, wwdr_key=bad_wwdr_key)
    )
    server = tls_apns()
    register(card, "tls-one")
    register(card, "tls-two")
    from stampcard.wallet.consumers import push_card_changed

    push_card_changed(message_for(card))
    (message,) = push_messages()
    with caplog.at_level(logging.ERROR):
        assert dispatch.deliver(message.pk) == MessageStatus.DEAD
    message.refresh_from_db()
    assert message.attempts == 1
    assert "CertificateRefused" in message.last_error
    assert "APNs refused this server's credentials" in caplog.text
    assert "tls-one" not in caplog.text  # no device's push token in the log
    assert set(PassRegistration.objects.values_list("push_batch", flat=True)) == {message.pk}
    # The certificate is fixed and the operator replays the message: the pushes go out.
    use_pass_certificate(settings, pki.pass_certificate("fixed"))
    dispatch.replay([message.pk])
    assert dispatch.deliver(message.pk) == MessageStatus.DELIVERED
    assert sorted(r["headers"][":path"] for r in server.requests) == [
        "/3/device/tls-one",
        "/3/device/tls-two",
    ]
    assert not PassRegistration.objects.filter(push_batch__isnull=False).exists()


def test_token_auth_over_tls_sends_the_provider_token_and_no_client_certificate(
    tls_apns, pki, settings, tmp_path
):
    """With a .p8 key the client authenticates by its ES256 provider token alone: Apple's
    token-based connection asks for no client certificate, and the client sends none."""
    key = ec.generate_private_key(ec.SECP256R1())
    settings.APNS_KEY_FILE = pki.write("AuthKey_KEY1234567.p8", _key_pem(key))
    settings.APNS_KEY_ID = "KEY1234567"
    context = pki.server_context()
    context.verify_mode = ssl.CERT_NONE  # token auth: the server asks for no certificate
    server = tls_apns(context)
    result = apns.client().send("tok-token-tls")
    assert result.outcome is apns.Outcome.OK
    (session,) = server.tls_sessions
    assert session["chain"] == []
    assert session["alpn"] == "h2"
    (request,) = server.requests
    scheme, token = request["headers"]["authorization"].split(" ")
    assert scheme == "bearer"
    claims = jwt.decode(token, key.public_key(), algorithms=["ES256"])
    assert claims["iss"] == settings.APPLE_TEAM_ID
    assert jwt.get_unverified_header(token)["kid"] == "KEY1234567"
    assert request["headers"]["apns-topic"] == settings.APPLE_PASS_TYPE_ID
