"""Which Server Core / Nano Server revision an EKS/ECS Windows AMI of date D caches (pure; no I/O).

The rule is section 5 of the reference's ami-cache-revision.md (issue #14): the AMI build pulls the floating
tags, so it caches the newest container release (kind b or oob with a published image) of its build on or
before D; the previous release is a second possibility when D is 0-1 days after it or D falls in the April
2025 floating-tag regression; EKS <= 1.23 nodes on the optional containerd runtime cache no base image.
Server Core and Nano Server are compared per image (they differ in UBR in some months, e.g. 2019-10).
No AWS source states the cached revision of any AMI: this is an inference, and says so.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from layerscope.errors import UsageError
from layerscope.windows.amis import AmiName, AmiRelease, k8s_minor
from layerscope.windows.builds import IMAGES, LTSC_CHANNELS, SAC_VERSIONS, BuildInfo, BuildTable, sorted_releases

__all__ = [
    "BASES",
    "REGRESSION",
    "Alternative",
    "Inference",
    "candidates",
    "infer_for_ami",
    "infer_on_date",
]

#: Values of Inference.basis: inferred from the AMI's date, no base image cached (EKS <= 1.23 + containerd),
#: or unknown (no candidate on or before the date, or no date).
BASES = ("ami-date", "no-base-cached", "unknown")
#: The April 2025 floating-tag regression (ami-cache-revision.md sections 3, 4 and rule 3b): the WS2019 and
#: WS2025 tags, and nanoserver:ltsc2022 (AKS VHDs), served the March 2025 images.
REGRESSION = (date(2025, 4, 8), date(2025, 5, 9))
_REGRESSION_TAGS = frozenset(
    {(17763, "servercore"), (17763, "nanoserver"), (26100, "servercore"), (26100, "nanoserver"), (20348, "nanoserver")}
)
_DOC = "ami-cache-revision.md section 5"


@dataclass(frozen=True)
class Alternative:
    """A second possible cached revision, and why."""

    os_version: str
    reason: str
    row: BuildInfo
    #: `fresh-release` (dated 0-1 days after the predicted release), `tag-regression` (April 2025), or
    #: `month-only` (the AMI date gives only its month).
    kind: str

    def to_json(self) -> dict[str, object]:
        """As a JSON object."""
        return {
            "os_version": self.os_version,
            "kind": self.kind,
            "reason": self.reason,
            "month": self.row.month,
            "kb": self.row.kb,
        }


@dataclass(frozen=True)
class Inference:
    """The revision of one base image that a node from an AMI (or of an AMI date) holds, with the evidence."""

    image: str
    build: int
    on: date | None
    runtime: str | None
    os_version: str | None
    alternatives: tuple[Alternative, ...]
    basis: str
    explanation: str
    confidence: str
    predicted: BuildInfo | None
    ami: AmiRelease | None = None

    @property
    def evidence(self) -> tuple[BuildInfo, ...]:
        """The build rows the answer rests on: the predicted release, then each alternative."""
        rows = [self.predicted] if self.predicted else []
        return tuple(rows + [a.row for a in self.alternatives])

    def to_json(self) -> dict[str, object]:
        """As a JSON object (unknowns null)."""
        p = self.predicted
        return {
            "image": self.image,
            "build": self.build,
            "channel": LTSC_CHANNELS.get(self.build),
            "version": SAC_VERSIONS.get(self.build),
            "date": self.on.isoformat() if self.on else None,
            "runtime": self.runtime,
            "os_version": self.os_version,
            "month": p.month if p else None,
            "kb": p.kb if p else None,
            "alternatives": [a.to_json() for a in self.alternatives],
            "basis": self.basis,
            "confidence": self.confidence,
            "explanation": self.explanation,
            "evidence": [
                {
                    "os_version": r.os_version,
                    "release_date": r.release_date.isoformat() if r.release_date else None,
                    "kind": r.kind,
                    "container_evidence": list(r.container_evidence),
                    "table": r.table,
                    "source": r.source,
                }
                for r in self.evidence
            ],
            "ami": self.ami.ami_name if self.ami else None,
            "ami_source": self.ami.source if self.ami else None,
        }


def candidates(table: BuildTable, build: int, image: str) -> list[BuildInfo]:
    """Container releases of *image* for *build* in release order (rule 1; undated rows by their order date).

    The SAC table records no container evidence: there every B release counts (Microsoft publishes base images
    every B release, update-containers.md), which is why SAC answers have low confidence.
    """
    if image not in IMAGES:
        raise UsageError(f"unknown base image {image!r}", hint="use servercore or nanoserver")
    rows = table.of_build(build)
    if build in SAC_VERSIONS:
        picked = [r for r in rows if r.kind == "b" and image in r.images]
    else:
        picked = [r for r in rows if r.is_container_release(image)]
    return sorted_releases(r for r in picked if r.order_date is not None)


def _fmt(row: BuildInfo) -> str:
    when = row.release_date.isoformat() if row.release_date else f"{row.month}, undated"
    return f"{row.os_version} ({row.ms_label or row.kind}, {when}{', ' + row.kb if row.kb else ''})"


def infer_on_date(
    table: BuildTable,
    build: int,
    on: date,
    image: str = "servercore",
    *,
    month_only: bool = False,
    confidence: str = "medium",
    runtime: str | None = None,
    ami: AmiRelease | None = None,
) -> Inference:
    """The revision of *image* an AMI of *build* built on *on* caches (rule steps 1-4).

    With *month_only*, *on* is any day of the month and only the month is known: the newest release of the
    month is predicted and every earlier release that the month could still have held is an alternative.
    """
    if build not in LTSC_CHANNELS and build not in SAC_VERSIONS:
        raise UsageError(f"no build table for Windows build {build}", hint="use 14393, 17763, 20348 or 26100")
    cands = candidates(table, build, image)
    last = date(on.year, on.month, calendar.monthrange(on.year, on.month)[1]) if month_only else on
    before = [r for r in cands if r.order_date and r.order_date <= last]
    what = f"{image} {LTSC_CHANNELS.get(build) or SAC_VERSIONS.get(build)} ({build})"
    if not before:
        return Inference(
            image=image,
            build=build,
            on=on,
            runtime=runtime,
            os_version=None,
            alternatives=(),
            basis="unknown",
            explanation=f"no {what} container release on or before {on:%Y-%m-%d} in the build table",
            confidence="none",
            predicted=None,
            ami=ami,
        )
    top = before[-1]
    alts: list[Alternative] = []
    older = before[:-1]
    day = f"{on:%Y-%m}" if month_only else f"{on:%Y-%m-%d}"
    text = f"newest {what} container release on or before {day}: {_fmt(top)}"
    if month_only:
        start = date(on.year, on.month, 1)
        in_month = [r for r in older if r.order_date and r.order_date >= start]
        prior = [r for r in older if r.order_date and r.order_date < start]
        for r in reversed(in_month + prior[-1:]):
            alts.append(Alternative(r.os_version, f"the AMI date gives only its month ({day})", r, "month-only"))
        text += "; the day of the month is unknown, so any release the month could still have held is possible"
    else:
        assert top.order_date is not None
        gap = (on - top.order_date).days
        if gap <= 1 and older:
            alts.append(
                Alternative(
                    older[-1].os_version,
                    f"the AMI is dated {gap} day(s) after {top.os_version} was released; it may have been "
                    "built before the new images were live",
                    older[-1],
                    "fresh-release",
                )
            )
            text += f"; dated {gap} day(s) after that release, so the previous one is possible too"
        if REGRESSION[0] <= on <= REGRESSION[1] and (build, image) in _REGRESSION_TAGS:
            lag = [r for r in older if r.order_date and r.order_date < REGRESSION[0]]
            for r in ([older[-1]] if older else []) + lag[-1:]:
                if all(a.os_version != r.os_version for a in alts):
                    alts.append(
                        Alternative(
                            r.os_version,
                            "April 2025 floating-tag regression: the tag served the March 2025 images "
                            "(docker-library/official-images#18823, #18884; AKS VHDs of 2025-04-16)",
                            r,
                            "tag-regression",
                        )
                    )
            text += "; inside the April 2025 floating-tag regression (2025-04-08 … ~2025-05-09), so older images too"
    if build in SAC_VERSIONS:
        text += "; SAC build: the table has no container evidence, B releases are assumed to have images"
        confidence = "low"
    return Inference(
        image=image,
        build=build,
        on=on,
        runtime=runtime,
        os_version=top.os_version,
        alternatives=tuple(alts),
        basis="ami-date",
        explanation=f"{text} ({_DOC})",
        confidence=confidence,
        predicted=top,
        ami=ami,
    )


def _check_runtime(service: str, k8s: str | None, runtime: str) -> None:
    if runtime not in ("docker", "containerd"):
        raise UsageError(f"unknown runtime {runtime!r}", hint="use docker or containerd")
    if service == "ecs" and runtime != "docker":
        raise UsageError("ECS optimized Windows AMIs run Docker", hint="drop --runtime, or use docker")
    if service == "eks" and k8s and k8s_minor(k8s) >= (1, 24) and runtime != "containerd":
        raise UsageError(f"EKS {k8s} Windows AMIs run containerd only", hint="drop --runtime, or use containerd")


def infer_for_ami(
    table: BuildTable,
    ami: AmiRelease | AmiName,
    image: str = "servercore",
    runtime: str | None = None,
) -> Inference:
    """The revision of *image* cached in *ami* (a known release, or a parsed name), by the rule above.

    *runtime* is the container runtime the node runs (default: the AMI's own, docker for EKS <= 1.23 and
    ECS, containerd from EKS 1.24); EKS <= 1.23 with containerd caches no base image (rule 5).
    """
    row = ami if isinstance(ami, AmiRelease) else None
    service, k8s, build = ami.service, ami.k8s_version, ami.build
    chosen = runtime or ami.default_runtime
    _check_runtime(service, k8s, chosen)
    confidence = "medium" if service == "eks" else "low"
    if service == "eks" and k8s and k8s_minor(k8s) <= (1, 23) and chosen == "containerd":
        return Inference(
            image=image,
            build=build,
            on=ami.ami_date,
            runtime=chosen,
            os_version=None,
            alternatives=(),
            basis="no-base-cached",
            explanation=f"EKS {k8s} AMIs cache servercore/nanoserver for Docker only; the containerd runtime holds "
            f"just the pause image ({_DOC}, rule 5)",
            confidence=confidence,
            predicted=None,
            ami=row,
        )
    if ami.ami_date is not None:
        return infer_on_date(table, build, ami.ami_date, image, confidence=confidence, runtime=chosen, ami=row)
    month = ami.month
    if month is None:
        return Inference(
            image=image,
            build=build,
            on=None,
            runtime=chosen,
            os_version=None,
            alternatives=(),
            basis="unknown",
            explanation="the AMI name carries no date: give the AMI's creation date (YYYY-MM-DD)",
            confidence="none",
            predicted=None,
            ami=row,
        )
    year, mon = (int(x) for x in month.split("-"))
    return infer_on_date(
        table, build, date(year, mon, 1), image, month_only=True, confidence=confidence, runtime=chosen, ami=row
    )
