"""Windows revision intelligence (issue #14): date every base build, and infer which revision an AMI cached.

The pure model lives in `builds.py` (build rows, lookups), `amis.py` (AMI names and releases) and
`inference.py` (the rule of ami-cache-revision.md); `load.py` reads the shipped tables once. The functions
below bind the two and are what the CLI (and later the analyzer and profiles) call.
"""

from __future__ import annotations

from datetime import date

from layerscope.errors import UsageError
from layerscope.windows.amis import AmiName, AmiRelease, build_of, parse_ami_name
from layerscope.windows.builds import BuildInfo, normalise_kb, parse_os_version
from layerscope.windows.inference import Alternative, Inference, infer_for_ami, infer_on_date
from layerscope.windows.load import ami_table, build_table

__all__ = [
    "Alternative",
    "AmiName",
    "AmiRelease",
    "BuildInfo",
    "Inference",
    "ami_by_name",
    "amis",
    "build_info",
    "builds_for_kb",
    "infer_ami_revision",
    "lookup",
]


def build_info(os_version: str) -> BuildInfo | None:
    """The build-table row of `10.0.B.U` (LTSC or SAC); None when the revision is not in the tables."""
    return build_table().by_os_version(os_version)


def builds_for_kb(kb: str) -> tuple[BuildInfo, ...]:
    """The build rows of a KB (`KB5001342` or `5001342`); several when builds share it (1903/1909)."""
    return build_table().by_kb(kb)


def lookup(query: str) -> tuple[BuildInfo, ...]:
    """Rows for an os_version or a KB; () when unknown, UsageError when *query* is neither."""
    if parse_os_version(query):
        row = build_info(query)
        return (row,) if row else ()
    if normalise_kb(query):
        return builds_for_kb(query)
    raise UsageError(
        f"{query!r} is neither an os_version nor a KB",
        hint="give a revision such as 10.0.17763.1879 (or 17763.1879), or a KB such as KB5001342",
    )


def ami_by_name(name: str) -> AmiRelease | None:
    """The known EKS/ECS Windows AMI release named *name*; None when it is not in the AMI table."""
    return ami_table().by_name(name)


def amis(
    *,
    service: str | None = None,
    build: int | str | None = None,
    family: str | None = None,
    edition: str | None = None,
    k8s_version: str | None = None,
) -> tuple[AmiRelease, ...]:
    """Known AMI releases matching every filter (build as 17763, 2019 or ltsc2019), oldest first."""
    b = None
    if build is not None:
        b = build_of(build)
        if b is None:
            raise UsageError(f"unknown Windows build {build!r}", hint="use 2016/2019/2022/2025, ltsc2019, or 17763")
    return ami_table().select(service=service, build=b, family=family, edition=edition, k8s_version=k8s_version)


def infer_ami_revision(
    ami: AmiRelease | AmiName | str | date,
    *,
    build: int | str | None = None,
    image: str = "servercore",
    runtime: str | None = None,
) -> Inference:
    """Which *image* revision a node from *ami* holds: an AMI release, AMI name, or creation date (+ *build*).

    A name not in the AMI table is parsed (its date and build are all the rule needs); a date or
    `YYYY-MM-DD` string needs *build* (17763, 2019 or ltsc2019).
    """
    table = build_table()
    if isinstance(ami, str):
        text = ami.strip()
        known = ami_table().by_name(text)
        parsed = parse_ami_name(text)
        if known is not None:
            ami = known
        elif parsed is not None:
            ami = parsed
        else:
            try:
                ami = date.fromisoformat(text)
            except ValueError:
                raise UsageError(
                    f"{text!r} is neither an EKS/ECS Windows AMI name nor a date",
                    hint="give a name like Windows_Server-2019-English-Core-EKS_Optimized-1.31-2025.01.17, "
                    "or a date YYYY-MM-DD with the build",
                ) from None
    if isinstance(ami, date):
        b = build_of(build) if build is not None else None
        if b is None:
            raise UsageError("an AMI date needs the Windows build", hint="pass the build: 2019, ltsc2022 or 17763")
        if runtime not in (None, "docker", "containerd"):
            raise UsageError(f"unknown runtime {runtime!r}", hint="use docker or containerd")
        return infer_on_date(table, b, ami, image, runtime=runtime)
    return infer_for_ami(table, ami, image, runtime)
