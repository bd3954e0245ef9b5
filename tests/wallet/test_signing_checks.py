"""System checks of the material that signs Apple passes: key, issuer and expiry."""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.core.management import call_command

from stampcard.wallet import checks, signing

PEM = serialization.Encoding.PEM
NOW = datetime.datetime.now(datetime.UTC)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(subject, issuer, public_key, signer, days_left):
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=400))
        .not_valid_after(NOW + datetime.timedelta(days=days_left))
        .sign(signer, hashes.SHA256())
    )


def write_chain(folder, *, days_left=365, other_key=False, other_issuer=False, wrong_signer=False):
    """A WWDR stand-in, a pass certificate it signed and the certificate's key, as settings
    name them; each flag spoils one thing."""
    ca_key, leaf_key = _key(), _key()
    ca = _certificate(_name("WWDR"), _name("WWDR"), ca_key.public_key(), ca_key, 3650)
    issuer = _name("Someone else") if other_issuer else _name("WWDR")
    signer = _key() if wrong_signer else ca_key
    leaf = _certificate(_name("Pass"), issuer, leaf_key.public_key(), signer, days_left)
    key = _key() if other_key else leaf_key
    paths = {name: folder / f"{name}.pem" for name in ("cert", "key", "wwdr")}
    paths["cert"].write_bytes(leaf.public_bytes(PEM))
    paths["wwdr"].write_bytes(ca.public_bytes(PEM))
    paths["key"].write_bytes(
        key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture
def configure(settings, tmp_path):
    settings.DATA_DIR = tmp_path

    def configure(**spoil):
        paths = write_chain(tmp_path, **spoil)
        settings.APPLE_PASS_CERT = str(paths["cert"])
        settings.APPLE_PASS_KEY = str(paths["key"])
        settings.APPLE_WWDR_CERT = str(paths["wwdr"])
        return [message.id for message in checks.signing_certificates()]

    return configure


def test_a_sound_chain_passes(configure):
    assert configure() == []


@pytest.mark.parametrize(
    ("spoil", "found"),
    [
        ({"other_key": True}, ["wallet.E004"]),
        ({"other_issuer": True}, ["wallet.E005"]),
        ({"wrong_signer": True}, ["wallet.E005"]),
        ({"days_left": 29}, ["wallet.W001"]),
        ({"days_left": -1}, ["wallet.W001"]),
    ],
)
def test_each_fault_is_found(configure, spoil, found):
    assert configure(**spoil) == found


def test_unreadable_material_is_an_error(configure, settings, tmp_path):
    configure()
    (tmp_path / "key.pem").write_text("not a key")
    assert [m.id for m in checks.signing_certificates()] == ["wallet.E003"]


def test_the_development_chain_of_make_run_passes(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.LOCAL_BOX = True
    settings.APPLE_PASS_CERT = settings.APPLE_PASS_KEY = settings.APPLE_WWDR_CERT = ""
    call_command("wallet_certificates")
    assert (tmp_path / signing.DEV_DIR_NAME).exists()
    assert checks.signing_certificates() == []
