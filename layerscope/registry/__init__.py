"""Registry access over httpx (the only importer of httpx).

`client` is the façade (`RegistryClient`); behind it `transport` (HTTP, slots, retries), `failures` (status →
error), `blobs`, `pages`, `referrers` and `push`; `auth`, `credentials`, `retry` and `config` as before.

Exports resolve lazily (PEP 562) so that `layerscope.registry.config`, which every run needs, does not
import httpx: a run served from the store or an OCI layout never pays for it (issue 8, warm path).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

# httpx imports its optional command-line client (click, rich, pygments: ~30 ms) unless that import
# fails; its __init__ falls back to a stub `main` on ImportError, which is all a library user needs.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:  # `X as X` marks an explicit re-export for mypy --strict
    from layerscope.registry.auth import Challenge as Challenge
    from layerscope.registry.auth import RegistryAuth as RegistryAuth
    from layerscope.registry.auth import parse_www_authenticate as parse_www_authenticate
    from layerscope.registry.client import BLOB_CHUNK_SIZE as BLOB_CHUNK_SIZE
    from layerscope.registry.client import RegistryClient as RegistryClient
    from layerscope.registry.client import redact as redact
    from layerscope.registry.config import HostConfig as HostConfig
    from layerscope.registry.config import RegistryConfig as RegistryConfig
    from layerscope.registry.config import ResolvedHost as ResolvedHost
    from layerscope.registry.config import Timeouts as Timeouts
    from layerscope.registry.config import is_loopback_host as is_loopback_host
    from layerscope.registry.credentials import CredentialLookup as CredentialLookup
    from layerscope.registry.credentials import Credentials as Credentials
    from layerscope.registry.credentials import CredentialsProvider as CredentialsProvider
    from layerscope.registry.credentials import DockerCredentialStore as DockerCredentialStore
    from layerscope.registry.retry import Fail as Fail
    from layerscope.registry.retry import Retry as Retry
    from layerscope.registry.retry import RetryPolicy as RetryPolicy
    from layerscope.registry.retry import decide as decide

_EXPORTS = {
    "Challenge": "auth",
    "RegistryAuth": "auth",
    "parse_www_authenticate": "auth",
    "BLOB_CHUNK_SIZE": "client",
    "RegistryClient": "client",
    "redact": "client",
    "HostConfig": "config",
    "RegistryConfig": "config",
    "ResolvedHost": "config",
    "Timeouts": "config",
    "is_loopback_host": "config",
    "CredentialLookup": "credentials",
    "Credentials": "credentials",
    "CredentialsProvider": "credentials",
    "DockerCredentialStore": "credentials",
    "Fail": "retry",
    "Retry": "retry",
    "RetryPolicy": "retry",
    "decide": "retry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
