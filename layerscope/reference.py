"""Image references: parse and normalise the way docker does, plus `oci:PATH[:TAG]` layout directories.

Grammar: https://github.com/distribution/reference/blob/main/reference.go. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from layerscope.digest import is_digest
from layerscope.errors import InvalidReference

__all__ = [
    "DOCKER_HUB",
    "ImageReference",
    "LayoutReference",
    "Reference",
    "is_loopback_host",
    "looks_like_file",
    "parse_reference",
    "split_host_port",
]

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
# ASCII only: Go's RE2 `\w` (distribution/reference) is [0-9A-Za-z_]; Python's would accept 'é' and '٣'.
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_HOST = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?"
)
_ECR = re.compile(r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")
_MAX_NAME = 255
# DNS limits (RFC 1035 §2.3.4): a longer label cannot be looked up, and fails IDNA encoding in the client.
_MAX_LABEL = 63
_MAX_HOST = 253
# `user:password@host/…` typed by mistake: shown masked in errors, never echoed (the reference may be logged).
_USERINFO = re.compile(r"^((?:[a-zA-Z][a-zA-Z0-9+.-]*://)?)[^/@]*:[^/@]*@(?=[^@]*/)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
#: Suffixes of the files a reference option also takes (pull lists, profiles, workloads): a missing
#: `baked.txt` is a missing file, not the Docker Hub image `docker.io/library/baked.txt` (#18 item 8).
_FILE_SUFFIXES = (".txt", ".list", ".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A reference to an image in a registry, normalised (registry, repository, tag and/or digest)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def identifier(self) -> str:
        """What to put after /manifests/: the digest when pinned, else the tag (default `latest`)."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> ImageReference:
        """The same reference pinned to *digest* (the tag is kept for display)."""
        return ImageReference(self.registry, self.repository, self.tag, digest)

    def pinned(self) -> str:
        """`registry/repository@digest` (requires a digest)."""
        if not self.digest:
            raise InvalidReference(f"{self} is not pinned to a digest")
        return f"{self.registry}/{self.repository}@{self.digest}"

    @property
    def is_loopback(self) -> bool:
        """True when the registry host is on this machine (docker uses plain http there)."""
        # One rule for the registry client and references (issue #12): a prefix test took
        # `localhost.evil.example` for this machine.
        return is_loopback_host(self.registry)

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(account, region) when the registry is Amazon ECR, else None."""
        m = _ECR.fullmatch(self.registry)
        return (m["account"], m["region"]) if m else None


@dataclass(frozen=True, slots=True)
class LayoutReference:
    """An image in an OCI image layout directory: `oci:PATH[:TAG]` or `oci:PATH@DIGEST`."""

    path: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = f"oci:{self.path}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def with_digest(self, digest: str) -> LayoutReference:
        """The same reference pinned to *digest*."""
        return LayoutReference(self.path, self.tag, digest)

    def pinned(self) -> str:
        """`oci:PATH@digest` (requires a digest)."""
        if not self.digest:
            raise InvalidReference(f"{self} is not pinned to a digest")
        return f"oci:{self.path}@{self.digest}"


Reference = ImageReference | LayoutReference


def _shown(text: str) -> str:
    """*text* for an error message, with anything that looks like `user:password@` masked."""
    return repr(_USERINFO.sub(r"\1***@", text))


def _check_host(host: str, original: str) -> None:
    """Refuse a port outside 1..65535 and a name DNS cannot hold (the `_HOST` grammar allows both)."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:]
    else:
        name, _, port = host.partition(":")
    if port and not 0 < int(port) <= 65535:
        raise InvalidReference(f"invalid port {port} in {_shown(original)}", hint="a port is 1 to 65535")
    if not host.startswith("[") and (len(name) > _MAX_HOST or any(len(p) > _MAX_LABEL for p in name.split("."))):
        raise InvalidReference(
            f"invalid registry host in {_shown(original)}",
            hint="a DNS name has labels of at most 63 characters, 253 in all",
        )


