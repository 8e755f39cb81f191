"""When to retry a registry request: one pure decision function, unit-tested by a table.

`decide()` sees the attempt number, what went wrong (an HTTP status or a transport error), the server's
`Retry-After` and the time spent so far, and answers `Retry(delay)` or `Fail(reason)`. The loops in
transport.py and blobs.py only sleep and resend; they hold no policy of their own (regclient's retry loop
mixes both — STYLE.md). Randomness and the wall clock come from the policy, so tests inject fixed ones.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

__all__ = ["RETRY_STATUSES", "Fail", "Retry", "RetryPolicy", "TruncatedBody", "decide", "parse_retry_after"]

#: Statuses worth another try. 500 is included: distribution answers 500 for transient storage-driver
#: errors and S3 (ECR's blob store) for `InternalError`; a GET is idempotent and attempts are bounded.
#: 408 is a server-side request timeout. 501/505 are permanent and excluded.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class TruncatedBody(Exception):
    """A response body that ended cleanly but shorter than the length we were promised."""


def _equal_jitter(delay: float) -> float:
    # "Equal jitter" (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/): keeps at
    # least half the backoff while spreading a thread pool's retries apart.
    return delay / 2 + random.random() * delay / 2


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of the retry loop: attempts, total time, backoff shape; jitter and clock are injectable."""

    max_attempts: int = 5
    max_total: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: Callable[[float], float] = _equal_jitter
    wall_clock: Callable[[], float] = time.time


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again after *delay* seconds."""

    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class Fail:
    """Stop; *reason* says why (for messages and tests)."""

    reason: str


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() alone also accepts '²', which float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT; obsolete formats may parse as naive
        return None
    return max(0.0, when.timestamp() - now)


def _permanent_transport_error(error: BaseException) -> str | None:
    """Why *error* will not go away by retrying, or None when it may."""
    import socket
    import ssl

    import httpx  # here, not at module level: config.py imports this module on every run (issue 8)

    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.TooManyRedirects):
        return type(error).__name__
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        # "No such host" is an answer, not a hiccup; EAI_AGAIN ("try again") is the transient one.
        if isinstance(cause, socket.gaierror) and cause.errno != socket.EAI_AGAIN:
            return "host name does not resolve"
        # A certificate that does not verify (or https spoken to a plain-http server) stays that way.
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "TLS certificate verification failed"
        if isinstance(cause, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(cause):
            return "TLS handshake with a server that does not speak TLS"
        cause = cause.__cause__ or cause.__context__
    return None


def decide(
    attempt: int,
    *,
    status: int | None,
    error: BaseException | None,
    retry_after: str | None,
    elapsed: float,
    policy: RetryPolicy,
) -> Retry | Fail:
    """Retry or fail after *attempt* (1-based) ended with *status* or *error*, *elapsed* seconds in."""
    if error is not None:
        import httpx  # only a failed request gets here

        if not isinstance(error, httpx.TransportError | TruncatedBody):
            return Fail(f"not retryable: {type(error).__name__}")
        permanent = _permanent_transport_error(error)
        if permanent:
            return Fail(permanent)
        reason = type(error).__name__
    elif status is not None:
        if status not in RETRY_STATUSES:
            return Fail(f"HTTP {status} is not retryable")
        reason = f"HTTP {status}"
    else:
        return Fail("nothing went wrong")
    if attempt >= policy.max_attempts:
        return Fail(f"{reason} after {attempt} attempts")
    backoff = policy.jitter(min(policy.max_delay, policy.base_delay * policy.multiplier ** (attempt - 1)))
    # The server knows best when it will be ready (RFC 9110 §10.2.3, RFC 6585 §4 for 429), so we wait
    # exactly that long. A wait beyond max_delay ("come back in an hour") fails now with a clear error:
    # retrying earlier than asked would only hammer a rate limiter, and hanging for an hour helps nobody.
    server = parse_retry_after(retry_after, now=policy.wall_clock()) if status is not None else None
    if server is not None and server > policy.max_delay:
        return Fail(f"{reason}; the server asks to wait {server:.0f}s, more than {policy.max_delay:g}s")
    delay = server if server is not None else backoff
    if elapsed + delay > policy.max_total:
        return Fail(f"{reason}; retrying would exceed {policy.max_total:g}s")
    return Retry(delay, reason)
