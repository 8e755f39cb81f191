"""Find credentials for a registry host the way docker, podman and oras do.

Sources, in order (first file that yields credentials wins):

1. `$REGISTRY_AUTH_FILE` (containers-auth.json(5), podman/skopeo/buildah),
2. `$XDG_RUNTIME_DIR/containers/auth.json` (podman's default login file),
3. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.

Within a file: `auths[host]` (base64 `auth`, or `username`/`password`, or `identitytoken`) →
`credHelpers[host]` → `credsStore`, both run as `docker-credential-NAME get` with the server URL on stdin
(https://github.com/docker/docker-credential-helpers#development). For Amazon ECR hosts with nothing
configured, an ECR token from boto3 when the optional `layerscope[ecr]` extra is installed.

Keyed by the exact `host[:port]` a request goes to (issue #12): a login for `reg:5000` is not one for
`reg:5001` or `reg`, a helper is asked about that exact host, and an ECR token is asked for the account
and region of the host's own name (a look-alike such as `<ECR host>.evil.example` gets none).

Nothing is printed: problems (a missing helper, an unreadable file) are returned as warnings for the CLI.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layerscope.reference import ImageReference

__all__ = ["CredentialLookup", "Credentials", "CredentialsProvider", "DockerCredentialStore", "normalise_host"]

_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
#: The key docker login writes for Docker Hub, and the server URL credential helpers know it by.
HUB_SERVER_URL = "https://index.docker.io/v1/"
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# What docker-credential-helpers print (credentials.ErrCredentialsNotFound) when they have no entry.
_NOT_FOUND = "credentials not found"
_TOKEN_USERNAME = "<token>"  # docker's marker for an identity (refresh) token stored by a helper


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username with a password or an identity token; secrets never appear in repr/str."""

    username: str
    password: str = field(default="", repr=False)
    #: An OAuth2 refresh token (`identitytoken` in config.json), exchanged at the token realm.
    identity_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        token = "'***'" if self.identity_token else "None"
        return f"Credentials(username={self.username!r}, password='***', identity_token={token})"

    __str__ = __repr__


#: What the registry client asks: credentials for a `host[:port]`, or None for anonymous access.
CredentialsProvider = Callable[[str], Credentials | None]


@dataclass(frozen=True, slots=True)
class CredentialLookup:
    """The result of one lookup: credentials (or None), where they came from, and any warnings."""

    credentials: Credentials | None
    source: str
    warnings: tuple[str, ...] = ()


def normalise_host(key: str) -> str:
    """The registry `host[:port]` a config.json key or host name stands for (Docker Hub aliases → `docker.io`).

    The port is kept, as docker keeps it: `reg:5000` and `reg` are different registries.
    """
    text = key.strip().lower()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.split("/", 1)[0]
    return "docker.io" if text in _HUB_ALIASES else text


def _server_url(host: str) -> str:
    return HUB_SERVER_URL if host == "docker.io" else host


