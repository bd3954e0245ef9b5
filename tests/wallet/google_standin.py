"""A stand-in for Google on loopback: OAuth token endpoint, Wallet REST API, callback signer.

A real HTTP server in a thread. It speaks the parts of Google's protocol stampcard uses:

- ``POST /token``: the service-account JWT bearer grant (RFC 7523); the assertion is verified
  with the service account's public key before an access token is handed out;
- ``/walletobjects/v1/loyaltyClass`` and ``loyaltyObject``: insert (POST, 409 when present),
  patch (PATCH, 404 when absent), ``addMessage`` (at most 3 ``TEXT_AND_NOTIFY`` per object in
  its lifetime here, then 403 ``quotaExceeded``, as Google does per 24 hours); a bearer
  token it did not issue gets 401;
- ``GET /keys``: a root signing key list in Google's format, of a throwaway root key.

``Signer`` makes ECv2SigningOnly callback bodies as Google signs them (wallet.md C6).
"""

import base64
import json
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

API = "/walletobjects/v1/"
NOTIFY_QUOTA = 3


def service_account_key(path, token_uri):
    """Write a service-account JSON key file as Google issues it; returns the private key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "stampcard-test",
                "private_key_id": "key-1",
                "private_key": pem,
                "client_email": "wallet@stampcard-test.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": token_uri,
            }
        )
    )
    return key


class GoogleStandIn:
    def __init__(self, public_key, root_keys_document=None):
        self.public_key = public_key
        self.root_keys_document = root_keys_document or {"keys": []}
        self.requests = []
        self.resources = {}  # (kind, id) -> body
        self.notified = {}  # object id -> notifying messages taken
        self.messages = {}  # object id -> messages
        self.tokens = set()
        self.grants = []
        # Statuses to answer the next API calls with (None: as usual), before anything else.
        self.fail_next = []
        self.quota_exceeded = False
        # Seconds each API call takes, as Google's round trip would; and the most calls
        # seen under way at once.
        self.latency = 0.0
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                standin.handle(self, "GET")

            def do_POST(self):
                standin.handle(self, "POST")

            def do_PATCH(self):
                standin.handle(self, "PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    @property
    def token_url(self):
        return self.url + "/token"

    @property
    def api_url(self):
        return self.url + API

    def api_calls(self):
        return [(r["method"], r["path"]) for r in self.requests if r["path"].startswith(API)]

    def handle(self, handler, method):
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = unquote(handler.path)
        if path.startswith(API):
            with self.lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            time.sleep(self.latency)
            with self.lock:
                self.in_flight -= 1
        with self.lock:
            self.requests.append(
                {"method": method, "path": path, "headers": dict(handler.headers), "body": raw}
            )
            status, answer = self.answer(method, path, handler.headers, raw)
        data = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def answer(self, method, path, headers, raw):
        if path == "/keys" and method == "GET":
            return 200, self.root_keys_document
        if path == "/token" and method == "POST":
            return self.grant(raw)
        if not path.startswith(API):
            return 404, _error(404, "notFound")
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
            return 401, _error(401, "authError")
        status = self.fail_next.pop(0) if self.fail_next else None
        if status is not None:  # None: answer this call as usual
            return status, _error(status, "rateLimitExceeded" if status == 429 else "backendError")
        body = json.loads(raw) if raw else None
        parts = path.removeprefix(API).split("/")
        kind = parts[0]
        if method == "POST" and len(parts) == 1:
            key = (kind, body["id"])
            if key in self.resources:
                return 409, _error(409, "duplicate")
            self.resources[key] = body
            return 200, body
        if method == "PATCH" and len(parts) == 2:
            key = (kind, parts[1])
            if key not in self.resources:
                return 404, _error(404, "resourceNotFound")
            self.resources[key] = {**self.resources[key], **body}
            return 200, self.resources[key]
        if method == "POST" and len(parts) == 3 and parts[2] == "addMessage":
            object_id = parts[1]
            if (kind, object_id) not in self.resources:
                return 404, _error(404, "resourceNotFound")
            message = body["message"]
            if message["messageType"] == "TEXT_AND_NOTIFY":
                taken = self.notified.get(object_id, 0)
                if self.quota_exceeded or taken >= NOTIFY_QUOTA:
                    return 403, _error(403, "quotaExceeded", "QuotaExceededException")
                self.notified[object_id] = taken + 1
            self.messages.setdefault(object_id, []).append(message)
            return 200, {"resource": self.resources[(kind, object_id)]}
        return 404, _error(404, "notFound")

    def grant(self, raw):
        form = parse_qs(raw.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form["assertion"][0],
                self.public_key,
                algorithms=["RS256"],
                # google-auth names Google's token endpoint as the audience, wherever it posts.
                audience=[self.token_url, "https://oauth2.googleapis.com/token"],
            )
        except (jwt.InvalidTokenError, KeyError) as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc)}
        self.grants.append(claims)
        token = f"ya29.standin-{len(self.grants)}"
        self.tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}


def _error(status, reason, message=""):
    return {
        "error": {
            "code": status,
            "message": message or reason,
            "errors": [{"reason": reason, "message": message or reason}],
        }
    }


# Callbacks ------------------------------------------------------------------------------------


def _lv(*parts):
    return b"".join(struct.pack("<I", len(p.encode())) + p.encode() for p in parts)


def _der_b64(public_key):
    return base64.b64encode(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()


def _sign(private_key, data):
    return base64.b64encode(private_key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


class Signer:
    """Google's side of ECv2SigningOnly: a root key, an intermediate key, signed callbacks."""

    PROTOCOL = "ECv2SigningOnly"
    SENDER = "GooglePayPasses"

    def __init__(self):
        self.root = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = ec.generate_private_key(ec.SECP256R1())

    def keys_document(self, expiration_ms=None, *, expires=True):
        """Google's root key list of our throwaway root key; as Google's, each key has an
        expiry (a year ahead unless ``expiration_ms``), or none with ``expires=False``."""
        entry = {"keyValue": _der_b64(self.root.public_key()), "protocolVersion": self.PROTOCOL}
        if expires:
            expiration_ms = expiration_ms or int(time.time() * 1000) + 365 * 86_400_000
            entry["keyExpiration"] = str(expiration_ms)
        return {"keys": [entry]}

    def callback(
        self,
        *,
        recipient,
        class_id,
        object_id,
        event="save",
        nonce="nonce-1",
        expires_ms=None,
        key_expires_ms=None,
        root=None,
        tamper=False,
    ):
        """A callback body as Google POSTs it."""
        now_ms = int(time.time() * 1000)
        signed_key = json.dumps(
            {
                "keyValue": _der_b64(self.intermediate.public_key()),
                "keyExpiration": str(key_expires_ms or now_ms + 3_600_000),
            }
        )
        signed_message = json.dumps(
            {
                "classId": class_id,
                "objectId": object_id,
                "eventType": event,
                "expTimeMillis": expires_ms or now_ms + 60_000,
                "count": 1,
                "nonce": nonce,
            }
        )
        key_signature = _sign(root or self.root, _lv(self.SENDER, self.PROTOCOL, signed_key))
        signature = _sign(
            self.intermediate, _lv(self.SENDER, recipient, self.PROTOCOL, signed_message)
        )
        if tamper:
            signed_message = signed_message.replace(
                f'"{event}"', '"del"' if event == "save" else '"save"'
            )
        return json.dumps(
            {
                "signature": signature,
                "intermediateSigningKey": {"signedKey": signed_key, "signatures": [key_signature]},
                "protocolVersion": self.PROTOCOL,
                "signedMessage": signed_message,
            }
        ).encode()


# The set-up the test modules' fixtures share --------------------------------------------------

ISSUER = "3388000000012345678"


def configured(settings, tmp_path, signer):
    """Google Wallet configured against a fresh stand-in; yields the stand-in."""
    from stampcard.wallet import google

    key_file = tmp_path / "service-account.json"
    standin = GoogleStandIn(public_key=None, root_keys_document=signer.keys_document())
    standin.start()
    private_key = service_account_key(key_file, standin.token_url)
    standin.public_key = private_key.public_key()
    standin.private_key = private_key
    settings.DATA_DIR = tmp_path
    settings.GOOGLE_WALLET_ISSUER_ID = ISSUER
    settings.GOOGLE_WALLET_SERVICE_ACCOUNT_FILE = str(key_file)
    settings.GOOGLE_WALLET_API_URL = standin.api_url
    settings.GOOGLE_WALLET_TOKEN_URL = ""
    settings.GOOGLE_WALLET_ROOT_KEYS_URL = standin.url + "/keys"
    settings.GOOGLE_WALLET_TIMEOUT_SECONDS = 5
    settings.PUBLIC_BASE_URL = "https://cards.example.org"
    google.reset_client()
    yield standin
    google.reset_client()
    standin.stop()
