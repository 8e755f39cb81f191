"""Per-host registry settings as data: plain http, endpoint remap, concurrency, timeouts, retries.

Modelled on regclient's `config/host.go`: a host name maps to settings, so tests and `catalog refresh` can
point `mcr.microsoft.com` at `127.0.0.1:PORT` without touching references. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from layerscope import __version__
from layerscope.errors import UsageError
from layerscope.reference import is_loopback_host, split_host_port
from layerscope.registry.retry import RetryPolicy

__all__ = [
    "DEFAULT_CONCURRENCY",
    "HostConfig",
    "RegistryConfig",
    "ResolvedHost",
    "Timeouts",
    "is_loopback_host",
    "split_host_port",
]

#: Connections per registry host at once; docker's default is 3 layers per image, containerd's is unlimited.
DEFAULT_CONCURRENCY = 6
# docker.io is a name, not an endpoint: the Docker Hub registry API lives at registry-1.docker.io.
_ENDPOINT_DEFAULTS = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Network timeouts in seconds (`read` is the longest silence tolerated mid-body, not a total)."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    # Waiting for a pooled connection: unbounded, because the per-host concurrency limit already bounds it.
    pool: float | None = None


@dataclass(frozen=True, slots=True)
class HostConfig:
    """Settings for one registry host; `None` fields fall back to the RegistryConfig defaults."""

    #: True: http; False: https even on loopback; None: https unless the endpoint is loopback or --plain-http.
    plain_http: bool | None = None
    #: `host[:port]` actually contacted instead of the registry name (a mirror, or a local test registry).
    endpoint: str | None = None
    max_concurrency: int | None = None
    timeouts: Timeouts | None = None


@dataclass(frozen=True, slots=True)
class ResolvedHost:
    """Where and how to talk to one registry, after applying its HostConfig and the defaults."""

    name: str
    endpoint: str
    scheme: str
    loopback: bool
    max_concurrency: int
    timeouts: Timeouts

    @property
    def base_url(self) -> str:
        """`scheme://endpoint`, the prefix of every `/v2/` URL."""
        return f"{self.scheme}://{self.endpoint}"


def _frozen_hosts(hosts: Mapping[str, HostConfig]) -> Mapping[str, HostConfig]:
    return MappingProxyType({name.lower(): cfg for name, cfg in hosts.items()})


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    """All registry settings of one run: per-host overrides plus defaults."""

    hosts: Mapping[str, HostConfig] = field(default_factory=dict)
    #: The global `--plain-http`: every host without its own `plain_http` uses http.
    plain_http: bool = False
    max_concurrency: int = DEFAULT_CONCURRENCY
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = f"layerscope/{__version__}"

    def __post_init__(self) -> None:
        # A frozen dataclass holding a caller's dict would not really be frozen.
        object.__setattr__(self, "hosts", _frozen_hosts(self.hosts))
        if self.max_concurrency < 1:
            raise UsageError(f"max concurrency must be at least 1, not {self.max_concurrency}")
        for name, cfg in self.hosts.items():
            if cfg.max_concurrency is not None and cfg.max_concurrency < 1:
                raise UsageError(f"max concurrency for {name} must be at least 1")
            if cfg.endpoint is not None:
                _validate_endpoint(cfg.endpoint)

    def resolve(self, name: str) -> ResolvedHost:
        """Endpoint, scheme, concurrency and timeouts for registry *name* (a `host[:port]`)."""
        key = name.lower()
        host = self.hosts.get(key, HostConfig())
        endpoint = (host.endpoint or _ENDPOINT_DEFAULTS.get(key) or key).lower()
        loopback = is_loopback_host(endpoint)
        # Like docker: loopback registries are trusted over plain http (dockerd's default
        # insecure-registries include 127.0.0.0/8); anything else needs TLS unless asked otherwise.
        plain = host.plain_http if host.plain_http is not None else (self.plain_http or loopback)
        return ResolvedHost(
            name=key,
            endpoint=endpoint,
            scheme="http" if plain else "https",
            loopback=loopback,
            max_concurrency=host.max_concurrency or self.max_concurrency,
            timeouts=host.timeouts or self.timeouts,
        )


def _validate_endpoint(endpoint: str) -> None:
    if not endpoint or "/" in endpoint or any(c.isspace() for c in endpoint):
        raise UsageError(
            f"invalid registry endpoint {endpoint!r}", hint="an endpoint is HOST[:PORT], without a scheme or path"
        )
