"""Registry access over httpx (the only importer of httpx): client, auth, credentials, retry, config."""

from __future__ import annotations

from layerscope.registry.auth import Challenge, RegistryAuth, parse_www_authenticate
from layerscope.registry.client import BLOB_CHUNK_SIZE, RegistryClient, redact
from layerscope.registry.config import HostConfig, RegistryConfig, ResolvedHost, Timeouts, is_loopback_host
from layerscope.registry.credentials import CredentialLookup, Credentials, CredentialsProvider, DockerCredentialStore
from layerscope.registry.retry import Fail, Retry, RetryPolicy, decide

__all__ = [
    "BLOB_CHUNK_SIZE",
    "Challenge",
    "CredentialLookup",
    "Credentials",
    "CredentialsProvider",
    "DockerCredentialStore",
    "Fail",
    "HostConfig",
    "RegistryAuth",
    "RegistryClient",
    "RegistryConfig",
    "ResolvedHost",
    "Retry",
    "RetryPolicy",
    "Timeouts",
    "decide",
    "is_loopback_host",
    "parse_www_authenticate",
    "redact",
]
