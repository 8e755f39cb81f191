"""How the registry client talks HTTP: one httpx.Client per run, per-host slots, retries, one status check.

`Transport.open` is the one place a request is sent and an unwanted status becomes an error
(`failures.status_error`); `send` adds a capped body read, `request` the retries. Every failed attempt goes
through `retry.decide`. `RegistryAuth` answers challenges. Redirects are followed (blobs redirect to S3 or
a CDN) and httpx drops `Authorization` when one leaves the origin.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar, cast

import httpx

from layerscope.errors import LayerscopeError, RegistryError
from layerscope.registry.auth import RegistryAuth, TokenEndpointError
from layerscope.registry.bodies import ACCEPT_ENCODING, guard_response, read_body
from layerscope.registry.config import RegistryConfig, ResolvedHost, Timeouts
from layerscope.registry.credentials import CredentialsProvider
from layerscope.registry.failures import MAX_ERROR_BODY, Failure, Where, status_error, transport_error
from layerscope.registry.retry import Fail, decide

__all__ = ["Reply", "Transport"]

T = TypeVar("T")
_OK = frozenset({200})


@dataclass(frozen=True, slots=True)
class Reply:
    """A wanted answer whose (capped) body has been read: status, headers, body and final URL."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: httpx.URL


def _timeout(t: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


class _DeferredTLSTransport(httpx.BaseTransport):
    """httpx's default transport, except that its TLS half is made on the first https request.

    Making an `httpx.HTTPTransport` loads the CA bundle (about 30 ms on a 2-core machine, as much as a
    warm re-analysis spends on everything else); plain-http hosts (loopback registries, in-cluster
    mirrors) and runs that make no request at all never need it. Proxies from the environment are
    mounted by httpx.Client itself, in front of this transport, as before.
    """

    def __init__(self, *, limits: httpx.Limits) -> None:
        self._limits = limits
        self._plain = httpx.HTTPTransport(limits=limits, verify=False)  # http:// only: never does TLS
        self._tls: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return self._plain.handle_request(request)
        tls = self._tls
        if tls is None:
            with self._lock:
                if self._tls is None:
                    self._tls = httpx.HTTPTransport(limits=self._limits)
                tls = self._tls
        return tls.handle_request(request)

    def close(self) -> None:
        self._plain.close()
        if self._tls is not None:
            self._tls.close()


class Transport:
    """Sends registry requests with auth, per-host concurrency slots and retries; safe to share between threads."""

    def __init__(
        self,
        config: RegistryConfig,
        credentials_provider: CredentialsProvider | None,
        transport: httpx.BaseTransport | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.sleep = sleep
        self.clock = clock
        self._auth = RegistryAuth(credentials_provider, clock=clock)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        self._http = httpx.Client(
            transport=transport or _DeferredTLSTransport(limits=limits),
            follow_redirects=True,  # blobs redirect to S3 / a CDN; httpx drops Authorization cross-origin
            max_redirects=10,
            headers={"User-Agent": config.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            # httpx would decode Content-Encoding and read redirect/401 bodies without a bound (bodies.py).
            event_hooks={"response": [guard_response]},
            # Connections are bounded per host by our semaphores, not by the pool.
            limits=limits,
            timeout=_timeout(config.timeouts),
            # Proxy variables apply to real networks; an injected transport (tests) must not be bypassed.
            trust_env=transport is None,
        )
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._local = threading.local()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    @contextmanager
    def slot(self, host: ResolvedHost) -> Iterator[None]:
        """Hold one of the host's `max_concurrency` slots (re-entrant within a thread, so never self-deadlocks)."""
        held: dict[str, int] = self._local.__dict__.setdefault("held", {})
        if held.get(host.endpoint):
            held[host.endpoint] += 1
            try:
                yield
            finally:
                held[host.endpoint] -= 1
            return
        with self._lock:
            semaphore = self._slots.setdefault(host.endpoint, threading.BoundedSemaphore(host.max_concurrency))
        with semaphore:
            held[host.endpoint] = 1
            try:
                yield
            finally:
                held[host.endpoint] = 0

    def retrying(self, where: Where, attempt: Callable[[], T]) -> T:
        """Run *attempt* until it succeeds or retry.decide says stop."""
        number, start = 1, self.clock()
        while True:
            try:
                return attempt()
            except Failure as failure:
                decision = decide(
                    number,
                    status=failure.status,
                    error=failure.error,
                    retry_after=failure.retry_after,
                    elapsed=self.clock() - start,
                    policy=self.config.retry,
                )
                if isinstance(decision, Fail):
                    final = failure.final
                    if number > 1 or "asks to wait" in decision.reason:
                        final = type(final)(
                            f"{final.message} (gave up: {decision.reason})",
                            hint=final.hint,
                            status=final.status,
                            codes=final.codes,
                        )
                    raise final from failure.error
                self.sleep(decision.delay)
                number += 1

    def open(
        self,
        where: Where,
        host: ResolvedHost,
        url: str,
        headers: dict[str, str] | None = None,
        *,
        method: str = "GET",
        content: bytes | None = None,
        use_auth: bool = True,
        ok: frozenset[int] = _OK,
    ) -> httpx.Response:
        """Send one request; return the open response if its status is in *ok*, else raise `Failure`."""
        request = self._http.build_request(
            method, url, headers=headers, content=content, timeout=_timeout(host.timeouts)
        )
        try:
            response = self._http.send(request, stream=True, auth=self._auth if use_auth else None)
        except TokenEndpointError as exc:
            status = cast(int, exc.status)  # auth.py always sets it; the base class allows None
            final = status_error(where, status, b"", None, prefix=f"{where}: {exc.message}")
            raise Failure(final, status=status, retry_after=exc.retry_after) from None
        except (httpx.RequestError, UnicodeError) as exc:
            # UnicodeError: a host name that does not IDNA-encode (a label over 63 characters), which
            # httpx passes through unwrapped; a redirect or a foreign layer URL may name one.
            raise Failure(transport_error(where, exc), error=exc) from None
        if response.status_code in ok:
            return response
        try:
            try:
                body = read_body(response, MAX_ERROR_BODY)
            except httpx.HTTPError:
                body = b""  # the status says enough; a body cut short must not hide it
            retry_after = response.headers.get("retry-after")
            final = status_error(where, response.status_code, body, retry_after, method=method)
            raise Failure(final, status=response.status_code, retry_after=retry_after)
        finally:
            response.close()

    def send(
        self,
        where: Where,
        host: ResolvedHost,
        url: str,
        headers: dict[str, str] | None = None,
        *,
        method: str = "GET",
        content: bytes | None = None,
        ok: frozenset[int] = _OK,
        cap: int = MAX_ERROR_BODY,
        too_big: type[LayerscopeError] = RegistryError,
    ) -> Reply:
        """`open`, then read the body (at most *cap* bytes, else *too_big*); one attempt."""
        response = self.open(where, host, url, headers, method=method, content=content, ok=ok)
        try:
            if method == "HEAD":
                body = b""  # a HEAD's Content-Length is that of the body it does not send
            else:
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > cap:
                    raise too_big(f"{where}: {length} bytes, over the {cap}-byte limit")
                body = read_body(response, cap + 1)
        except httpx.TransportError as exc:
            raise Failure(transport_error(where, exc), error=exc) from None
        except httpx.DecodingError as exc:
            raise RegistryError(f"{where}: the body does not decode ({type(exc).__name__})") from None
        finally:
            response.close()
        if len(body) > cap:
            raise too_big(f"{where}: more than the {cap}-byte limit")
        return Reply(response.status_code, response.headers, body, response.url)

    def request(
        self,
        where: Where,
        host: ResolvedHost,
        url: str,
        headers: dict[str, str] | None = None,
        *,
        method: str = "GET",
        content: bytes | None = None,
        ok: frozenset[int] = _OK,
        cap: int = MAX_ERROR_BODY,
        too_big: type[LayerscopeError] = RegistryError,
    ) -> Reply:
        """`send` retried per the policy (for idempotent requests: GET, HEAD, PUT of a manifest)."""
        return self.retrying(
            where,
            lambda: self.send(
                where, host, url, headers, method=method, content=content, ok=ok, cap=cap, too_big=too_big
            ),
        )
