"""Progress and warnings as an injected observer, so the library itself never prints (pip-audit's _state)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NullObserver", "Observer"]


class Observer(Protocol):
    """Receives progress events and warnings; the CLI renders them, tests may record them."""

    def image_started(self, reference: str) -> None:
        """An image's manifest and config are being fetched."""

    def layer_started(self, digest: str, size: int) -> None:
        """A layer blob download and measurement begins."""

    def layer_progress(self, digest: str, nbytes: int) -> None:
        """*nbytes* more compressed bytes of a layer were read."""

    def layer_inflated(self, digest: str, nbytes: int) -> None:
        """*nbytes* more uncompressed (tar) bytes of a layer were measured.

        The download can finish long before the measurement (a 4 MB layer may inflate to 4 GB): this is
        the second stage of a layer's progress, so a run never looks finished while it still works (#18 item 16).
        """

    def layer_done(self, digest: str) -> None:
        """A layer measurement finished (or failed)."""

    def attached(self, subject: str, artifact: str | None) -> None:
        """An analysis was attached to *subject* (`registry/repo@digest`) as *artifact*; None: one already was."""

    def warning(self, message: str) -> None:
        """Something the user should know that does not stop the run."""


class NullObserver:
    """An observer that ignores everything."""

    def image_started(self, reference: str) -> None:
        """Ignore."""

    def layer_started(self, digest: str, size: int) -> None:
        """Ignore."""

    def layer_progress(self, digest: str, nbytes: int) -> None:
        """Ignore."""

    def layer_inflated(self, digest: str, nbytes: int) -> None:
        """Ignore."""

    def layer_done(self, digest: str) -> None:
        """Ignore."""

    def attached(self, subject: str, artifact: str | None) -> None:
        """Ignore."""

    def warning(self, message: str) -> None:
        """Ignore."""