def _split_digest(text: str, original: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    name, _, digest = text.rpartition("@")
    if not is_digest(digest):
        raise InvalidReference(f"invalid digest in reference {_shown(original)}")
    return name, digest


def _parse_layout(text: str, original: str) -> LayoutReference:
    body, digest = _split_digest(text[len("oci:") :], original)
    path, tag = body, None
    head, sep, tail = body.rpartition(":")
    if sep and not head:
        raise InvalidReference(f"missing directory in {_shown(original)}", hint="use oci:PATH[:TAG]")
    # A trailing ":tag" is a tag only when it has no "/" (so "oci:C:/dir" style paths still work).
    if sep and head and "/" not in tail and "\\" not in tail:
        if not _TAG.fullmatch(tail):
            raise InvalidReference(f"invalid tag {tail!r} in {_shown(original)}")
        path, tag = head, tail
    if not path:
        raise InvalidReference(f"missing directory in {_shown(original)}", hint="use oci:PATH[:TAG]")
    return LayoutReference(path=path, tag=tag, digest=digest)


def looks_like_file(text: str) -> bool:
    """True when *text* reads as a file path rather than an image reference (./x, ../x, /x, ~/x, x.txt…)."""
    return text.startswith(("./", "../", "/", "~", ".\\", "..\\")) or text.lower().endswith(_FILE_SUFFIXES)


def parse_reference(text: str) -> Reference:
    """Parse *text* into a normalised reference; raise InvalidReference with a hint if malformed."""
    original = text
    text = text.strip()
    if not text or any(c.isspace() for c in text):
        raise InvalidReference(f"invalid reference {_shown(original)}")
    if text.startswith("oci:"):
        return _parse_layout(text, original)
    # Two common slips get their own message (#18 item 13): a URL, and credentials typed into the name.
    if _USERINFO.match(text):
        raise InvalidReference(
            f"credentials in reference {_shown(original)}",
            hint="credentials go in `docker login HOST` (config.json) or REGISTRY_AUTH_FILE, never in the reference",
        )
    if _SCHEME.match(text):
        scheme = text.split("://", 1)[0]
        raise InvalidReference(
            f"a reference has no URL scheme: {_shown(original)}",
            hint=f"drop the '{scheme}://': write HOST/REPOSITORY[:TAG] (use --plain-http for a registry without TLS)",
        )
    name, digest = _split_digest(text, original)
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise InvalidReference(f"invalid tag {tag!r} in {_shown(original)}")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        if not _HOST.fullmatch(first):
            raise InvalidReference(f"invalid registry host in {_shown(original)}")
        _check_host(first, original)
        registry, repository = first.lower(), rest
    else:
        registry, repository = DOCKER_HUB, name
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = f"library/{repository}"
    if not repository or len(repository) > _MAX_NAME:
        raise InvalidReference(f"invalid repository name in {_shown(original)}")
    for component in repository.split("/"):
        if not _COMPONENT.fullmatch(component):
            hint = "repository names are lowercase letters, digits and . _ - separators"
            raise InvalidReference(f"invalid repository name {repository!r} in {_shown(original)}", hint=hint)
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(registry=registry, repository=repository, tag=tag, digest=digest)


def split_host_port(netloc: str) -> tuple[str, int | None]:
    """Split `host[:port]` (IPv6 in brackets) into the bare host and the port."""
    if netloc.startswith("["):
        close = netloc.find("]")
        host, rest = netloc[1:close], netloc[close + 1 :]
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, sep, port = netloc.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return netloc, None


def is_loopback_host(netloc: str) -> bool:
    """True for the literal `localhost`, 127.0.0.0/8 and ::1, with or without a port."""
    host, _ = split_host_port(netloc.lower())
    # Only names that cannot leave this machine. `foo.localhost` is not one of them: RFC 6761 asks
    # resolvers to keep it local, but a DNS server or search domain may answer with any address, and this
    # decides plain http and whether credentials may go out in clear text (issue #12).
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # ::ffff:127.0.0.1 is 127.0.0.1; Python before 3.13 says it is not loopback, so ask the IPv4 address.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback
