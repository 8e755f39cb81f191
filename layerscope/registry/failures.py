"""What went wrong with a registry request, as a layerscope error: the one status → exception mapping.

Every HTTP answer the client does not want goes through `status_error`, every request that got no answer
through `transport_error` (the model: go-containerregistry `transport.Error`, regclient `reghttp.HTTPError`).
The errors keep the HTTP status and the registry's error codes (`RegistryError.status`, `.codes`), name the
registry and repository, and never carry credentials, tokens or query strings (pre-signed S3/CDN URLs carry
their signature there). `Failure` wraps one failed attempt for `retry.decide`.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass

import httpx

from layerscope.errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    RegistryError,
    RegistryUnavailableError,
)
from layerscope.registry.config import ResolvedHost

__all__ = ["MAX_ERROR_BODY", "Failure", "Where", "error_codes", "redact", "short", "status_error", "transport_error"]

#: Error bodies are read only this far: enough for `{"errors":[…]}`, not for a hostile 1 GB page.
MAX_ERROR_BODY = 4096
# Codes from the distribution spec's error table ("Error Codes").
_NOT_FOUND_CODES = frozenset({"MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN"})
_AUTH_CODES = frozenset({"UNAUTHORIZED", "DENIED"})
_READS = frozenset({"GET", "HEAD"})
_REDACTIONS = (
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:(?:bearer|basic)\s+)?[^\s,;]+"), r"\1***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 ***"),
    (re.compile(r"(https?://[^\s?#\"'<>]+)\?[^\s\"'<>]*"), r"\1?***"),
)


def redact(text: str) -> str:
    """*text* without Authorization values, Bearer/Basic credentials or URL query strings."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def short(digest: str) -> str:
    """*digest* cut to its algorithm and first hex digits, for messages."""
    return digest[:19] + "…" if len(digest) > 19 else digest


@dataclass(frozen=True, slots=True)
class Where:
    """What a request was for, as shown in error messages."""

    registry: str
    repository: str | None
    what: str
    endpoint: str

    @classmethod
    def of(cls, host: ResolvedHost, repository: str | None, what: str) -> Where:
        """The place of a request to *host* (named as the user wrote it, with the endpoint it maps to)."""
        return cls(host.name, repository, what, host.endpoint)

    def __str__(self) -> str:
        place = self.registry if self.repository is None else f"{self.registry}/{self.repository}"
        via = f" (via {self.endpoint})" if self.endpoint != self.registry else ""
        return f"{place}{via}: {self.what}"


class Failure(Exception):
    """One failed attempt: what retry.decide needs, and the error to raise if it says Fail."""

    def __init__(
        self,
        final: RegistryError,
        *,
        status: int | None = None,
        error: BaseException | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(final.message)
        self.final = final
        self.status = status
        self.error = error
        self.retry_after = retry_after


def error_codes(body: bytes) -> list[tuple[str, str]]:
    """(code, message) pairs of an OCI error body `{"errors":[{"code","message","detail"}]}`, if any."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return []
    out = []
    for e in errors[:5]:
        if isinstance(e, dict) and isinstance(e.get("code"), str):
            message = e.get("message")
            out.append((e["code"], message if isinstance(message, str) else ""))
    return out


def status_error(
    where: Where,
    status: int,
    body: bytes,
    retry_after: str | None,
    *,
    method: str = "GET",
    prefix: str | None = None,
) -> RegistryError:
    """The error for an HTTP error *status*, with the OCI error codes of its *body* in the message."""
    pairs = error_codes(body)
    codes = tuple(code for code, _ in pairs)
    detail = "; ".join(f"{code}: {message}" if message else code for code, message in pairs)[:300]
    text = prefix or f"{where}: HTTP {status}"
    if detail:
        text += f" {detail}"
    text = redact(text)
    names = set(codes)
    if status in (401, 403) or (status < 500 and names & _AUTH_CODES):
        hint = None
        if method not in _READS:
            hint = "writing needs push rights on the repository: log in as a user who has them"
        elif status == 401 and where.registry == "docker.io":
            hint = "Docker Hub answers 401 for repositories that do not exist, too; check the name, or log in"
        return AuthenticationError(text, hint=hint, status=status, codes=codes)
    if status == 404 or names & _NOT_FOUND_CODES:
        return NotFoundError(text, status=status, codes=codes)
    if status == 429 or "TOOMANYREQUESTS" in names:
        text += f" (Retry-After: {retry_after})" if retry_after else ""
        return RateLimitedError(text, status=status, codes=codes)
    if status >= 500:
        return RegistryUnavailableError(text, status=status, codes=codes)
    return RegistryError(text, status=status, codes=codes)


_DNS_MESSAGES = (
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "no address associated",
    "getaddrinfo failed",
)


def _is_dns_failure(exc: BaseException) -> bool:
    """True when a connect error is a failed name lookup (socket.gaierror below it, or its message)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, socket.gaierror) or any(m in str(seen).lower() for m in _DNS_MESSAGES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def transport_error(where: Where, exc: Exception) -> RegistryError:
    """The error for a request that got no HTTP answer (refused, timed out, TLS, a bad host name)."""
    if isinstance(exc, httpx.TooManyRedirects):
        return RegistryError(f"{where}: too many redirects")
    if isinstance(exc, httpx.ConnectTimeout):
        reason = "connection timed out"
    elif isinstance(exc, httpx.ReadTimeout):
        reason = "the registry stopped sending data (read timeout)"
    elif isinstance(exc, httpx.TimeoutException):
        reason = f"timed out ({type(exc).__name__})"
    elif isinstance(exc, UnicodeError):
        reason = "a host name that is not a valid DNS name"
    else:
        reason = str(exc) or type(exc).__name__
    hint = None
    if isinstance(exc, httpx.ConnectError) and _is_dns_failure(exc):
        # Not a TLS question (#18 item 13): the name did not resolve, so point at the name and at --mirror.
        reason = f"cannot resolve host name {where.endpoint.rsplit(':', 1)[0]!r} ({reason})"
        hint = f"check the host name, or reach {where.registry} through a mirror: --mirror {where.registry}=HOST:PORT"
    elif "WRONG_VERSION_NUMBER" in reason or "wrong version number" in reason:
        hint = "the registry does not speak TLS here: use --plain-http (or HostConfig(plain_http=True))"
    elif "CERTIFICATE_VERIFY_FAILED" in reason:
        hint = "the registry's TLS certificate does not verify; set SSL_CERT_FILE to your CA bundle"
    error_type = RegistryUnavailableError if isinstance(exc, httpx.TransportError) else RegistryError
    return error_type(redact(f"{where}: {reason[:200]}"), hint=hint)
