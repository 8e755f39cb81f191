"""A real CNCF distribution registry (`docker-registry`, v2.8) for tests, and a small token issuer.

`RegistryProcess` runs the registry binary unprivileged on 127.0.0.1 with a free port and filesystem
storage in a temporary directory; it parses the registry's access log (Apache combined format, one line
per request, written when the response completes) so tests can count requests, e.g. blob GETs:

    mark = registry.mark()
    ...                                   # something that should (not) download blobs
    assert len(registry.blob_gets(since=mark, repo="r")) == 1

`TokenIssuer` implements the Docker registry token protocol (GET with HTTP Basic, or the OAuth2
password / refresh-token POST) and signs RS256 JWTs the way distribution 2.8 verifies them: the
header carries the libtrust key ID of the issuer's self-signed certificate (`kid`), or the certificate
itself (`x5c`); the registry trusts the certificate through `auth.token.rootcertbundle`.

Teardown: `stop()` (SIGTERM, then SIGKILL) runs from the fixtures, from `atexit`, and on Linux the
registry also gets SIGTERM when the thread that started it dies (PR_SET_PDEATHSIG), so even a killed
test run leaves no registry behind — start registries from the main thread.
Nothing here imports layerscope.
"""

from __future__ import annotations

import atexit
import base64
import ctypes
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "HTPASSWD_PASSWORD",
    "HTPASSWD_USER",
    "IssuerRequest",
    "LoggedRequest",
    "RegistryProcess",
    "RegistryStartError",
    "TokenIssuer",
    "User",
    "find_registry_binary",
    "free_port",
    "libtrust_key_id",
    "require_registry_binary",
]

START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
SYNC_TIMEOUT = 5.0

#: The htpasswd registry's user. The hash below is bcrypt (cost 5) of HTPASSWD_PASSWORD, made once with
#: `python3 -c "import crypt; print(crypt.crypt('htpasswd-password', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))"`
#: so the tests need no bcrypt package.
HTPASSWD_USER = "basic-user"
HTPASSWD_PASSWORD = "htpasswd-password"
_HTPASSWD_HASH = "$2b$05$oM8f0BHJYR460UkNobyTDOheeQ/hJrRQ4umU4tI0/njR3s2RZjy/u"


class RegistryStartError(RuntimeError):
    """The registry process did not come up."""


