"""RoutingSource: the content source that sends each reference to its backend, OCI layout directory or registry."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from layerscope.content_source import ContentSource
from layerscope.layout import LayoutSource
from layerscope.observer import NullObserver, Observer
from layerscope.oci import Descriptor, Index, Manifest
from layerscope.reference import LayoutReference, Reference

if TYPE_CHECKING:
    from layerscope.registry import DockerCredentialStore, RegistryClient, RegistryConfig

__all__ = ["RoutingSource"]


class RoutingSource:
    """Layout references go to LayoutSource; registry references to one lazily created RegistryClient."""

    def __init__(self, registry_config: RegistryConfig | None = None, observer: Observer | None = None) -> None:
        self._config = registry_config
        self._observer = observer or NullObserver()
        self._layout = LayoutSource()
        self._registry: RegistryClient | None = None
        self._credentials: DockerCredentialStore | None = None
        self._lock = threading.Lock()

    def registry(self) -> RegistryClient:
        """The run's one registry client (one connection pool and token cache), created on first use."""
        registry = self._registry
        if registry is None:
            # Under a lock: references are resolved several at once, and the first requests may race here.
            with self._lock:
                if self._registry is None:
                    # Imported here so that layout-only runs (and --version) never import httpx.
                    from layerscope.registry import DockerCredentialStore, RegistryClient, RegistryConfig

                    self._credentials = DockerCredentialStore()
                    self._registry = RegistryClient(self._config or RegistryConfig(), self._credentials)
                registry = self._registry
        return registry

    def _for(self, ref: Reference) -> ContentSource:
        if isinstance(ref, LayoutReference):
            return self._layout
        return self.registry()

    def get_manifest(self, ref: Reference, identifier: str | None = None) -> Manifest | Index:
        """Delegate to the backend for *ref*."""
        return self._for(ref).get_manifest(ref, identifier)

    def get_blob(self, ref: Reference, descriptor: Descriptor, max_bytes: int) -> bytes:
        """Delegate to the backend for *ref*."""
        return self._for(ref).get_blob(ref, descriptor, max_bytes)

    def open_blob(self, ref: Reference, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        """Delegate to the backend for *ref*."""
        return self._for(ref).open_blob(ref, descriptor)

    def read_range(self, ref: Reference, descriptor: Descriptor, offset: int, length: int) -> bytes | None:
        """Delegate to the backend for *ref*."""
        return self._for(ref).read_range(ref, descriptor, offset, length)

    def close(self) -> None:
        """Close the registry client, if one was made, and pass on credential-lookup warnings."""
        if self._credentials is not None:
            for message in self._credentials.warnings:
                self._observer.warning(message)
        if self._registry is not None:
            self._registry.close()
