"""Whether a profile's node can run an image at all: the candidates a plan may bake (pure).

A node of a shipped profile is a Windows Server host on x86_64 (EKS and ECS publish their Windows AMIs for
x86_64 only). An image can run on it when its OS is `windows`, its architecture `amd64`, and Windows can run
its OS build with process isolation on the host's build — `catalog.isolation.isolation_compatible` with
*same_build_only*, as EKS/ECS place pods and tasks by build (`node.kubernetes.io/windows-build`,
`ecs.os-family`). An image whose build is unknown is not excluded (nothing is guessed); the recommender and the
report leave out only what is known not to run (issue #12 item 6).
"""

from __future__ import annotations

from layerscope.catalog.isolation import isolation_compatible
from layerscope.oci import Platform
from layerscope.plan.profile import NodeProfile

__all__ = ["CANNOT_RUN", "NODE_ARCHITECTURE", "cannot_run"]

#: the prefix of every reason `cannot_run` gives (the recommendation's `not_chosen` reason starts with it)
CANNOT_RUN = "cannot run on this node"
NODE_ARCHITECTURE = "amd64"


def cannot_run(platform: Platform, profile: NodeProfile) -> str | None:
    """Why a node of *profile* cannot run an image of *platform*, or None when it can (or it is not known)."""
    if platform.os != "windows":
        return f"{CANNOT_RUN}: a {platform} image on the Windows node of profile {profile.name}"
    if platform.architecture != NODE_ARCHITECTURE:
        return f"{CANNOT_RUN}: a {platform} image on the {NODE_ARCHITECTURE} node of profile {profile.name}"
    if isolation_compatible(platform.os_version, profile.os_version, same_build_only=True) is False:
        return (
            f"{CANNOT_RUN}: OS build {platform.os_version} cannot run with process isolation on host build "
            f"{profile.os_version} (profile {profile.name}); rebuild on the host's LTSC base"
        )
    return None
