"""Date an image's Windows base from the build tables: month, KB and release date of its os.version (#14 item 1).

Every Windows image gets them, whether or not its layers are in the catalog: the config's os.version is enough.
A base the catalog does not recognise still gets a `config` BaseMatch (no base layers counted) so its revision
is reported; SAC builds (1903/1909/2004/20H2) get `version` and no channel.
"""

from __future__ import annotations

from dataclasses import replace

from layerscope.basematch import BaseMatch
from layerscope.windows.builds import LTSC_CHANNELS, SAC_VERSIONS, parse_os_version
from layerscope.windows.generations import generation_of, generation_of_digest
from layerscope.windows.load import build_table

__all__ = ["date_base", "sac_warning", "same_generation"]


def date_base(base: BaseMatch | None, config_os: str, config_os_version: str | None) -> BaseMatch | None:
    """*base* dated from the tables (or a `config` base for a Windows image the catalog does not match)."""
    if base is None:
        parsed = parse_os_version(config_os_version or "")
        if config_os != "windows" or parsed is None:
            return None
        base = BaseMatch(
            image=None,
            family=None,
            channel=LTSC_CHANNELS.get(parsed[0]),
            os_version=config_os_version,
            month=None,
            layer_count=0,
            match="config",
            layers=(),
            evidence=(),
        )
    row = build_table().by_os_version(base.os_version) if base.os_version else None
    month = base.month or (row.month if row else None)
    generation = base.generation
    if generation is None:
        first = base.digests[0] if base.digests else None
        row0 = base.layers[0] if base.layers else None
        generation = generation_of_digest(base.family, base.channel, first) or generation_of_digest(
            base.family, base.channel, row0.digest if row0 else None
        )
        generation = generation or generation_of(base.family, base.channel, month)
    build = parse_os_version(base.os_version or "")
    return replace(
        base,
        month=month,
        kb=base.kb or (row.kb if row else None),
        release_date=base.release_date or (row.release_date.isoformat() if row and row.release_date else None),
        version=SAC_VERSIONS.get(build[0]) if build else None,
        generation=generation,
    )


def sac_warning(base: BaseMatch | None) -> str | None:
    """The warning for a SAC base (out of support; no current EKS/ECS AMI runs it), else None."""
    if base is None or base.version is None:
        return None
    return (
        f"base {base.os_version} is Windows Server version {base.version} (SAC): out of support, and no current"
        " EKS/ECS Windows AMI runs it; rebuild on an LTSC base (ltsc2019/ltsc2022)"
    )


def same_generation(a: BaseMatch, b: BaseMatch) -> bool | None:
    """Whether two revisions of one family/channel carry the same base blob; None when either is not known."""
    if a.family != b.family or a.channel != b.channel or a.generation is None or b.generation is None:
        return None
    if a.generation == "single" or b.generation == "single":
        return a.os_version is not None and a.os_version == b.os_version
    return a.generation == b.generation