class DockerCredentialStore:
    """A CredentialsProvider over docker/podman config files, credential helpers and ECR (cached per host)."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        home: Path | None = None,
        run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
        helper_timeout: float = 30.0,
        ecr: bool = True,
    ) -> None:
        self._env = dict(os.environ if environ is None else environ)
        self._home = home if home is not None else Path.home()
        self._run = run
        self._timeout = helper_timeout
        self._ecr = ecr
        self._lock = threading.Lock()
        self._cache: dict[str, CredentialLookup] = {}
        self._warnings: list[str] = []

    def __call__(self, host: str) -> Credentials | None:
        """Credentials for *host*, or None (the CredentialsProvider interface)."""
        return self.lookup(host).credentials

    @property
    def warnings(self) -> tuple[str, ...]:
        """Warnings of every lookup so far, each once, for the CLI to show on stderr."""
        with self._lock:
            return tuple(dict.fromkeys(self._warnings))

    def config_files(self) -> tuple[Path, ...]:
        """The config files searched, in order (whether or not they exist)."""
        files = []
        if self._env.get("REGISTRY_AUTH_FILE"):
            files.append(Path(self._env["REGISTRY_AUTH_FILE"]))
        if self._env.get("XDG_RUNTIME_DIR"):
            files.append(Path(self._env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
        docker_dir = Path(self._env["DOCKER_CONFIG"]) if self._env.get("DOCKER_CONFIG") else self._home / ".docker"
        files.append(docker_dir / "config.json")
        return tuple(files)

    def lookup(self, host: str) -> CredentialLookup:
        """Find credentials for registry *host* (`host[:port]`); cached, so helpers run once per host."""
        key = normalise_host(host)
        with self._lock:
            cached = self._cache.get(key)
            if cached is None:
                cached = self._lookup(key)
                self._cache[key] = cached
                self._warnings.extend(cached.warnings)
            return cached

    def _lookup(self, host: str) -> CredentialLookup:
        warnings: list[str] = []
        for path in self.config_files():
            doc = self._load(path, warnings)
            if doc is None:
                continue
            found = self._from_config(doc, path, host, warnings)
            if found is not None:
                return CredentialLookup(found[0], found[1], tuple(warnings))
        ecr = ImageReference(host, "_").ecr
        if ecr is not None and self._ecr:
            creds = self._from_ecr(host, *ecr, warnings)
            if creds is not None:
                return CredentialLookup(creds, "ECR GetAuthorizationToken (boto3)", tuple(warnings))
        return CredentialLookup(None, "anonymous", tuple(warnings))

    @staticmethod
    def _load(path: Path, warnings: list[str]) -> dict[str, Any] | None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            warnings.append(f"cannot read {path}: {exc.strerror or exc}")
            return None
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError):
            warnings.append(f"{path} is not valid JSON; ignoring it")
            return None
        if not isinstance(doc, dict):
            warnings.append(f"{path} is not a JSON object; ignoring it")
            return None
        return doc

    def _from_config(
        self, doc: Mapping[str, Any], path: Path, host: str, warnings: list[str]
    ) -> tuple[Credentials, str] | None:
        auths = doc.get("auths")
        if isinstance(auths, dict):
            for key, entry in auths.items():
                if isinstance(key, str) and normalise_host(key) == host and isinstance(entry, dict):
                    creds = _from_auth_entry(entry, f"{path} auths[{key!r}]", warnings)
                    # Docker Desktop writes empty `auths` entries and keeps the secret in credsStore.
                    if creds is not None:
                        return creds, f"{path} (auths)"
        helpers = doc.get("credHelpers")
        if isinstance(helpers, dict):
            for key, name in helpers.items():
                if isinstance(key, str) and normalise_host(key) == host and isinstance(name, str):
                    creds = self._from_helper(name, host, warnings)
                    if creds is not None:
                        return creds, f"docker-credential-{name} (credHelpers in {path})"
        store = doc.get("credsStore")
        if isinstance(store, str) and store:
            creds = self._from_helper(store, host, warnings)
            if creds is not None:
                return creds, f"docker-credential-{store} (credsStore in {path})"
        return None

    def _from_helper(self, name: str, host: str, warnings: list[str]) -> Credentials | None:
        if not _HELPER_NAME.fullmatch(name):
            warnings.append(f"ignoring credential helper with an invalid name {name!r}")
            return None
        program = f"docker-credential-{name}"
        try:
            done = self._run(
                [program, "get"],
                input=_server_url(host),
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=False,
            )
        except FileNotFoundError:
            warnings.append(f"credential helper {program} is not installed; continuing without credentials")
            return None
        except subprocess.TimeoutExpired:
            warnings.append(f"credential helper {program} did not answer within {self._timeout:g}s")
            return None
        except OSError as exc:
            warnings.append(f"cannot run credential helper {program}: {exc.strerror or exc}")
            return None
        if done.returncode != 0:
            message = (done.stdout or done.stderr or "").strip()
            if _NOT_FOUND not in message.lower():
                # One line (a warning is one line on stderr), and only the first: a helper's failure output
                # is not ours to trust with what else it prints.
                first = message.splitlines()[0][:200] if message else f"exit status {done.returncode}"
                warnings.append(f"credential helper {program} failed for {host}: {first}")
            return None
        try:
            answer = json.loads(done.stdout)
            username, secret = answer["Username"], answer["Secret"]
        except (json.JSONDecodeError, KeyError, TypeError):
            warnings.append(f"credential helper {program} gave an answer that is not its JSON format")
            return None
        if not isinstance(username, str) or not isinstance(secret, str) or not secret:
            return None
        if username == _TOKEN_USERNAME:
            return Credentials(username="", identity_token=secret)
        return Credentials(username=username, password=secret)

    @staticmethod
    def _from_ecr(host: str, account: str, region: str, warnings: list[str]) -> Credentials | None:
        try:
            # Optional extra, imported only for ECR hosts: `pip install 'layerscope[ecr]'`.
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            warnings.append(f"{host} is Amazon ECR; install layerscope[ecr] (boto3) to log in automatically")
            return None
        try:
            client = boto3.client("ecr", region_name=region)
            answer = client.get_authorization_token(registryIds=[account])
            token = answer["authorizationData"][0]["authorizationToken"]
            username, _, password = base64.b64decode(token).decode("utf-8").partition(":")
        except (BotoCoreError, ClientError) as exc:
            warnings.append(f"no ECR token for {host}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        except (KeyError, IndexError, TypeError, ValueError, binascii.Error):
            warnings.append(f"no ECR token for {host}: unexpected GetAuthorizationToken answer")
            return None
        return Credentials(username=username, password=password) if password else None


def _from_auth_entry(entry: Mapping[str, Any], where: str, warnings: list[str]) -> Credentials | None:
    identity = entry.get("identitytoken")
    username = entry.get("username")
    password = entry.get("password")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            warnings.append(f"{where}: 'auth' is not base64 of USER:PASSWORD; ignoring it")
            decoded = ""
        if ":" in decoded:
            # Passwords may contain ':', user names may not (RFC 7617 §2).
            username, _, password = decoded.partition(":")
    if isinstance(identity, str) and identity:
        return Credentials(username=username if isinstance(username, str) else "", identity_token=identity)
    if isinstance(username, str) and username and isinstance(password, str) and password:
        return Credentials(username=username, password=password)
    return None