try:  # Linux: the registry gets SIGTERM when the test process dies, even by SIGKILL (no orphans)
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def find_registry_binary() -> str | None:
    """The distribution registry binary: $LAYERSCOPE_REGISTRY_BIN, `docker-registry` or `registry` on PATH."""
    env = os.environ.get("LAYERSCOPE_REGISTRY_BIN")
    if env:
        return env if Path(env).is_file() and os.access(env, os.X_OK) else None
    for name in ("docker-registry", "registry"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_registry_binary() -> str:
    """find_registry_binary(), or `pytest.skip` with the reason — `pytest.fail` when env CI=true."""
    import pytest

    binary = find_registry_binary()
    if binary is None:
        reason = (
            "the CNCF distribution registry binary is not installed "
            "(Debian/Ubuntu: apt-get install docker-registry, or `make registry-bin`; "
            "or set LAYERSCOPE_REGISTRY_BIN)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --------------------------------------------------------------------------------------------------
# Access log


@dataclass(frozen=True)
class LoggedRequest:
    """One request from the registry's access log."""

    method: str
    path: str  # the request URI without the query string
    query: str
    status: int
    bytes_written: int
    user_agent: str

    @property
    def is_blob_get(self) -> bool:
        return self.method == "GET" and _BLOB_PATH.match(self.path) is not None

    @property
    def repo(self) -> str | None:
        m = _REPO_PATH.match(self.path)
        return m.group(1) if m else None

    @property
    def digest(self) -> str | None:
        m = _BLOB_PATH.match(self.path)
        return m.group(2) if m else None


# e.g. 127.0.0.1 - - [26/Nov/2026:00:46:12 +0000] "GET /v2/foo/blobs/sha256:… HTTP/1.1" 404 157 "" "curl/7.88.1"
_ACCESS_LINE = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<uri>\S+) [^"]*" (?P<status>\d{3}) (?P<size>\d+|-) '
    r'"(?P<referer>[^"]*)" "(?P<agent>[^"]*)"'
)
_BLOB_PATH = re.compile(r"^/v2/(.+)/blobs/([a-z0-9]+:[a-f0-9]+)$")
_REPO_PATH = re.compile(r"^/v2/(.+)/(?:blobs|manifests|tags)/")
_SYNC_PARAM = "layerscope-log-sync"


class RegistryProcess:
    """A running distribution registry. Use `start()` / `stop()` or as a context manager."""

    def __init__(
        self,
        workdir: Path,
        *,
        binary: str,
        auth: Mapping[str, Any] | None = None,
        name: str = "registry",
    ) -> None:
        self.workdir = Path(workdir)
        self.binary = binary
        self.auth_config = dict(auth) if auth else None
        self.name = name
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "registry.log"
        self.config_path = self.workdir / "config.yml"
        self.storage = self.workdir / "storage"
        self._requests: list[LoggedRequest] = []
        self._log_offset = 0
        self._lock = threading.RLock()
        # Set by the fixtures for authenticated registries.
        self.user: str | None = None
        self.password: str | None = None
        self.issuer: TokenIssuer | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the registry part of a reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://{self.host}"

    def _write_config(self) -> None:
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
            "validation": {"manifests": {"urls": {"allow": ["^https?://"]}}},
        }
        if self.auth_config:
            config["auth"] = self.auth_config
        # YAML is a superset of JSON: the registry reads this as its config.yml.
        self.config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")

    def start(self, attempts: int = 3) -> RegistryProcess:
        """Start the registry and wait (bounded) until `/v2/` answers; retry on a port clash."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(exist_ok=True)
        last = ""
        for _ in range(attempts):
            self.port = free_port()
            self._write_config()
            self.log_path.write_bytes(b"")
            self._requests.clear()
            self._log_offset = 0
            log = self.log_path.open("ab")
            try:
                self.process = subprocess.Popen(
                    [self.binary, "serve", str(self.config_path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.workdir,
                    preexec_fn=_die_with_parent,
                )
            finally:
                log.close()
            atexit.register(self.stop)
            if self._wait_ready():
                return self
            last = self.log_tail()
            self.stop()
            if "address already in use" not in last:
                break
        raise RegistryStartError(f"{self.name} did not start; log tail:\n{last}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            status = _http_status(f"{self.url}/v2/", timeout=1.0)
            if status in (200, 401):
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop the registry (SIGTERM, then SIGKILL after a bounded wait). Idempotent."""
        proc, self.process = self.process, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)

    def __enter__(self) -> RegistryProcess:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # ---------------------------------------------------------------- request log

    def _read_log(self) -> None:
        with self._lock, self.log_path.open("rb") as f:
            f.seek(self._log_offset)
            data = f.read()
            end = data.rfind(b"\n") + 1  # only complete lines
            self._log_offset += end
            for raw in data[:end].decode("utf-8", "replace").splitlines():
                m = _ACCESS_LINE.match(raw)
                if not m:
                    continue
                path, _, query = m["uri"].partition("?")
                size = m["size"]
                self._requests.append(
                    LoggedRequest(
                        method=m["method"],
                        path=urllib.parse.unquote(path),
                        query=query,
                        status=int(m["status"]),
                        bytes_written=0 if size == "-" else int(size),
                        user_agent=m["agent"],
                    )
                )

    def sync(self) -> None:
        """Make sure every request completed so far is in the parsed log.

        The registry writes a log line after the response is sent, so a client can see its response a
        moment before the line exists. This sends a marker request and waits (bounded) for its line.
        """
        token = uuid.uuid4().hex
        _http_status(f"{self.url}/v2/?{_SYNC_PARAM}={token}", timeout=2.0)
        deadline = time.monotonic() + SYNC_TIMEOUT
        while time.monotonic() < deadline:
            self._read_log()
            with self._lock:
                seen = any(r.query == f"{_SYNC_PARAM}={token}" for r in reversed(self._requests[-50:]))
            if seen:
                time.sleep(0.02)  # let lines of responses completed just before the marker land
                self._read_log()
                return
            time.sleep(0.01)
        raise TimeoutError(f"{self.name}: access log did not show the sync marker within {SYNC_TIMEOUT}s")

    def mark(self) -> int:
        """A position in the request log; pass it as `since=` to see only later requests."""
        self.sync()
        with self._lock:
            return len(self._requests)

    def requests(self, since: int = 0, *, sync: bool = True) -> list[LoggedRequest]:
        """Requests logged after *since* (a `mark()`), oldest first, without the sync markers."""
        if sync:
            self.sync()
        else:
            self._read_log()
        with self._lock:
            return [r for r in self._requests[since:] if _SYNC_PARAM not in r.query]

    def blob_gets(
        self, since: int = 0, *, repo: str | None = None, digest: str | None = None, status: int | None = None
    ) -> list[LoggedRequest]:
        """GET requests for blobs after *since*, optionally only for *repo* / *digest* / *status*."""
        return [
            r
            for r in self.requests(since)
            if r.is_blob_get
            and (repo is None or r.repo == repo)
            and (digest is None or r.digest == digest)
            and (status is None or r.status == status)
        ]

    def __repr__(self) -> str:
        return f"<RegistryProcess {self.name} {self.url} running={self.process is not None}>"


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP(S)_PROXY


