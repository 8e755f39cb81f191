"""`calibrate --write-profile`: a profile file that `extends:` the calibrated one and carries the fitted values."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from layerscope.calibrate.result import Calibration

__all__ = ["calibrated_profile_yaml"]

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def calibrated_profile_yaml(cal: Calibration, extends: str, out_path: str) -> str:
    """The YAML text: `extends:` the profile given (a file as an absolute path), the fitted values with sources.

    Only fitted parameters are written; the others stay the parent's, with the parent's sources (never invented).
    """
    stem = Path(out_path).stem.lower()
    name = stem if _NAME.fullmatch(stem) else f"{cal.profile}-calibrated"[:64]
    parent = extends if not Path(extends).is_file() else str(Path(extends).resolve())
    doc: dict[str, object] = {"extends": parent, "name": name}
    sources: dict[str, str] = {}
    for key in cal.fitted:
        value = cal.parameters[key]
        lo, hi = cal.intervals[key]
        if key == "registry_latency":
            doc[key] = round(value, 4)
            interval = f"{lo:.3g}–{hi:.3g} s"
        else:
            doc[key] = f"{round(value)}B/s"
            interval = f"{lo / 1e6:.3g}–{hi / 1e6:.3g} MB/s"
        sources[key] = f"{cal.source_text()} (95% interval {interval})"
    doc["sources"] = sources
    header = f"# {cal.source_text()}; written by layerscope calibrate.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
