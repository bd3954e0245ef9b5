"""The Pass Type ID certificate, its key and the WWDR intermediate that sign Apple passes.

Production names three PEM files (``APPLE_PASS_CERT``, ``APPLE_PASS_KEY``,
``APPLE_WWDR_CERT``). A local box without them gets a development chain made once under
``STAMPCARD_DATA_DIR/wallet-dev/``: a self-made "WWDR" CA and a pass certificate it signed,
with the configured pass type id and team id. Such passes verify with ``openssl cms`` against
that CA, but an iPhone refuses them: only Apple's chain opens on a device.
"""

import datetime
import functools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEV_DIR_NAME = "wallet-dev"
DEV_FILES = {"cert": "pass-cert.pem", "key": "pass-key.pem", "wwdr": "wwdr-dev-ca.pem"}


@dataclass(frozen=True, slots=True)
class SigningMaterial:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    wwdr: x509.Certificate


def sign_manifest(manifest: bytes) -> bytes:
    """The detached PKCS#7 (DER) signature of ``manifest`` that Wallet checks (wallet.md A8)."""
    material = signing_material()
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest)
        .add_signer(material.certificate, material.key, hashes.SHA256())
        .add_certificate(material.wwdr)
        # Signed attributes stay on: they carry the signingTime Apple asks for.
        .sign(
            serialization.Encoding.DER,
            [
                pkcs7.PKCS7Options.DetachedSignature,
                pkcs7.PKCS7Options.Binary,
                pkcs7.PKCS7Options.NoCapabilities,
            ],
        )
    )


# How long a process signs with what it read before looking at the files again.
RECHECK_SECONDS = 1.0
# (the settings naming the material, when the files were last looked at, the material)
_current: tuple[tuple[str, ...], float, SigningMaterial] | None = None


def signing_material() -> SigningMaterial:
    """The material as the files hold it: read once, then again only when the settings
    naming it change, or a file changed (looked at once a second: a renewed certificate is
    picked up without a restart, and a build costs no file access)."""
    global _current
    named = (
        settings.APPLE_PASS_CERT,
        settings.APPLE_PASS_KEY,
        settings.APPLE_WWDR_CERT,
        settings.APPLE_PASS_TYPE_ID,
        settings.APPLE_TEAM_ID,
        str(settings.DATA_DIR),
        str(settings.LOCAL_BOX),
    )
    now = time.monotonic()
    known = _current
    if known is not None and known[0] == named and now - known[1] < RECHECK_SECONDS:
        return known[2]
    cert, key, wwdr = material_paths()
    material = _load(
        cert,
        key,
        wwdr,
        settings.APPLE_PASS_TYPE_ID,
        settings.APPLE_TEAM_ID,
        (_file_state(cert), _file_state(key), _file_state(wwdr)),
    )
    _current = (named, now, material)
    return material


def _file_state(path: str) -> tuple[int, int, int]:
    """What moves when a file is replaced or rewritten: a stat, far cheaper than a read."""
    found = os.stat(path)
    return found.st_ino, found.st_mtime_ns, found.st_size


def can_sign() -> bool:
    """Whether this box can sign Apple passes (configured, or a local development chain)."""
    try:
        signing_material()
    except (ImproperlyConfigured, OSError, ValueError):
        return False
    return True


def material_paths() -> tuple[str, str, str]:
    """The PEM files of the pass certificate, its key and the WWDR intermediate."""
    paths: tuple[str, ...] = (
        settings.APPLE_PASS_CERT,
        settings.APPLE_PASS_KEY,
        settings.APPLE_WWDR_CERT,
    )
    if not any(paths):
        if not settings.LOCAL_BOX:
            raise ImproperlyConfigured(
                "APPLE_PASS_CERT, APPLE_PASS_KEY and APPLE_WWDR_CERT are not set: a production "
                "box signs Apple passes with the Pass Type ID certificate Apple issued."
            )
        folder = dev_chain(Path(settings.DATA_DIR))
        paths = tuple(str(folder / DEV_FILES[name]) for name in ("cert", "key", "wwdr"))
    elif not all(paths):
        raise ImproperlyConfigured(
            "Set all three of APPLE_PASS_CERT, APPLE_PASS_KEY and APPLE_WWDR_CERT, or none."
        )
    cert, key, wwdr = paths
    return cert, key, wwdr


# Keyed by the files' state too (signing_material): a changed file is a new key.
@functools.lru_cache(maxsize=4)
def _load(
    cert: str,
    key: str,
    wwdr: str,
    pass_type_id: str,
    team_id: str,
    state: tuple[tuple[int, int, int], ...],
) -> SigningMaterial:
    certificate = x509.load_pem_x509_certificate(Path(cert).read_bytes())
    private_key = serialization.load_pem_private_key(Path(key).read_bytes(), password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured(f"{key}: Apple pass keys are RSA keys.")
    # iOS refuses a pass whose ids differ from its certificate's, silently (wallet.md A8).
    subject = certificate.subject
    uid = [a.value for a in subject.get_attributes_for_oid(NameOID.USER_ID)]
    ou = [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    if uid != [pass_type_id] or ou != [team_id]:
        raise ImproperlyConfigured(
            f"{cert} is for pass type {uid} of team {ou}, not APPLE_PASS_TYPE_ID "
            f"{pass_type_id!r} and APPLE_TEAM_ID {team_id!r}."
        )
    return SigningMaterial(
        certificate=certificate,
        key=private_key,
        wwdr=x509.load_pem_x509_certificate(Path(wwdr).read_bytes()),
    )


def dev_chain(data_dir: Path) -> Path:
    """The development chain's folder, made once: drafted beside it, then renamed into place,
    so processes starting together all use one complete chain."""
    folder = data_dir / DEV_DIR_NAME
    if folder.exists():
        return folder
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = Path(tempfile.mkdtemp(prefix=f".{DEV_DIR_NAME}-", dir=data_dir))
    try:
        _write_dev_chain(draft)
        os.rename(draft, folder)
    except OSError:
        if not folder.exists():
            raise
        # Another process got there first; its chain is the one.
    finally:
        shutil.rmtree(draft, ignore_errors=True)
    return folder


def _write_dev_chain(folder: Path) -> None:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "stampcard development WWDR (not Apple)"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "G4"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stampcard development"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pass_type_id = settings.APPLE_PASS_TYPE_ID
    subject = x509.Name(
        [
            # What Apple's Pass Type ID certificates carry: UID = pass type, OU = team.
            x509.NameAttribute(NameOID.USER_ID, pass_type_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Pass Type ID: {pass_type_id}"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, settings.APPLE_TEAM_ID),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stampcard development"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / DEV_FILES["wwdr"]).write_bytes(ca.public_bytes(pem))
    (folder / DEV_FILES["cert"]).write_bytes(certificate.public_bytes(pem))
    key_path = folder / DEV_FILES["key"]
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
    # The CA's key is not kept: nothing else is ever signed with it.


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