def _http_status(url: str, *, timeout: float) -> int | None:
    try:
        with _OPENER.open(url, timeout=timeout) as resp:
            status: int = resp.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------------------
# Registry configs


def token_auth_config(issuer: TokenIssuer) -> dict[str, Any]:
    """The registry's `auth` section for *issuer*."""
    return {
        "token": {
            "realm": issuer.realm,
            "service": issuer.service,
            "issuer": issuer.issuer_name,
            "rootcertbundle": str(issuer.cert_path),
        }
    }


def htpasswd_auth_config(workdir: Path, users: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The registry's `auth` section for HTTP Basic with an htpasswd file (user → bcrypt hash)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "htpasswd"
    entries = users or {HTPASSWD_USER: _HTPASSWD_HASH}
    path.write_text("".join(f"{u}:{h}\n" for u, h in entries.items()), encoding="utf-8")
    return {"htpasswd": {"realm": "layerscope-test", "path": str(path)}}


# --------------------------------------------------------------------------------------------------
# Token issuer


def libtrust_key_id(public_key: rsa.RSAPublicKey) -> str:
    """The libtrust key ID distribution 2.8 indexes trusted keys by.

    SHA-256 of the DER SubjectPublicKeyInfo, truncated to 240 bits, base32 without padding, in 12
    colon-separated groups of 4 (github.com/docker/libtrust util.go keyIDFromCryptoKey).
    """
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


@dataclass(frozen=True)
class User:
    """A user of the token issuer and the actions it may be granted on repositories."""

    password: str
    actions: frozenset[str] = frozenset({"pull", "push", "delete", "*"})
    catalog: bool = True


@dataclass(frozen=True)
class IssuerRequest:
    """One request the token issuer answered."""

    method: str
    path: str
    user: str | None  # the Basic / form user name, whether or not the password was right
    authenticated: bool
    service: str | None
    scopes: tuple[str, ...]
    granted: tuple[dict[str, Any], ...]
    status: int
    grant_type: str | None = None


@dataclass
class _Fault:
    status: int
    remaining: int


class TokenIssuer:
    """A Docker registry token server on 127.0.0.1 (in a thread) that signs RS256 JWTs.

    Known users get exactly the requested actions they are allowed (`access` claim); a wrong password
    or no credentials get 401 unless `anonymous_actions` grants something to anonymous requests.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        users: Mapping[str, User] | None = None,
        service: str = "layerscope-test-registry",
        issuer_name: str = "layerscope-test-issuer",
        header: Literal["kid", "x5c"] = "kid",
        ttl: int = 300,
        anonymous_actions: Iterable[str] = (),
    ) -> None:
        self.workdir = Path(workdir)
        self.users: dict[str, User] = dict(
            users
            or {
                "tester": User("tester-password"),
                "reader": User("reader-password", frozenset({"pull"}), catalog=False),
            }
        )
        self.service = service
        self.issuer_name = issuer_name
        self.header = header
        self.ttl = ttl
        self.anonymous_actions = frozenset(anonymous_actions)
        self.requests: list[IssuerRequest] = []
        self._faults: list[_Fault] = []
        self._refresh_tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert = self._self_signed_cert()
        self.key_id = libtrust_key_id(self._key.public_key())
        self.cert_path = self.workdir / "issuer-root.crt"

    def _self_signed_cert(self) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer_name)])
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        assert self._server is not None, "issuer not started"
        port: int = self._server.server_address[1]
        return port

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def start(self) -> TokenIssuer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer._handle(self, "GET")

            def do_POST(self) -> None:
                issuer._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="token-issuer", daemon=True
        )
        self._thread.start()
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        atexit.unregister(self.stop)
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)

    def __enter__(self) -> TokenIssuer:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- test controls

    def clear(self) -> None:
        """Forget the request log."""
        with self._lock:
            self.requests.clear()

    def fail_next(self, status: int = 500, count: int = 1) -> None:
        """Answer the next *count* token requests with *status* (fault injection)."""
        with self._lock:
            self._faults.append(_Fault(status, count))

    def mint(
        self, subject: str, access: Iterable[Mapping[str, Any]], *, ttl: int | None = None, audience: str | None = None
    ) -> str:
        """A signed token for *subject* with the given `access` entries (for tests that craft tokens)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer_name,
            "sub": subject,
            "aud": audience or self.service,  # distribution 2.8 wants a single string
            "exp": now + (self.ttl if ttl is None else ttl),
            "nbf": now - 5,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": [dict(a) for a in access],
        }
        if self.header == "x5c":
            headers: dict[str, Any] = {
                "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
            }
        else:
            headers = {"kid": self.key_id}
        return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)

    # ---------------------------------------------------------------- protocol

    def _grant(self, user: User | None, scopes: Iterable[str]) -> list[dict[str, Any]]:
        allowed = user.actions if user else self.anonymous_actions
        granted: list[dict[str, Any]] = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions_text = rest.rpartition(":")
            if not kind or not name:
                continue
            requested = [a for a in actions_text.split(",") if a]
            if kind == "registry" and name == "catalog":
                ok = [a for a in requested if a == "*"] if user and user.catalog else []
            elif kind.split("(")[0] == "repository":
                ok = [a for a in requested if a in allowed]
            else:
                ok = []
            if ok:
                granted.append({"type": kind, "name": name, "actions": sorted(set(ok))})
        return granted

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        url = urllib.parse.urlsplit(req.path)
        params = urllib.parse.parse_qs(url.query)
        form: dict[str, list[str]] = {}
        if method == "POST":
            length = int(req.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(req.rfile.read(length).decode("utf-8", "replace"))
        username: str | None = None
        password: str | None = None
        grant_type = form.get("grant_type", [None])[0]
        auth = req.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                username, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                username = password = None
        if grant_type == "password":
            username, password = form.get("username", [""])[0], form.get("password", [""])[0]
        if grant_type == "refresh_token":
            username = self._refresh_tokens.get(form.get("refresh_token", [""])[0])
            password = self.users[username].password if username in self.users else None
        if method == "POST":
            scopes = tuple(s for text in form.get("scope", []) for s in text.split(" ") if s)
            service = form.get("service", [None])[0]
        else:
            scopes = tuple(s for text in params.get("scope", []) for s in text.split(" ") if s)
            service = params.get("service", [None])[0]
        user = self.users.get(username or "")
        authenticated = user is not None and secrets.compare_digest(user.password, password or "")
        status = 200
        granted: list[dict[str, Any]] = []
        body: dict[str, Any]
        with self._lock:
            fault = next((f for f in self._faults if f.remaining > 0), None)
            if fault:
                fault.remaining -= 1
        if fault:
            status, body = fault.status, {"errors": [{"code": "UNAVAILABLE", "message": "injected fault"}]}
        elif url.path != "/token":
            status, body = 404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]}
        elif service != self.service:
            status, body = 400, {"errors": [{"code": "DENIED", "message": f"unknown service {service!r}"}]}
        elif (username or grant_type) and not authenticated:
            status, body = 401, {"errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password"}]}
        elif not authenticated and not self.anonymous_actions:
            status, body = 401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
        else:
            granted = self._grant(user if authenticated else None, scopes)
            token = self.mint(username if authenticated and username else "", granted)
            body = {
                "token": token,
                "access_token": token,
                "expires_in": self.ttl,
                "issued_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            }
            if method == "POST" and authenticated and username:
                refresh = secrets.token_urlsafe(16)
                self._refresh_tokens[refresh] = username
                body["refresh_token"] = refresh
        with self._lock:
            self.requests.append(
                IssuerRequest(
                    method=method,
                    path=url.path,
                    user=username,
                    authenticated=authenticated,
                    service=service,
                    scopes=scopes,
                    granted=tuple(granted),
                    status=status,
                    grant_type=grant_type,
                )
            )
        data = json.dumps(body).encode()
        req.send_response(status)
        if status == 401:
            req.send_header("WWW-Authenticate", 'Basic realm="layerscope-test-issuer"')
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)
