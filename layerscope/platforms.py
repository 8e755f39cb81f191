"""`--platform OS/ARCH[/VARIANT][:OS_VERSION_PREFIX]` filters for multi-platform images."""

from __future__ import annotations

from dataclasses import dataclass

from layerscope.errors import UsageError
from layerscope.oci import Platform

__all__ = ["PlatformFilter", "parse_platform_filter"]


@dataclass(frozen=True, slots=True)
class PlatformFilter:
    """Which platforms of an index to analyse; `os_version` matches as a prefix (e.g. `10.0.17763`)."""

    os: str
    architecture: str | None = None
    variant: str | None = None
    os_version: str | None = None

    def matches(self, platform: Platform) -> bool:
        """True when *platform* is selected by this filter."""
        if platform.os != self.os:
            return False
        if self.architecture and platform.architecture != self.architecture:
            return False
        if self.variant and platform.variant != self.variant:
            return False
        if self.os_version:
            version = platform.os_version or ""
            # Prefix on whole components: 10.0.1776 must not select 10.0.17763.
            return version == self.os_version or version.startswith(self.os_version + ".")
        return True

    def __str__(self) -> str:
        text = "/".join(p for p in (self.os, self.architecture, self.variant) if p)
        return f"{text}:{self.os_version}" if self.os_version else text


def parse_platform_filter(text: str) -> PlatformFilter:
    """Parse `windows/amd64:10.0.17763`, `linux/arm64/v8`, or `windows`."""
    spec, _, os_version = text.partition(":")
    parts = spec.split("/")
    if not spec or len(parts) > 3 or any(not p for p in parts):
        raise UsageError(f"invalid platform {text!r}", hint="use OS/ARCH[/VARIANT][:OS_VERSION], e.g. windows/amd64")
    if os_version and not all(c.isdigit() or c == "." for c in os_version):
        raise UsageError(f"invalid os.version prefix {os_version!r}", hint="e.g. windows/amd64:10.0.17763")
    return PlatformFilter(
        os=parts[0],
        architecture=parts[1] if len(parts) > 1 else None,
        variant=parts[2] if len(parts) > 2 else None,
        os_version=os_version or None,
    )
