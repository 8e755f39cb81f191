"""retry.decide as a table: what is retried, how long we wait, and when we stop."""

from __future__ import annotations

import socket
import ssl

import httpx
import pytest

from layerscope.registry.retry import Fail, Retry, RetryPolicy, TruncatedBody, decide, parse_retry_after

NOW = 1_700_000_000.0  # a fixed wall clock: Tue, 14 Nov 2023 22:13:20 GMT
POLICY = RetryPolicy(
    max_attempts=6, max_total=60.0, base_delay=1.0, max_delay=10.0, jitter=lambda d: d, wall_clock=lambda: NOW
)


def _dns_error(errno: int) -> httpx.ConnectError:
    exc = httpx.ConnectError("[Errno -2] Name or service not known")
    exc.__cause__ = socket.gaierror(errno, "name lookup")
    return exc


def _tls_error() -> httpx.ConnectError:
    exc = httpx.ConnectError("certificate verify failed")
    exc.__cause__ = ssl.SSLCertVerificationError("CERTIFICATE_VERIFY_FAILED")
    return exc


# (case, attempt, status, error, retry_after, elapsed, expected: float delay for Retry, or "fail")
CASES: list[tuple[str, int, int | None, BaseException | None, str | None, float, float | str]] = [
    ("429 backs off", 1, 429, None, None, 0.0, 1.0),
    ("503 second attempt doubles", 2, 503, None, None, 0.0, 2.0),
    ("502", 3, 502, None, None, 0.0, 4.0),
    ("504", 1, 504, None, None, 0.0, 1.0),
    ("500 is retried (storage hiccups)", 1, 500, None, None, 0.0, 1.0),
    ("408", 1, 408, None, None, 0.0, 1.0),
    ("fourth attempt", 4, 503, None, None, 0.0, 8.0),
    ("backoff capped by max_delay", 5, 503, None, None, 0.0, 10.0),
    ("404 fails", 1, 404, None, None, 0.0, "fail"),
    ("401 fails", 1, 401, None, None, 0.0, "fail"),
    ("403 fails", 1, 403, None, None, 0.0, "fail"),
    ("400 fails", 1, 400, None, None, 0.0, "fail"),
    ("501 fails", 1, 501, None, None, 0.0, "fail"),
    ("last attempt fails", 6, 503, None, None, 0.0, "fail"),
    ("Retry-After seconds honoured", 1, 429, None, "7", 0.0, 7.0),
    ("Retry-After 0", 1, 429, None, "0", 0.0, 0.0),
    ("Retry-After beats backoff", 3, 503, None, "1", 0.0, 1.0),
    ("Retry-After HTTP date", 1, 429, None, "Tue, 14 Nov 2023 22:13:25 GMT", 0.0, 5.0),
    ("Retry-After date in the past", 1, 429, None, "Tue, 14 Nov 2023 22:00:00 GMT", 0.0, 0.0),
    ("Retry-After beyond max_delay fails now", 1, 429, None, "3600", 0.0, "fail"),
    ("Retry-After garbage → backoff", 2, 429, None, "soon", 0.0, 2.0),
    ("total time would be exceeded", 2, 503, None, None, 59.0, "fail"),
    ("total time just fits", 2, 503, None, None, 58.0, 2.0),
    ("read error", 1, None, httpx.ReadError("reset"), None, 0.0, 1.0),
    ("remote protocol error (cut body)", 1, None, httpx.RemoteProtocolError("peer closed"), None, 0.0, 1.0),
    ("connect refused", 2, None, httpx.ConnectError("[Errno 111] refused"), None, 0.0, 2.0),
    ("read timeout", 1, None, httpx.ReadTimeout("timed out"), None, 0.0, 1.0),
    ("connect timeout", 1, None, httpx.ConnectTimeout("timed out"), None, 0.0, 1.0),
    ("clean short body", 1, None, TruncatedBody("short"), None, 0.0, 1.0),
    ("transport errors bounded too", 6, None, httpx.ReadError("reset"), None, 0.0, "fail"),
    ("unknown host fails fast", 1, None, _dns_error(socket.EAI_NONAME), None, 0.0, "fail"),
    ("DNS try-again is retried", 1, None, _dns_error(socket.EAI_AGAIN), None, 0.0, 1.0),
    ("bad certificate fails fast", 1, None, _tls_error(), None, 0.0, "fail"),
    ("unsupported protocol fails", 1, None, httpx.UnsupportedProtocol("ftp"), None, 0.0, "fail"),
    ("not an HTTP error", 1, None, ValueError("bug"), None, 0.0, "fail"),
    ("Retry-After ignored for transport errors", 1, None, httpx.ReadError("x"), "9", 0.0, 1.0),
]


@pytest.mark.parametrize(
    ("attempt", "status", "error", "retry_after", "elapsed", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide(
    attempt: int,
    status: int | None,
    error: BaseException | None,
    retry_after: str | None,
    elapsed: float,
    expected: float | str,
) -> None:
    decision = decide(attempt, status=status, error=error, retry_after=retry_after, elapsed=elapsed, policy=POLICY)
    if expected == "fail":
        assert isinstance(decision, Fail), decision
    else:
        assert isinstance(decision, Retry), decision
        assert decision.delay == pytest.approx(expected)


def test_default_jitter_stays_between_half_and_full_backoff() -> None:
    policy = RetryPolicy(base_delay=4.0, max_delay=100.0)
    delays = []
    for _ in range(200):
        decision = decide(1, status=503, error=None, retry_after=None, elapsed=0.0, policy=policy)
        assert isinstance(decision, Retry)
        delays.append(decision.delay)
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 1


def test_fail_reason_names_the_cause() -> None:
    decision = decide(6, status=503, error=None, retry_after=None, elapsed=0.0, policy=POLICY)
    assert isinstance(decision, Fail)
    assert "503" in decision.reason and "6 attempts" in decision.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("120", 120.0),
        (" 3 ", 3.0),
        ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),
        ("Tuesday, 14-Nov-23 22:14:20 GMT", 60.0),  # RFC 850, obsolete but allowed
        ("-1", None),
        ("1.5", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected
