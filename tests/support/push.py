"""An independent pusher: raw httpx calls per the OCI distribution spec, written here for the tests.

Not layerscope's client — it exists so that what layerscope reads was written by someone else. Blobs go
up as a monolithic upload (`POST /v2/<name>/blobs/uploads/` then `PUT <location>&digest=…`), manifests
and indexes with `PUT /v2/<name>/manifests/<ref>` and their own media type. A 401 challenge is answered
on its own: `Bearer` (token from the realm, HTTP Basic to the issuer, one token per scope) or `Basic`.
Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin

import httpx

from tests.support.ocilayout import INDEX_TYPES, MANIFEST_TYPES, OciLayout, walk_descriptors

__all__ = ["ACCEPT_ALL", "PushError", "PushedRef", "Pusher"]

ACCEPT_ALL = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class PushError(RuntimeError):
    """The registry refused something the pusher sent."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code if response is not None else None


class _BlobLike(Protocol):
    @property
    def media_type(self) -> str: ...
    @property
    def data(self) -> bytes: ...


@dataclass(frozen=True)
class PushedRef:
    """Where an image went: `host/repo:tag` and the digest of the pushed manifest or index."""

    host: str
    repo: str
    tag: str
    digest: str
    media_type: str

    @property
    def ref(self) -> str:
        """`host/repo:tag`."""
        return f"{self.host}/{self.repo}:{self.tag}"

    @property
    def pinned(self) -> str:
        """`host/repo@sha256:…`."""
        return f"{self.host}/{self.repo}@{self.digest}"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Pusher:
    """Push and read back blobs and manifests on one registry (`base_url` like `http://127.0.0.1:5000`)."""

    base_url: str
    username: str | None = None
    password: str | None = None
    timeout: float = 15.0
    user_agent: str = "layerscope-tests-pusher/1"
    token_requests: int = 0
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)
    _basic: bool = field(default=False, repr=False)
    _client: httpx.Client | None = field(default=None, repr=False)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=self.timeout,
                follow_redirects=False,
                headers={"User-Agent": self.user_agent},
                trust_env=False,  # no HTTP(S)_PROXY for 127.0.0.1
            )
        return self._client

    @property
    def host(self) -> str:
        return httpx.URL(self.base_url).netloc.decode()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- auth

    def _auth_header(self, scope: str) -> dict[str, str]:
        if scope in self._tokens:
            return {"Authorization": f"Bearer {self._tokens[scope]}"}
        if self._basic and self.username is not None:
            creds = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            return {"Authorization": f"Basic {creds}"}
        return {}

    def _answer_challenge(self, response: httpx.Response, scope: str) -> bool:
        """Get credentials for a 401; False when there is nothing more to try."""
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        if scheme == "basic":
            if self._basic or self.username is None:
                return False
            self._basic = True
            return True
        if scheme != "bearer" or "realm" not in params or scope in self._tokens:
            return False
        query: list[tuple[str, str | int | float | bool | None]] = []
        if "service" in params:
            query.append(("service", params["service"]))
        for s in (params.get("scope") or scope).split(" "):
            if s:
                query.append(("scope", s))
        auth = httpx.BasicAuth(self.username, self.password or "") if self.username is not None else None
        self.token_requests += 1
        token_response = self.client.get(params["realm"], params=query, auth=auth)
        if token_response.status_code != 200:
            raise PushError(
                f"token request to {params['realm']} failed: HTTP {token_response.status_code}", token_response
            )
        body = token_response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise PushError("token response has no token", token_response)
        self._tokens[scope] = token
        return True

    def request(
        self, method: str, url: str, *, scope: str, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request, answering at most one auth challenge. *url* may be a path on the registry."""
        full = url if url.startswith(("http://", "https://")) else self.base_url + url
        for _ in range(2):
            response = self.client.request(
                method, full, headers={**(headers or {}), **self._auth_header(scope)}, **kwargs
            )
            if response.status_code != 401 or not self._answer_challenge(response, scope):
                return response
        return response

    # ---------------------------------------------------------------- blobs

    def blob_exists(self, repo: str, digest: str) -> bool:
        r = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull")
        return r.status_code == 200

    def push_blob(self, repo: str, data: bytes, digest: str | None = None, *, check_exists: bool = True) -> str:
        """Upload *data* (monolithic POST + PUT) unless the registry has it; return its digest."""
        digest = digest or _sha256(data)
        if check_exists and self.blob_exists(repo, digest):
            return digest
        scope = f"repository:{repo}:pull,push"
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope)
        if r.status_code != 202 or "Location" not in r.headers:
            raise PushError(f"starting an upload to {repo} failed: HTTP {r.status_code} {r.text[:200]}", r)
        location = urljoin(self.base_url + "/", r.headers["Location"])
        sep = "&" if "?" in location else "?"
        r = self.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            scope=scope,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if r.status_code != 201:
            raise PushError(f"uploading {digest} to {repo} failed: HTTP {r.status_code} {r.text[:200]}", r)
        return digest

    def push_blob_file(
        self, repo: str, path: Path | str, digest: str | None = None, *, check_exists: bool = True
    ) -> str:
        """Like push_blob, but streams the file's bytes (for blobs too big to hold in memory)."""
        source = _FileBody(Path(path))
        if digest is None:
            h = hashlib.sha256()
            for chunk in source:
                h.update(chunk)
            digest = "sha256:" + h.hexdigest()
        if check_exists and self.blob_exists(repo, digest):
            return digest
        scope = f"repository:{repo}:pull,push"
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope)
        if r.status_code != 202 or "Location" not in r.headers:
            raise PushError(f"starting an upload to {repo} failed: HTTP {r.status_code} {r.text[:200]}", r)
        location = urljoin(self.base_url + "/", r.headers["Location"])
        sep = "&" if "?" in location else "?"
        r = self.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            scope=scope,
            content=source,  # re-iterable: a retried request (auth challenge) sends the file again
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(source.size)},
        )
        if r.status_code != 201:
            raise PushError(f"uploading {digest} to {repo} failed: HTTP {r.status_code} {r.text[:200]}", r)
        return digest

    def get_blob(self, repo: str, digest: str) -> bytes:
        r = self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull")
        if r.status_code != 200:
            raise PushError(f"GET blob {digest} from {repo}: HTTP {r.status_code}", r)
        return r.content

    # ---------------------------------------------------------------- manifests

    def push_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> str:
        """PUT a manifest or index under *reference* (tag or digest); return the digest the registry reports."""
        r = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            scope=f"repository:{repo}:pull,push",
            content=data,
            headers={"Content-Type": media_type},
        )
        if r.status_code != 201:
            raise PushError(f"PUT manifest {repo}:{reference} failed: HTTP {r.status_code} {r.text[:300]}", r)
        digest = r.headers.get("Docker-Content-Digest") or _sha256(data)
        if digest != _sha256(data):
            raise PushError(f"registry says {digest} for a manifest that hashes to {_sha256(data)}", r)
        return digest

    def get_manifest(self, repo: str, reference: str, accept: str = ACCEPT_ALL) -> tuple[bytes, str, str | None]:
        """(body, Content-Type, Docker-Content-Digest) of a manifest."""
        r = self.request(
            "GET", f"/v2/{repo}/manifests/{reference}", scope=f"repository:{repo}:pull", headers={"Accept": accept}
        )
        if r.status_code != 200:
            raise PushError(f"GET manifest {repo}:{reference}: HTTP {r.status_code}", r)
        return r.content, r.headers.get("Content-Type", ""), r.headers.get("Docker-Content-Digest")

    def delete_manifest(self, repo: str, digest: str) -> None:
        r = self.request("DELETE", f"/v2/{repo}/manifests/{digest}", scope=f"repository:{repo}:delete")
        if r.status_code != 202:
            raise PushError(f"DELETE manifest {repo}@{digest}: HTTP {r.status_code}", r)

    def tags(self, repo: str) -> list[str]:
        r = self.request("GET", f"/v2/{repo}/tags/list", scope=f"repository:{repo}:pull")
        if r.status_code != 200:
            raise PushError(f"GET tags of {repo}: HTTP {r.status_code}", r)
        return list(r.json().get("tags") or [])

    # ---------------------------------------------------------------- whole images

    def push_tree(
        self,
        repo: str,
        descriptor: Mapping[str, Any],
        get: Callable[[str], bytes],
        has: Callable[[str], bool],
        tag: str | None = None,
    ) -> PushedRef:
        """Push everything reachable from *descriptor* (index → manifests → config/layers), children first.

        *get* returns a blob's bytes by digest; layers for which *has* is false (foreign) are not pushed.
        Child manifests go up by digest, the top one by *tag* (or its digest when no tag).
        """
        top = dict(descriptor)
        for desc in walk_descriptors(top, get, has):
            data = get(desc["digest"])
            if desc["mediaType"] in INDEX_TYPES | MANIFEST_TYPES:
                if desc["digest"] != top["digest"]:
                    self.push_manifest(repo, desc["digest"], data, desc["mediaType"])
            else:
                self.push_blob(repo, data, desc["digest"])
        data = get(top["digest"])
        digest = self.push_manifest(repo, tag or top["digest"], data, top["mediaType"])
        return PushedRef(self.host, repo, tag or digest, digest, top["mediaType"])

    def push_layout(self, layout_dir: Path | str, tag: str, repo: str, ref: str | None = None) -> PushedRef:
        """Push image *tag* of an OCI layout directory to *repo*:*ref* (default: the same tag)."""
        layout = OciLayout(Path(layout_dir))
        return self.push_tree(repo, layout.resolve(tag), layout.blob, layout.has_blob, ref or tag)

    def push_image(self, repo: str, tag: str, top: _BlobLike, blobs: Mapping[str, _BlobLike]) -> PushedRef:
        """Push an in-memory image: *top* (manifest or index blob) and every blob it needs from *blobs*.

        Works with scripts/fixturegen.py: `push_image(repo, tag, image.manifest, fixture_set.blobs)`.
        """
        store = {_sha256(b.data): b.data for b in blobs.values()}
        store[_sha256(top.data)] = top.data
        desc = {"mediaType": top.media_type, "digest": _sha256(top.data), "size": len(top.data)}
        return self.push_tree(repo, desc, store.__getitem__, store.__contains__, tag)

    def push_json_manifest(self, repo: str, reference: str, doc: Mapping[str, Any]) -> str:
        """PUT a manifest given as a dict (its mediaType field is the Content-Type)."""
        return self.push_manifest(repo, reference, json.dumps(doc).encode(), str(doc["mediaType"]))


class _FileBody:
    """A file's bytes as a re-iterable request body (each iteration reads the file from the start)."""

    def __init__(self, path: Path, chunk_size: int = 1 << 20) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as f:
            while chunk := f.read(self.chunk_size):
                yield chunk
