"""Whether Windows can run an image process-isolated on a host build (Microsoft's compatibility rules). Pure."""

from __future__ import annotations

from layerscope.catalog.model import CHANNEL_BUILDS, VERSION

__all__ = ["isolation_compatible"]

# The Feb 2020 "2B" update is a compatibility baseline for 1809: host and image on opposite sides of it
# cannot run process-isolated (version-compatibility.md). 10.0.17763.1040 is the Feb 2020 build
# (catalog row a35da61c…, month 2020-02).
_BASELINE_2B_2020 = {17763: 1040}


def isolation_compatible(
    image_os_version: str | None,
    host_os_version: str | None,
    *,
    same_build_only: bool = False,
    host_after_2020_baseline: bool = False,
) -> bool | None:
    """Whether Windows can run the image process-isolated on the host; None when a version is unknown.

    Microsoft "Windows container version compatibility" (MicrosoftDocs/Virtualization-Documentation
    version-compatibility.md and update-containers.md): the build (major.minor.build) must match, and
    since 1809 the revision (UBR) may differ; WS2016 (14393) needs the same revision; on 1809, host and
    image on opposite sides of the Feb 2020 "2B" baseline do not work together. The compatibility table
    also lets a WS2025 (26100) host run WS2022 (20348) images process-isolated; *same_build_only* drops
    that exception, as EKS/ECS placement does (nodes are selected by `node.kubernetes.io/windows-build`
    or `ecs.os-family`; running 2022 images on 2025 nodes there is unverified — aws-nodes.md §5).
    *host_after_2020_baseline* says a host given as a bare build (`10.0.17763`) is patched past Feb 2020:
    true of every EKS/ECS optimized AMI still published (EKS keeps the last 4 months, ECS at least the
    last three AMIs — aws-precached.md).
    """
    image = VERSION.fullmatch((image_os_version or "").strip())
    host = VERSION.fullmatch((host_os_version or "").strip())
    if image is None or host is None:
        return None
    image_build, host_build = int(image[1]), int(host[1])
    image_ubr = int(image[2]) if image[2] else None
    host_ubr = int(host[2]) if host[2] else None
    if image_build != host_build:
        newer_host = (host_build, image_build) == (CHANNEL_BUILDS["ltsc2025"], CHANNEL_BUILDS["ltsc2022"])
        return newer_host and not same_build_only
    if image_build == CHANNEL_BUILDS["ltsc2016"]:
        if image_ubr is None or host_ubr is None:
            return None
        return image_ubr == host_ubr
    baseline = _BASELINE_2B_2020.get(image_build)
    if baseline is not None:
        if host_ubr is None and host_after_2020_baseline:
            host_ubr = baseline
        if image_ubr is None or host_ubr is None:
            return None
        return (image_ubr >= baseline) == (host_ubr >= baseline)
    return True
