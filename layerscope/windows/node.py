"""Know the node (#14 item 2): its cached base revision from --nodes, a full profile os_version or the AMI.

Strongest first: the node's own OS revision (`node-os`), then the AMI (`ami-date`, by the inference rule of
ami-cache-revision.md). `resolved` (a digest-pinned baked base) is set by the caller, which resolves images.
AWS lookups (an AMI ID, `latest`) are passed in as callables so this module stays free of boto3 (aws_amis.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from layerscope.errors import UsageError
from layerscope.node_revision import NodeRevision, group_revisions
from layerscope.windows import infer_ami_revision
from layerscope.windows.amis import parse_ami_name
from layerscope.windows.builds import IMAGES, parse_os_version
from layerscope.windows.inference import Inference

__all__ = ["AwsLookups", "NodeInputs", "node_revision"]

_AMI_ID = re.compile(r"ami-[0-9a-f]{8,17}")


@dataclass(frozen=True, slots=True)
class AwsLookups:
    """`describe(ami_id) -> (name, creation date)` (ec2:DescribeImages), `latest(family) -> ami id` (SSM)."""

    describe: Callable[[str], tuple[str, date | None]]
    latest: Callable[[str], str]


@dataclass(frozen=True, slots=True)
class NodeInputs:
    """What the user said about the node: --nodes revisions, --ami, and the profile's keys."""

    kernels: Sequence[str] = ()  # --nodes: the Windows nodes' kernelVersion (full revisions)
    ami: str | None = None  # --ami, else the profile's `ami:`
    ami_family: str | None = None  # the profile's `ami_family:` (for `latest` and dates)
    profile_os_version: str | None = None
    runtime: str | None = None


def node_revision(inputs: NodeInputs, aws: AwsLookups | None = None) -> tuple[NodeRevision, tuple[str, ...]]:
    """The node's revision and the warnings to show (several revisions in --nodes, an ambiguous AMI date)."""
    if inputs.kernels:
        groups = group_revisions(list(inputs.kernels))
        top = groups[0][0]
        warnings: tuple[str, ...] = ()
        if len(groups) > 1:
            listed = ", ".join(f"{v} ({n} node{'s' if n > 1 else ''})" for v, n in groups)
            warnings = (f"--nodes lists several Windows revisions: {listed}; using {top}, the most common",)
        return NodeRevision(top, basis="node-os", groups=groups, explanation="kernelVersion of the nodes"), warnings
    full = inputs.profile_os_version and parse_os_version(inputs.profile_os_version)
    if full and inputs.profile_os_version and inputs.profile_os_version.count(".") == 3:
        return NodeRevision(inputs.profile_os_version, basis="node-os", explanation="the profile's os_version"), ()
    if inputs.ami:
        return _from_ami(inputs, aws)
    return NodeRevision(), ()


def _from_ami(inputs: NodeInputs, aws: AwsLookups | None) -> tuple[NodeRevision, tuple[str, ...]]:
    text = (inputs.ami or "").strip()
    ami_id: str | None = None
    name: str | str | date = text
    created: date | None = None
    family = parse_ami_name(inputs.ami_family) if inputs.ami_family else None
    if text == "latest":
        if inputs.ami_family is None:
            raise UsageError(
                "--ami latest needs the AMI family",
                hint="use a profile with `ami_family:` (the shipped EKS/ECS profiles have one), or give an AMI name",
            )
        ami_id = _need_aws(aws).latest(inputs.ami_family)
    elif _AMI_ID.fullmatch(text):
        ami_id = text
    if ami_id is not None:
        ami_name, created = _need_aws(aws).describe(ami_id)
        name = ami_name if parse_ami_name(ami_name) else (created or ami_name)
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            name = date.fromisoformat(text)
        except ValueError:
            raise UsageError(f"--ami {text}: not a date", hint="give YYYY-MM-DD") from None
    build = family.build if family else None
    if isinstance(name, date) and build is None:
        raise UsageError(
            f"--ami {text}: a date needs the Windows build of the AMI",
            hint="use a profile with `ami_family:` (the shipped EKS/ECS profiles have one), or give the AMI name",
        )
    # A named AMI brings its own runtime (ECS: Docker); the profile's runtime only qualifies a bare date.
    runtime = inputs.runtime if isinstance(name, date) else None
    inferred: dict[str, Inference] = {
        image: infer_ami_revision(name, build=build, image=image, runtime=runtime) for image in IMAGES
    }
    core = inferred["servercore"]
    when = core.on.isoformat() if core.on else (created.isoformat() if created else None)
    ami_label = ami_id or (name if isinstance(name, str) else None)
    if isinstance(name, str) and ami_id is not None:
        ami_label = f"{ami_id} ({name})"
    warnings = []
    for image, inf in inferred.items():
        if inf.os_version and inf.alternatives:
            others = " or ".join(a.os_version for a in inf.alternatives)
            why = inf.alternatives[0].reason
            warnings.append(f"the AMI may hold {image} {inf.os_version} or {others} ({why}); using {inf.os_version}")
    if core.os_version is None:
        warnings.append(f"no cached base revision inferred for the AMI: {core.explanation}")
    images = MappingProxyType({image: inf.os_version for image, inf in inferred.items() if inf.os_version})
    node = NodeRevision(
        os_version=core.os_version,
        alternatives=tuple(a.os_version for a in core.alternatives),
        basis="ami-date" if core.os_version else "unknown",
        ami=ami_label,
        ami_date=when,
        images=images,
        explanation=core.explanation,
    )
    return node, tuple(warnings)


def _need_aws(aws: AwsLookups | None) -> AwsLookups:
    if aws is None:
        raise UsageError(
            "an AMI ID or `latest` needs AWS access", hint="install the aws extra (pip install 'layerscope[ecr]')"
        )
    return aws
