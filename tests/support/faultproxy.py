"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1, for putting in front of a real registry in tests.

`FaultProxy(upstream="127.0.0.1:5000")` listens on a free port and forwards every request to the
upstream (one connection per request, `Connection: close`), except where a rule says otherwise. Rules
match a regular expression against the request path (query included) and optionally a method, apply to
the next `times` matching requests (None: all of them), and compose: a request may have its Range
stripped, its response headers rewritten and its body cut, all at once.

    with FaultProxy(registry.host) as proxy:
        proxy.cut(r"/blobs/", after=10_000)          # close the socket after 10 kB of the first blob
        proxy.status(r"/manifests/", 429, retry_after="1", times=2)
        run("layerscope", "analyze", f"{proxy.host}/repo:tag")
        proxy.log                                    # what was asked and what was done

Faults: `reset` (TCP RST, before or after N body bytes), `cut` (clean close after N body bytes),
`delay` (before the response, or a stall after N body bytes), `respond`/`status` (a synthetic
response: 429 with or without Retry-After, 503, …), `ignore_range` (strip `Range` so the upstream
answers 200 with the whole blob), `set_header` (rewrite `Docker-Content-Digest`, `Content-Length`,
`WWW-Authenticate`, …), `redirect`/`redirect_loop`, `replace_body` (hostile content), `big_body`
(a huge body streamed without holding it), `gzip_body` (`Content-Encoding: gzip`).

Bounded: every wait is capped (MAX_DELAY) and interrupted by `stop()`; sockets have timeouts; request
heads are capped; streamed bodies have a length. `stop()` closes the listener and every open socket,
and joins the handler threads (bounded). Nothing here imports layerscope.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import re
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FaultProxy", "LoggedCall", "Rule"]

#: No fault waits longer than this, whatever a test asks.
MAX_DELAY = 30.0
SOCKET_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
_MAX_HEAD = 64 * 1024
_CHUNK = 16 * 1024
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
)


@dataclass
class Rule:
    """One fault: which requests (path regex, method, how many) and what to do with them."""

    kind: str
    pattern: re.Pattern[str]
    method: str | None = None
    times: int | None = 1
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0

    def take(self, method: str, path: str) -> bool:
        """True (and count it) when this rule applies to the request."""
        if self.method is not None and self.method != method:
            return False
        if not self.pattern.search(path):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class LoggedCall:
    """One request the proxy received and what it did with it."""

    method: str
    path: str
    headers: dict[str, str]
    faults: list[str] = field(default_factory=list)
    status: int | None = None
    body_bytes: int = 0  # response body bytes written to the client
    finished: bool = False
    received: float = field(default_factory=time.monotonic)  # when the request arrived (time.monotonic())

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.proxy._serve(self.request)


