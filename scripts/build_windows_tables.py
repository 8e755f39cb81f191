#!/usr/bin/env python3
"""Regenerate layerscope/windows/data/ (build and AMI tables) from the project's reference data.

Usage: python scripts/build_windows_tables.py [--reference DIR] [--out DIR] [--check]

The three tables are copied verbatim (every row keeps its `source`): windows-builds.csv,
windows-sac-builds.csv and eks-windows-amis.csv. What layerscope adds is in build-annotations.csv, one
row per annotated os_version with its own `source` column: which base image a build applies to when
Server Core and Nano Server differ in a month (ami-cache-revision.md, rule 4), and the month (and the
date used to order it) of the undated container-only builds, each taken from the row's own note.
provenance.json holds the sha256 of every input. `--check` regenerates in memory and fails if the shipped
files differ.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.generated_files import write_or_check  # noqa: E402

DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"
DEFAULT_OUT = ROOT / "layerscope" / "windows" / "data"

VERBATIM = ("windows-builds.csv", "windows-sac-builds.csv", "eks-windows-amis.csv")
RULE_DOC = "ami-cache-revision.md"

TRANSFORMS = [
    "windows-builds.csv, windows-sac-builds.csv, eks-windows-amis.csv: copied verbatim.",
    "build-annotations.csv: per os_version, `images` (the base images the row applies to, when Server Core "
    "and Nano Server differ in a month) and, for undated container-only rows, `month` and `order_date` "
    "(the date used to order the row among releases: its host CU's release date, else the month's second "
    "Tuesday). Each value is checked against the row's note in windows-builds.csv and carries a source.",
]

# (os_version, images, month, order_date, text the row's note must contain, source of the annotation).
# An empty cell means: no annotation of that kind.
ANNOTATIONS = (
    (
        "10.0.17763.802",
        "nanoserver",
        "",
        "",
        "Nano Server 1809 images of the 2019-10 B release (Server Core images and host CU: 10.0.17763.805)",
        "windows-builds.csv note of 10.0.17763.802; ami-cache-revision.md section 5 rule 4 "
        "(2019-10: nanoserver 17763.802, servercore 17763.805)",
    ),
    (
        "10.0.17763.805",
        "servercore",
        "",
        "",
        "images of this release also observed as 10.0.17763.802",
        "windows-builds.csv note of 10.0.17763.802 (Server Core images: 10.0.17763.805); ami-cache-revision.md "
        "section 5 rule 4",
    ),
    (
        "10.0.17763.1040",
        "",
        "2020-02",
        "2020-02-11",
        "out-of-band 2B release for containers only (host CU 10.0.17763.1039)",
        "windows-builds.csv note (host CU 10.0.17763.1039, released 2020-02-11); windows-base-layers.csv "
        "row a35da61c… (month 2020-02)",
    ),
    (
        "10.0.14393.3506",
        "",
        "2020-02",
        "2020-02-11",
        "ltsc2016 images of 2020-02 (host CU 10.0.14393.3504)",
        "windows-builds.csv note (ltsc2016 images of 2020-02; host CU 10.0.14393.3504, released 2020-02-11)",
    ),
    (
        "10.0.20348.5622",
        "",
        "2026-09",
        "2026-09-08",
        "observed as a container os.version in 2026-09",
        "windows-builds.csv note (observed in 2026-09, kind b inferred); order_date = 2026-09 Patch Tuesday",
    ),
    (
        "10.0.26100.33438",
        "",
        "2026-09",
        "2026-09-08",
        "observed as a container os.version in 2026-09",
        "windows-builds.csv note (observed in 2026-09, kind b inferred); order_date = 2026-09 Patch Tuesday",
    ),
)
ANNOTATION_HEADER = ("os_version", "images", "month", "order_date", "source")


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def annotations(reference: Path) -> str:
    """build-annotations.csv, after checking each annotation against the row's note."""
    notes = {r["os_version"]: r for r in read_rows(reference / "windows-builds.csv")}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ANNOTATION_HEADER)
    for version, images, month, order_date, must_say, source in ANNOTATIONS:
        row = notes.get(version)
        if row is None or must_say not in row["note"]:
            raise SystemExit(f"{version}: the reference note no longer says {must_say!r}; review ANNOTATIONS")
        if month and row["release_date"]:
            raise SystemExit(f"{version} now has a release date; drop its month annotation")
        writer.writerow((version, images, month, order_date, source))
    return buf.getvalue()


def build(reference: Path) -> dict[str, str]:
    """The data files, name -> text."""
    out = {name: (reference / name).read_bytes().decode("utf-8") for name in VERBATIM}
    out["build-annotations.csv"] = annotations(reference)
    return out


def provenance(reference: Path, files: dict[str, str]) -> str:
    """provenance.json: inputs with sha256, outputs, and the transformations applied."""
    doc = {
        "generated_by": "scripts/build_windows_tables.py",
        "reference": "../shared/reference (Windows build tables, EKS/ECS Windows AMI releases and the AMI cache "
        "rule; see README.md and ami-cache-revision.md there). No registry or AWS API was queried.",
        "inputs": {name: hashlib.sha256((reference / name).read_bytes()).hexdigest() for name in (*VERBATIM, RULE_DOC)},
        "outputs": sorted([*files, "provenance.json"]),
        "transforms": TRANSFORMS,
    }
    return json.dumps(doc, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if the shipped files differ")
    args = parser.parse_args(argv)
    files = build(args.reference)
    files["provenance.json"] = provenance(args.reference, files)
    return write_or_check(files, args.out, check=args.check, what="Windows tables")


if __name__ == "__main__":
    sys.exit(main())
