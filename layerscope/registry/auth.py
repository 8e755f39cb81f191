"""Registry authentication as an `httpx.Auth` generator flow: Bearer tokens and Basic, on challenge.

The flow (https://distribution.github.io/distribution/spec/auth/token/): send the request (with a cached
token when we have one for its scope); on 401 read `WWW-Authenticate` (RFC 7235 §4.1); for `Bearer`
fetch a token from the challenge's realm with `service` and `scope` (anonymously, or with Basic
credentials, or by exchanging an identity token — https://distribution.github.io/distribution/spec/auth/oauth/),
cache it per (registry origin, realm, service, scope) and resend once; for `Basic` (ECR) resend once with
the credentials.

Everything is keyed by the registry origin (scheme, host, port) the request goes to (issue #12): the
credentials are looked up for that host, and a token or Basic header obtained for one origin is never
sent to another, even when the other's challenge names the same realm and service. The token request
goes to the realm the registry's own challenge names, with that registry's own credentials (as docker
does: the registry chose its token service). Credentials go out only in answer to a challenge, never over
plain http to a non-loopback host, and a challenge that arrives from a redirect target (S3, a CDN) is not
answered at all.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field

import httpx

from layerscope.errors import AuthenticationError, RegistryError
from layerscope.registry.bodies import CappedStream, content_encoding, decode_body
from layerscope.registry.config import is_loopback_host
from layerscope.registry.credentials import Credentials, CredentialsProvider

__all__ = [
    "Challenge",
    "RegistryAuth",
    "TokenEndpointError",
    "parse_www_authenticate",
    "scope_for_path",
]

#: Lifetime of a token whose response has no `expires_in` (Docker token spec: "assume 60 seconds").
DEFAULT_TOKEN_SECONDS = 60.0
# Refresh a little early so a token does not expire between our check and the registry's.
_EXPIRY_MARGIN = 5.0
_MAX_TOKEN_BODY = 1 << 20
_CLIENT_ID = "layerscope"
_TOKEN_CHARS = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2 tchar
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_REPO_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?:manifests|blobs|tags|referrers)/")
# Methods that change a repository: they need a token with `push` (token spec "scope").
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge of a `WWW-Authenticate` header: a scheme (lower case) and its parameters."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        """The `realm` parameter (for Bearer: the token endpoint URL)."""
        return self.params.get("realm")


def parse_www_authenticate(headers: str | Iterable[str]) -> tuple[Challenge, ...]:
    """Parse one or more `WWW-Authenticate` values into challenges (RFC 7235 §4.1, quoted commas allowed)."""
    values = [headers] if isinstance(headers, str) else list(headers)
    out: list[Challenge] = []
    for value in values:
        out.extend(_parse_one(value))
    return tuple(out)


def _skip(text: str, i: int, chars: str) -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _token(text: str, i: int) -> tuple[str, int]:
    m = _TOKEN_CHARS.match(text, i)
    return (m.group(), m.end()) if m else ("", i)


def _quoted(text: str, i: int) -> tuple[str, int]:
    """Read a quoted-string starting at text[i] == '"' (RFC 9110 §5.6.4: backslash escapes any octet)."""
    out = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i  # unterminated: take what there is


def _param(text: str, i: int) -> tuple[str, str, int] | None:
    """Read `name BWS = BWS (token | quoted-string)` at *i*, or None when there is no such parameter."""
    name, j = _token(text, i)
    if not name:
        return None
    j = _skip(text, j, " \t")
    if j >= len(text) or text[j] != "=":
        return None
    j = _skip(text, j + 1, " \t")
    if j < len(text) and text[j] == '"':
        value, j = _quoted(text, j)
    else:
        value, j = _token(text, j)
        if not value:
            return None  # "name=" followed by "," or the end: that is a token68 with padding, not a param
    return name.lower(), value, j


def _parse_one(text: str) -> list[Challenge]:
    challenges: list[Challenge] = []
    i = 0
    while True:
        i = _skip(text, i, " \t,")
        scheme, i = _token(text, i)
        if not scheme:
            return challenges
        params: dict[str, str] = {}
        token68 = None
        i = _skip(text, i, " \t")
        if _param(text, i) is None:
            # No `name=value` after the scheme: either a token68 credential-ish blob or nothing at all.
            m = _TOKEN68.match(text, i)
            if m:
                token68, i = m.group(), m.end()
        else:
            while True:
                got = _param(text, i)
                if got is None:
                    break
                name, value, i = got
                params.setdefault(name, value)  # RFC 7235: each parameter name appears once; keep the first
                j = _skip(text, i, " \t")
                if j < len(text) and text[j] == ",":
                    k = _skip(text, j + 1, " \t,")
                    if _param(text, k) is not None:
                        i = k
                        continue
                    i = j  # what follows the comma is the next challenge's scheme
                break
        challenges.append(Challenge(scheme.lower(), params, token68))


def scope_for_path(path: str, method: str = "GET") -> str | None:
    """The scope a `/v2/NAME/{manifests,blobs,tags,referrers}/…` request needs (token spec "scope").

    Reads need `pull`; writes need `pull,push` (a blob upload checks the blob first, and the
    registry's `PUT` of a manifest verifies its blobs, both pull operations); `/v2/_catalog` needs
    `registry:catalog:*`.
    """
    if path == "/v2/_catalog":
        return "registry:catalog:*"
    m = _REPO_PATH.match(path)
    if m is None:
        return None
    return f"repository:{m['name']}:pull,push" if method.upper() in _WRITE_METHODS else f"repository:{m['name']}:pull"


class TokenEndpointError(RegistryError):
    """The token realm answered with an error status (the client's retry loop decides what next)."""

    def __init__(self, message: str, *, status: int, retry_after: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _basic(creds: Credentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _origin(url: httpx.URL) -> str:
    """`scheme://host[:port]` of *url* (httpx lower-cases the host and drops a default port)."""
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


#: A cached token's key: (registry origin, realm, service, scope). The origin comes first so that two
#: registries naming the same realm and service never share a token (issue #12).
_TokenKey = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires: float


class RegistryAuth(httpx.Auth):
    """Answers registry challenges; thread-safe (one instance serves a thread pool through one client)."""

    def __init__(self, credentials: CredentialsProvider | None = None, *, clock: Callable[[], float] = time.monotonic):
        self._credentials = credentials or (lambda host: None)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[_TokenKey, _Token] = {}
        self._key_locks: dict[_TokenKey, threading.Lock] = {}
        # Per registry origin: the last Bearer challenge (realm, service) or the Basic header it accepted,
        # so later requests carry credentials up front instead of paying a 401 round trip each.
        self._bearer_hosts: dict[str, tuple[str, str]] = {}
        self._basic_hosts: dict[str, str] = {}

    # -- the httpx.Auth flow -------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send *request*, answer one 401 challenge, resend once."""
        origin = _origin(request.url)
        scope = scope_for_path(request.url.path, request.method)
        sent = self._cached_header(origin, scope)
        if sent:
            request.headers["Authorization"] = sent
        response = yield request
        if response.status_code != 401 or _origin(response.url) != origin:
            # A 401 from a redirect target (S3, a CDN) is not a challenge for our credentials.
            return
        challenges = parse_www_authenticate(response.headers.get_list("www-authenticate"))
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None:
            header = yield from self._bearer_header(request, bearer, scope, sent)
        elif basic is not None:
            header = self._basic_header(request)
        else:
            return
        if header is None or header == sent:
            return  # nothing new to offer: the 401 stands
        request.headers["Authorization"] = header
        yield request

    # -- helpers -------------------------------------------------------------------------------------

    def _cached_header(self, origin: str, scope: str | None) -> str | None:
        with self._lock:
            if origin in self._basic_hosts:
                return self._basic_hosts[origin]
            challenge = self._bearer_hosts.get(origin)
            if challenge is None:
                return None
            token = self._tokens.get((origin, *challenge, scope or ""))
            if token is None or token.expires <= self._clock():
                return None
            return f"Bearer {token.value}"

    def _creds_for(self, url: httpx.URL) -> Credentials | None:
        # Looked up for the host the request goes to, never for the realm's host: B's challenge may name
        # A's token service, and A's credentials must not mint a token that is then sent to B.
        creds = self._credentials(url.netloc.decode("ascii"))
        if creds is not None:
            _refuse_plain_http(url, "registry")
        return creds

    def _basic_header(self, request: httpx.Request) -> str | None:
        creds = self._creds_for(request.url)
        if creds is None or not creds.password:
            return None
        header = _basic(creds)
        with self._lock:
            self._basic_hosts[_origin(request.url)] = header
        return header

    def _key_lock(self, key: _TokenKey) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _bearer_header(
        self, request: httpx.Request, challenge: Challenge, scope: str | None, sent: str | None
    ) -> Generator[httpx.Request, httpx.Response, str | None]:
        realm = challenge.realm or ""
        service = challenge.params.get("service", "")
        scope = scope or challenge.params.get("scope", "")
        origin = _origin(request.url)
        key = (origin, realm, service, scope)
        with self._lock:
            self._bearer_hosts[origin] = (realm, service)
        # One token fetch per key at a time: a thread pool's first requests all get a 401 together.
        with self._key_lock(key):
            with self._lock:
                token = self._tokens.get(key)
            if token is not None and token.expires > self._clock() and f"Bearer {token.value}" != sent:
                return f"Bearer {token.value}"
            creds = self._creds_for(request.url)
            # The token request gets the registry request's timeouts: a request an auth flow yields is
            # sent as built, and one built without them would wait for a silent token service forever.
            timeout = request.extensions.get("timeout")
            token_request = self._token_request(realm, service, scope, creds, timeout=timeout)
            token_response = yield token_request
            if creds is not None and creds.identity_token and token_response.status_code in (404, 405):
                # Token servers without the OAuth2 POST endpoint: docker falls back to GET with Basic.
                token_response.read()  # httpx reads each response the flow moves past; let it find the body
                token_request = self._token_request(realm, service, scope, creds, oauth=False, timeout=timeout)
                token_response = yield token_request
            token = self._parse_token(token_response, token_request.url, request.url, scope, creds)
            with self._lock:
                self._tokens[key] = token
        return f"Bearer {token.value}"

    def _token_request(
        self,
        realm: str,
        service: str,
        scope: str,
        creds: Credentials | None,
        *,
        oauth: bool = True,
        timeout: Mapping[str, float | None] | None = None,
    ) -> httpx.Request:
        url = httpx.URL(realm)
        if url.scheme not in ("http", "https") or not url.host:
            raise AuthenticationError(f"the registry's token realm {realm!r} is not an http(s) URL")
        if creds is not None:
            _refuse_plain_http(url, "token service")
        extensions = {"timeout": dict(timeout)} if timeout else {}
        if creds is not None and creds.identity_token and oauth:
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token, "client_id": _CLIENT_ID}
            if service:
                form["service"] = service
            if scope:
                form["scope"] = scope
            return httpx.Request("POST", url, data=form, extensions=extensions)
        params = {k: v for k, v in (("service", service), ("scope", scope)) if v}
        headers = {}
        if creds is not None and creds.password:
            headers["Authorization"] = _basic(creds)
            params["account"] = creds.username
        return httpx.Request("GET", url.copy_merge_params(params), headers=headers, extensions=extensions)

    def _parse_token(
        self,
        response: httpx.Response,
        token_url: httpx.URL,
        registry_url: httpx.URL,
        scope: str,
        creds: Credentials | None,
    ) -> _Token:
        where = f"token service {token_url.netloc.decode('ascii')} for {registry_url.netloc.decode('ascii')}"
        what = f"scope {scope!r}" if scope else "the registry"
        body = _read_token_body(response, where)
        if response.status_code in (401, 403):
            if creds is None:
                raise AuthenticationError(f"{where} refused an anonymous token for {what}")
            raise AuthenticationError(
                f"{where} refused the credentials of user {creds.username!r} for {what}",
                hint="check the password / token (docker login again), and that the user may pull this repository",
            )
        if response.status_code != 200:
            raise TokenEndpointError(
                f"{where} answered HTTP {response.status_code}",
                status=response.status_code,
                retry_after=response.headers.get("retry-after"),
            )
        try:
            doc = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            doc = None
        value = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not isinstance(value, str) or not value:
            raise AuthenticationError(f"{where} answered without a token")
        assert isinstance(doc, dict)
        lifetime = doc.get("expires_in")
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_SECONDS
        return _Token(value, self._clock() + max(0.0, float(lifetime) - _EXPIRY_MARGIN))


def _refuse_plain_http(url: httpx.URL, what: str) -> None:
    """Raise instead of sending credentials in clear text to another machine."""
    if url.scheme == "http" and not is_loopback_host(url.netloc.decode("ascii")):
        host = url.netloc.decode("ascii")
        raise AuthenticationError(
            f"refusing to send credentials over plain http to the {what} {host}",
            hint="use https for this registry (drop --plain-http), or log out of it to pull anonymously",
        )


def _read_token_body(response: httpx.Response, where: str) -> bytes:
    """The token response body, refused when it has more than _MAX_TOKEN_BODY bytes (sent or decoded).

    Read with `read()` through a capped stream, not by iterating ourselves: httpx reads every response
    an auth flow moves past (`_send_handling_auth`), and a stream we had consumed would make it raise
    StreamConsumed. The cap stops an endless (chunked) body; the decoding is bounded too (bodies.py).
    """
    length = response.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > _MAX_TOKEN_BODY:
        response.close()
        raise AuthenticationError(f"{where} answered with a {length}-byte body; not a token")
    too_big = AuthenticationError(f"{where} answered with more than {_MAX_TOKEN_BODY} bytes; not a token")
    encoding = content_encoding(response)
    if isinstance(response.stream, httpx.SyncByteStream) and not response.is_stream_consumed:
        capped = CappedStream(response.stream, _MAX_TOKEN_BODY)
        response.stream = capped
        raw = response.read()
        if capped.overflow:
            raise too_big
    else:
        raw, encoding = response.read(), ""  # read (and decoded) before we saw it: a test's mock
    try:
        body = b"".join(decode_body([raw], encoding, _MAX_TOKEN_BODY + 1))
    except httpx.DecodingError as exc:
        raise AuthenticationError(f"{where} answered with a body that does not decode: {exc}") from None
    if len(body) > _MAX_TOKEN_BODY:
        raise too_big
    return body