class FaultProxy:
    """A threaded fault-injecting proxy on 127.0.0.1 in front of *upstream* (`host:port`)."""

    def __init__(self, upstream: str, *, name: str = "faultproxy") -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.name = name
        self.log: list[LoggedCall] = []
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        assert self._server is not None, "proxy not started"
        port: int = self._server.server_address[1]
        return port

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the registry part of a reference through the proxy."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> FaultProxy:
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, interrupt waits, close every open socket, join (bounded). Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            _close(s)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            with self._lock:
                if not self._sockets:
                    break
            time.sleep(0.01)

    def __enter__(self) -> FaultProxy:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- rules

    def add(self, kind: str, pattern: str, *, method: str | None = "GET", times: int | None = 1, **params: Any) -> Rule:
        rule = Rule(kind, re.compile(pattern), method, times, dict(params))
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Drop every rule and forget the log."""
        with self._lock:
            self._rules.clear()
            self.log.clear()

    def reset(self, pattern: str, *, after: int | None = None, **kw: Any) -> Rule:
        """Reset the connection (RST): before any response, or after *after* body bytes."""
        return self.add("reset", pattern, after=after, **kw)

    def cut(self, pattern: str, *, after: int, **kw: Any) -> Rule:
        """Send the headers and *after* body bytes, then close the socket cleanly (FIN)."""
        return self.add("cut", pattern, after=after, **kw)

    def delay(self, pattern: str, seconds: float, *, after: int | None = None, **kw: Any) -> Rule:
        """Wait *seconds* before the response, or stall that long after *after* body bytes."""
        return self.add("delay", pattern, seconds=min(seconds, MAX_DELAY), after=after, **kw)

    def respond(
        self, pattern: str, status: int, *, headers: dict[str, str] | None = None, body: bytes = b"", **kw: Any
    ) -> Rule:
        """Answer with a synthetic response instead of forwarding."""
        return self.add("respond", pattern, status=status, headers=dict(headers or {}), body=body, **kw)

    def status(self, pattern: str, status: int, *, retry_after: str | None = None, **kw: Any) -> Rule:
        """Answer *status* with an OCI error body (and `Retry-After` when given)."""
        code = {429: "TOOMANYREQUESTS", 503: "UNAVAILABLE"}.get(status, "UNKNOWN")
        body = json.dumps({"errors": [{"code": code, "message": "injected by faultproxy"}]}).encode()
        headers = {"Content-Type": "application/json"}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return self.respond(pattern, status, headers=headers, body=body, **kw)

    def redirect(self, pattern: str, location: str | Callable[[str], str], *, status: int = 307, **kw: Any) -> Rule:
        """Answer with a redirect to *location* (a URL, or a function of the request path)."""
        return self.add("redirect", pattern, status=status, location=location, **kw)

    def redirect_loop(self, pattern: str, **kw: Any) -> Rule:
        """Redirect to the same path with a growing `loop=N` query, forever (the client must give up)."""
        kw.setdefault("times", None)
        counter = iter(range(1 << 30))

        def again(path: str) -> str:
            base = re.sub(r"[?&]loop=\d+$", "", path)
            return f"{base}{'&' if '?' in base else '?'}loop={next(counter)}"

        return self.redirect(pattern, again, **kw)

    def ignore_range(self, pattern: str, **kw: Any) -> Rule:
        """Strip `Range` from the request: the upstream answers 200 with the whole body."""
        kw.setdefault("times", None)
        return self.add("ignore_range", pattern, **kw)

    def set_header(self, pattern: str, name: str, value: str | Callable[[str | None], str | None], **kw: Any) -> Rule:
        """Rewrite (or with a function returning None, drop) a response header."""
        kw.setdefault("times", None)
        return self.add("set_header", pattern, name=name, value=value, **kw)

    def replace_body(
        self, pattern: str, body: bytes, *, content_type: str | None = None, status: int = 200, **kw: Any
    ) -> Rule:
        """Forward, but answer *status* with *body* (Content-Length fixed, Docker-Content-Digest dropped)."""
        kw.setdefault("times", None)
        return self.add("replace_body", pattern, body=body, content_type=content_type, status=status, **kw)

    def big_body(
        self, pattern: str, status: int, size: int, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> Rule:
        """Answer *status* with a body of *size* zero bytes, streamed without Content-Length."""
        return self.add("big_body", pattern, status=status, size=size, headers=dict(headers or {}), **kw)

    def gzip_body(self, pattern: str, **kw: Any) -> Rule:
        """Forward, but send the body gzip-compressed with `Content-Encoding: gzip`."""
        kw.setdefault("times", None)
        return self.add("gzip_body", pattern, **kw)

    # ---------------------------------------------------------------- queries

    def calls(self, pattern: str = "", method: str | None = None) -> list[LoggedCall]:
        """Logged requests whose path matches *pattern* (and *method*)."""
        rx = re.compile(pattern)
        with self._lock:
            return [c for c in self.log if rx.search(c.path) and (method is None or c.method == method)]

    # ---------------------------------------------------------------- serving

    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
        try:
            sock.settimeout(SOCKET_TIMEOUT)
            self._serve_one(sock)
        except OSError:
            pass  # the client went away, or stop() closed the socket
        finally:
            with self._lock:
                self._sockets.discard(sock)
            _close(sock)

    def _serve_one(self, sock: socket.socket) -> None:
        head = _read_head(sock)
        if head is None:
            return
        request_line, headers, rest = head
        method, path, _ = request_line.split(" ", 2)
        body = rest
        length = int(headers.get("content-length", "0") or 0)
        while len(body) < length:
            more = sock.recv(min(_CHUNK, length - len(body)))
            if not more:
                return
            body += more
        call = LoggedCall(method, path, dict(headers))
        with self._lock:
            self.log.append(call)
            rules = [r for r in self._rules if r.take(method, path)]
        by_kind: dict[str, list[Rule]] = {}
        for r in rules:
            by_kind.setdefault(r.kind, []).append(r)
            call.faults.append(r.kind)

        def first(kind: str) -> Rule | None:
            found = by_kind.get(kind)
            return found[0] if found else None

        reset, cut, delay = first("reset"), first("cut"), first("delay")
        if reset is not None and reset.params["after"] is None:
            _rst(sock)
            return
        if delay is not None and delay.params["after"] is None and self._stopping.wait(delay.params["seconds"]):
            return
        if (rule := first("respond")) is not None:
            self._send_simple(sock, call, rule.params["status"], rule.params["headers"], rule.params["body"])
            return
        if (rule := first("redirect")) is not None:
            location = rule.params["location"]
            target = location(path) if callable(location) else location
            self._send_simple(sock, call, rule.params["status"], {"Location": target}, b"")
            return
        if (rule := first("big_body")) is not None:
            self._send_big(sock, call, rule)
            return

        forward = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP}
        if first("ignore_range") is not None:
            forward.pop("range", None)
        status, reason, response_headers, stream = self._upstream(method, path, forward, body)
        try:
            if (rule := first("replace_body")) is not None:
                replacement: bytes = rule.params["body"]
                status, reason = rule.params["status"], http.client.responses.get(rule.params["status"], "")
                stream = iter([replacement])
                response_headers = [
                    (k, v) for k, v in response_headers if k.lower() not in ("content-length", "docker-content-digest")
                ]
                response_headers.append(("Content-Length", str(len(replacement))))
                if rule.params["content_type"]:
                    response_headers = [(k, v) for k, v in response_headers if k.lower() != "content-type"]
                    response_headers.append(("Content-Type", rule.params["content_type"]))
            if first("gzip_body") is not None and method != "HEAD":
                data = gzip.compress(b"".join(stream), mtime=0)
                stream = iter([data])
                response_headers = [(k, v) for k, v in response_headers if k.lower() != "content-length"]
                response_headers += [("Content-Length", str(len(data))), ("Content-Encoding", "gzip")]
            for rule in by_kind.get("set_header", []):
                response_headers = _rewrite(response_headers, rule.params["name"], rule.params["value"])
            call.status = status
            _send_head(sock, status, reason, response_headers)
            limit = None
            for r in (cut, reset, delay):
                if r is not None and r.params.get("after") is not None:
                    limit = r.params["after"] if limit is None else min(limit, r.params["after"])
            sent = 0
            for chunk in stream:
                if limit is not None and sent + len(chunk) >= limit:
                    piece = chunk[: limit - sent]
                    sock.sendall(piece)
                    sent += len(piece)
                    call.body_bytes = sent
                    if delay is not None and delay.params.get("after") is not None:
                        # A stall: keep the socket open and silent, then carry on (if still wanted).
                        if self._stopping.wait(delay.params["seconds"]):
                            return
                        rest_of_chunk = chunk[len(piece) :]
                        limit = None
                        sock.sendall(rest_of_chunk)
                        sent += len(rest_of_chunk)
                        call.body_bytes = sent
                        continue
                    if reset is not None and reset.params.get("after") is not None:
                        _rst(sock)
                    return
                sock.sendall(chunk)
                sent += len(chunk)
                call.body_bytes = sent
            call.finished = True
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def _upstream(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], Iterator[bytes]]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=SOCKET_TIMEOUT)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body and "content-length" not in headers:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        response_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]

        def chunks() -> Iterator[bytes]:
            try:
                if method == "HEAD":
                    return
                while piece := response.read(_CHUNK):
                    yield piece
            finally:
                response.close()
                conn.close()

        return response.status, response.reason, response_headers, chunks()

    def _send_simple(
        self, sock: socket.socket, call: LoggedCall, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        call.status = status
        items = [(k, v) for k, v in headers.items() if k.lower() != "content-length"]
        items.append(("Content-Length", str(len(body))))
        _send_head(sock, status, http.client.responses.get(status, "Status"), items)
        if call.method != "HEAD":
            sock.sendall(body)
            call.body_bytes = len(body)
        call.finished = True

    def _send_big(self, sock: socket.socket, call: LoggedCall, rule: Rule) -> None:
        status, size = rule.params["status"], rule.params["size"]
        call.status = status
        items = [(k, v) for k, v in rule.params["headers"].items() if k.lower() != "content-length"]
        _send_head(sock, status, http.client.responses.get(status, "Status"), items)  # body ends at close
        block = bytes(_CHUNK * 4)
        sent = 0
        while sent < size and not self._stopping.is_set():
            piece = block[: min(len(block), size - sent)]
            sock.sendall(piece)
            sent += len(piece)
            call.body_bytes = sent
        call.finished = sent >= size


def _read_head(sock: socket.socket) -> tuple[str, dict[str, str], bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > _MAX_HEAD:
            return None
        more = sock.recv(_CHUNK)
        if not more:
            return None
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, rest


def _send_head(sock: socket.socket, status: int, reason: str, headers: list[tuple[str, str]]) -> None:
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append("Connection: close")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def _rewrite(
    headers: list[tuple[str, str]], name: str, value: str | Callable[[str | None], str | None]
) -> list[tuple[str, str]]:
    current = next((v for k, v in headers if k.lower() == name.lower()), None)
    new = value(current) if callable(value) else value
    kept = [(k, v) for k, v in headers if k.lower() != name.lower()]
    if new is not None:
        kept.append((name, new))
    return kept


def _rst(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0) rather than a clean FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # no shutdown(): that would send a FIN first
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    # shutdown() first: it wakes a thread blocked in recv/send on this socket, close() alone may not.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
