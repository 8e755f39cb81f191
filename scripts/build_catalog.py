#!/usr/bin/env python3
"""Regenerate layerscope/catalog/data/ from the project's reference data (../shared/reference).

Usage: python scripts/build_catalog.py [--reference DIR] [--out DIR] [--check]

Every output row keeps the reference row's `source` verbatim; anything this script adds (a channel name,
an os.version ↔ month fact, a digest ↔ extracted-size mapping, an estimate ratio) carries its own source
column saying where it came from. The transformations are listed in TRANSFORMS and written to
provenance.json together with the sha256 of every input file, so the copy can be checked and redone.
`--check` regenerates in memory and fails if the shipped files differ.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import statistics
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.generated_files import write_or_check  # noqa: E402

DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"
DEFAULT_OUT = ROOT / "layerscope" / "catalog" / "data"

INPUTS = (
    "windows-base-layers.csv",
    "windows-base-diffids.csv",
    "mcr-index-history.csv",
    "windows-base-sizes.csv",
)
README_REF = "reference README.md"
CHANNELS = {"2016": "ltsc2016", "2019": "ltsc2019", "2022": "ltsc2022", "2025": "ltsc2025"}
MCR = "mcr.microsoft.com/windows/"

TRANSFORMS = [
    "base-layers.csv: windows-base-layers.csv with column `ltsc` (2016/2019/2022/2025) renamed `channel` "
    "and written as ltsc2016/ltsc2019/ltsc2022/ltsc2025; every other cell verbatim.",
    "base-diffids.csv: the layer rows of windows-base-diffids.csv verbatim; the diff_id-only row gets "
    "family/channel/layer_role/history_label/month from the reference README (annotation_source).",
    "base-configs.csv: the config-digest row of windows-base-diffids.csv (empty diff_id), with the image, "
    "tag, size and month the reference README gives for it.",
    "mcr-index-history.csv: verbatim, plus os_version/os_version_source where the reference README names "
    "the os.version of a pin (official-images PR #13735, #13874, #18884); digest prefixes in the README "
    "are resolved against this file and must match exactly one row.",
    "base-sizes.csv: windows-base-sizes.csv verbatim (figures and units exactly as given).",
    "os-versions.csv: os.version -> YYYY-MM facts: every (os_version, month) pair of a layer row, plus "
    "the dated builds named in the reference README and aws-precached.md (Fargate example).",
    "base-extracted.csv: the two `extracted` size rows (Server Core RTM layer at GA) tied to the RTM "
    "layer digest of that release (mapping column says why), GB read as 10^9 bytes.",
    "extracted-estimate.json: extracted/compressed ratios from size rows paired with compressed figures "
    "(pairs listed with their sources); the ratio is the median of the pairs.",
]

# os.version facts the reference README / aws-precached.md state in prose (not in a CSV).
OS_VERSION_FACTS = (
    (
        "10.0.17763.3650",
        "2022-11",
        "nanoserver:1809 pin 2022-11-29 (index 5c9da3bf…)",
        "https://github.com/docker-library/official-images/pull/13735",
    ),
    (
        "10.0.17763.3770",
        "2022-12",
        "servercore/nanoserver:1809 before PR #13874",
        "https://github.com/docker-library/official-images/pull/13874",
    ),
    (
        "10.0.17763.3887",
        "2023-01",
        "servercore/nanoserver:1809 after PR #13874",
        "https://github.com/docker-library/official-images/pull/13874",
    ),
    (
        "10.0.20348.1366",
        "2022-12",
        "servercore/nanoserver:ltsc2022 before PR #13874",
        "https://github.com/docker-library/official-images/pull/13874",
    ),
    (
        "10.0.20348.1487",
        "2023-01",
        "servercore/nanoserver:ltsc2022 after PR #13874",
        "https://github.com/docker-library/official-images/pull/13874",
    ),
    (
        "10.0.26100.3781",
        "2025-04",
        "explicit build tag pinned 2025-04-17 (April 2025 OOB, KB5059118)",
        "docker-library/official-images commit 429d05d0… (PR #18884)",
    ),
    (
        "10.0.20348.3566",
        "2025-04",
        "explicit build tag pinned 2025-04-17 (April 2025 OOB, KB5059118)",
        "docker-library/official-images commit 429d05d0… (PR #18884)",
    ),
    (
        "10.0.17763.7249",
        "2025-04",
        "explicit build tag pinned 2025-04-17 (April 2025 OOB, KB5059118)",
        "docker-library/official-images commit 429d05d0… (PR #18884)",
    ),
    (
        "10.0.26100.32522",
        "2026-03",
        "servercore:ltsc2025 published March 10, 2026",
        "https://github.com/microsoft/Windows-Containers/issues/624",
    ),
    # Fargate caches the current and previous month's servercore; the documented example is April 2024,
    # so the higher UBR of each pair is April and the lower March.
    (
        "10.0.17763.5696",
        "2024-04",
        "Fargate cache example, April 2024 (current month)",
        "docs AmazonECS/latest/developerguide/fargate-windows-behavior.md (via aws-precached.md)",
    ),
    (
        "10.0.17763.5576",
        "2024-03",
        "Fargate cache example, April 2024 (previous month)",
        "docs AmazonECS/latest/developerguide/fargate-windows-behavior.md (via aws-precached.md)",
    ),
    (
        "10.0.20348.2402",
        "2024-04",
        "Fargate cache example, April 2024 (current month)",
        "docs AmazonECS/latest/developerguide/fargate-windows-behavior.md (via aws-precached.md)",
    ),
    (
        "10.0.20348.2340",
        "2024-03",
        "Fargate cache example, April 2024 (previous month)",
        "docs AmazonECS/latest/developerguide/fargate-windows-behavior.md (via aws-precached.md)",
    ),
)

# Pins whose os.version the reference README states: (repository, tag, digest prefix, date, os_version, source).
PIN_OS_VERSIONS = (
    ("servercore", "ltsc2022", "74b9774d", "10.0.20348.1366", "official-images PR #13874 (verified)"),
    ("servercore", "ltsc2022", "dfd3ce22", "10.0.20348.1487", "official-images PR #13874 (verified)"),
    ("servercore", "1809", "058c8482", "10.0.17763.3770", "official-images PR #13874 (verified)"),
    ("servercore", "1809", "192adcdb", "10.0.17763.3887", "official-images PR #13874 (verified)"),
    ("nanoserver", "1809", "5b034bcd", "10.0.17763.3770", "official-images PR #13874 / #13735 (verified)"),
    ("nanoserver", "1809", "18161f2a", "10.0.17763.3887", "official-images PR #13874 (verified)"),
    ("nanoserver", "ltsc2022", "79fb1372", "10.0.20348.1366", "official-images PR #13874 (verified)"),
    ("nanoserver", "ltsc2022", "b4248836", "10.0.20348.1487", "official-images PR #13874 (verified)"),
    ("nanoserver", "1809", "5c9da3bf", "10.0.17763.3650", "official-images PR #13735 config diff (verified)"),
)
# The 2025-04-17 pins (commit 429d05d0…, PR #18884) carry explicit build tags per channel.
PIN_DATE_OS_VERSIONS = {
    ("2025-04-17", "ltsc2025"): "10.0.26100.3781",
    ("2025-04-17", "ltsc2022"): "10.0.20348.3566",
    ("2025-04-17", "1809"): "10.0.17763.7249",
}

# The diff_id-only row of windows-base-diffids.csv, described in the reference README.
DIFFID_ANNOTATIONS = {
    "sha256:63fe917cb06464508a932ff216cdc088a3ebbb16756c56ec026b92a932028134": {
        "family": "nanoserver",
        "channel": "ltsc2019",
        "layer_role": "single",
        "history_label": "Apply image 10.0.17763.3650",
        "month": "2022-11",
        "annotation_source": f"{README_REF}, windows-base-diffids.csv section (nanoserver 1809, history "
        "'Apply image 10.0.17763.3650', created 2022-11-05) and mcr-index-history.csv section (the "
        "2022-11-29 nanoserver:1809 pin had os.version 10.0.17763.3650)",
    }
}
CONFIG_ANNOTATIONS = {
    "sha256:f0ca296450062003226b7b71be17afe4ccb62ff1b50995b07c20772c29359551": {
        "size": "638",
        "repository": MCR + "nanoserver",
        "tag": "ltsc2022-amd64",
        "month": "2024-07",
        "annotation_source": f"{README_REF}, windows-base-diffids.csv section (config of MCR "
        "nanoserver:ltsc2022-amd64, ~Jul 2024, layer 4f08abc6…)",
    }
}

# The `extracted` size rows name a release ("at GA"), not a digest. The RTM layer digest of each release
# comes from the re-baseline list in the reference README (caveat 4): 1809 = 65014b3c… from Nov 2018
# (WS2019 GA was 2018-11-13) and ltsc2022 = 8f616e6e… from 2021 to Apr 2022 (WS2022 GA 2021-08-18).
EXTRACTED_MAPPING = {
    "WS2019 (at GA)": (
        "sha256:65014b3c312172f10bd6701a063f9b5aaf9a916c2d2cb843d406a6f77ded3f8d",
        f"{README_REF} caveat 4: the 1809 base was 65014b3c… from Nov 2018 (WS2019 GA 2018-11-13)",
    ),
    "WS2022 (at GA)": (
        "sha256:8f616e6e9eec767c425fd9346648807d1b658d20ff6097be1d955aac69c26642",
        f"{README_REF} caveats 4-5: 8f616e6e… was the ltsc2022 base from 2021 to Apr 2022 (WS2022 GA 2021-08-18)",
    ),
}

# Pairs of an extracted/on-disk figure and a compressed figure of the same content. Each side is a
# (image, tag_or_version, kind) key of windows-base-sizes.csv, or a list of layer digests whose exact
# compressed_bytes are summed. `same` = both figures describe the same revision; `adjacent` = the
# compressed side is the nearest earlier catalog revision (the size row names no digest or month).
ESTIMATE_PAIRS: tuple[dict[str, object], ...] = (
    {
        "group": "servercore",
        "quality": "same",
        "what": "servercore 1903 whole image: on disk vs download size (same Microsoft table)",
        "extracted": ("servercore", '1903 (MS "Windows Server, version 2004 Now Available" table)', "on_disk"),
        "compressed": (
            "servercore",
            '1903 (MS "Windows Server, version 2004 Now Available" table; download size)',
            "compressed",
        ),
    },
    {
        "group": "servercore",
        "quality": "same",
        "what": "servercore 1909 whole image: on disk vs download size (same Microsoft table)",
        "extracted": ("servercore", '1909 (MS "Windows Server, version 2004 Now Available" table)', "on_disk"),
        "compressed": (
            "servercore",
            '1909 (MS "Windows Server, version 2004 Now Available" table; download size)',
            "compressed",
        ),
    },
    {
        "group": "servercore",
        "quality": "same",
        "what": "servercore 2004 whole image: on disk vs download size (same Microsoft table)",
        "extracted": ("servercore", '2004 (MS "Windows Server, version 2004 Now Available" table)', "on_disk"),
        "compressed": (
            "servercore",
            '2004 (MS "Windows Server, version 2004 Now Available" table; download size)',
            "compressed",
        ),
    },
    {
        "group": "servercore",
        "quality": "same",
        "what": "WS2019 Server Core RTM layer: extracted (Microsoft) vs exact compressed bytes of 65014b3c…",
        "extracted": ("Server Core RTM layer only", "WS2019 (at GA)", "extracted"),
        "compressed": ["sha256:65014b3c312172f10bd6701a063f9b5aaf9a916c2d2cb843d406a6f77ded3f8d"],
    },
    {
        "group": "servercore",
        "quality": "same",
        "what": "WS2022 Server Core RTM layer: extracted (Microsoft) vs exact compressed bytes of 8f616e6e…",
        "extracted": ("Server Core RTM layer only", "WS2022 (at GA)", "extracted"),
        "compressed": ["sha256:8f616e6e9eec767c425fd9346648807d1b658d20ff6097be1d955aac69c26642"],
    },
    {
        "group": "servercore",
        "quality": "same",
        "what": "servercore ltsc2022 January 2023 (single layer): docker images SIZE vs Microsoft total",
        "extracted": (MCR + "servercore", "ltsc2022 (2023-01; IMAGE ID 1fb25eb608ab)", "on_disk"),
        "compressed": ("Windows Server 2022 Server Core", "January 2023 total", "compressed"),
    },
    {
        "group": "servercore",
        "quality": "adjacent",
        "what": "servercore ltsc2019 on the EKS WS2019 AMI (screenshot 2021-12-22) vs the 2021-11 base+update",
        "extracted": (
            MCR + "servercore",
            "ltsc2019 (IMAGE ID 617dd5ead5b8; EKS-optimized WS2019 Core AMI; screenshot committed 2021-12-22)",
            "on_disk",
        ),
        "compressed": [
            "sha256:4612f6d0b889cad0ed0292fae3a0b0c8a9e49aff6dea8eb049b2386d9b07986f",
            "sha256:c1f4c7287c99b95fce227924349d1d139aceb37d97b555144bd5808935b6eab0",
        ],
    },
    {
        "group": "servercore-ltsc2016",
        "quality": "adjacent",
        "what": "servercore ltsc2016 (AppVeyor, Jan 2020) vs the 2019-06 base+update",
        "extracted": (
            MCR + "servercore",
            "ltsc2016 (IMAGE ID 2854dfb4841f; Jan 2020; AppVeyor VS2017 image)",
            "on_disk",
        ),
        "compressed": [
            "sha256:3889bb8d808bbae6fa5a33e07093e65c31371bcf9e4c38c21be6b9af52ad1548",
            "sha256:b39d5d9be066f0f1bd27e6ca44acdf71d85b81b878665ee46215ddcb7ded74a0",
        ],
    },
    {
        "group": "servercore-ltsc2016",
        "quality": "adjacent",
        "what": "servercore ltsc2016 (2025-04) vs the latest catalog base+update (2020-10)",
        "extracted": (MCR + "servercore", "ltsc2016 (IMAGE ID 2d2526d785fa; 2025-04)", "on_disk"),
        "compressed": [
            "sha256:3889bb8d808bbae6fa5a33e07093e65c31371bcf9e4c38c21be6b9af52ad1548",
            "sha256:17a32268498b2feefa5457f0423ac15473596d514e48c694ef54d740a9a5067d",
        ],
    },
    {
        "group": "nanoserver",
        "quality": "adjacent",
        "what": "nanoserver 1809 on the EKS WS2019 AMI (screenshot 2021-12-22) vs the 2021-09 single layer",
        "extracted": (MCR + "nanoserver", "1809 (IMAGE ID 8334af2fa7ba; same screenshot)", "on_disk"),
        "compressed": ["sha256:3585a81ca503e6c63dce938a5606f4171d7461e51000a92054b3f5692786d6c9"],
    },
    {
        "group": "nanoserver",
        "quality": "adjacent",
        "what": "nanoserver ltsc2022 (Windows-Containers#321, Jan/Feb 2023) vs the 2022-08 single layer",
        "extracted": (MCR + "nanoserver", "ltsc2022 (IMAGE ID ab6b2955d60a)", "on_disk"),
        "compressed": ["sha256:2ebf439f800cd4c1fccaf4a0545e6bff60caa5141295c8ab81f6c525073c423d"],
    },
)
# Which family and channels each estimate group covers ("" = a catalog row whose channel is unknown).
# Server Core 2016 gets its own group: its pairs show a lower ratio (~1.8-1.9) than 1809 and later (~2.2).
ESTIMATE_GROUPS = (
    ("servercore-ltsc2016", "servercore", ["ltsc2016"]),
    ("servercore", "servercore", ["ltsc2019", "ltsc2022", "ltsc2025", ""]),
    ("nanoserver", "nanoserver", ["ltsc2016", "ltsc2019", "ltsc2022", "ltsc2025", ""]),
)
_UNITS = {"MB": 10**6, "GB": 10**9}


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV file."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def csv_text(header: Sequence[str], rows: Iterable[dict[str, str]]) -> str:
    """RFC 4180 CSV with `\\n` line ends, like the reference files."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def figure_bytes(text: str) -> int:
    """Bytes of a figure such as `5.74GB`, `1.49 GB`, `257MB`, read as decimal SI units."""
    t = text.strip().replace(" ", "")
    for unit, factor in _UNITS.items():
        if t.endswith(unit):
            whole, _, frac = t[: -len(unit)].partition(".")
            scale = int(10 ** len(frac))
            return (int(whole) * scale + int(frac or "0")) * factor // scale
    raise ValueError(f"no unit in figure {text!r}")


def build(reference: Path) -> dict[str, str]:
    """The data files, name -> text."""
    out: dict[str, str] = {}
    header, layers = read_csv(reference / "windows-base-layers.csv")
    by_digest = {r["digest"]: r for r in layers}
    new_header = ["channel" if h == "ltsc" else h for h in header]
    rows = []
    for r in layers:
        row = {("channel" if k == "ltsc" else k): v for k, v in r.items()}
        row["channel"] = CHANNELS[r["ltsc"]] if r["ltsc"] else ""
        rows.append(row)
    out["base-layers.csv"] = csv_text(new_header, rows)

    _, diffids = read_csv(reference / "windows-base-diffids.csv")
    extra = ["family", "channel", "layer_role", "history_label", "month", "annotation_source"]
    diff_rows, config_rows = [], []
    for r in diffids:
        if not r["diff_id"]:
            note = CONFIG_ANNOTATIONS[r["digest"]]
            config_rows.append({"digest": r["digest"], **note, "source": r["source"]})
            continue
        row = dict(r) | dict.fromkeys(extra, "")
        if not r["digest"]:
            row.update(DIFFID_ANNOTATIONS[r["diff_id"]])
        diff_rows.append(row)
    out["base-diffids.csv"] = csv_text(["digest", "diff_id", "os_version", "source", *extra], diff_rows)
    cfg_header = ["digest", "size", "repository", "tag", "month", "source", "annotation_source"]
    out["base-configs.csv"] = csv_text(cfg_header, config_rows)

    pin_header, pins = read_csv(reference / "mcr-index-history.csv")
    for p in pins:
        p["os_version"] = ""
        p["os_version_source"] = ""
    for repo, tag, prefix, version, source in PIN_OS_VERSIONS:
        hits = [
            p
            for p in pins
            if p["repository"] == MCR + repo and p["tag"] == tag and p["index_digest"].startswith("sha256:" + prefix)
        ]
        if not hits or len({p["index_digest"] for p in hits}) != 1:
            raise SystemExit(f"pin prefix {repo}:{tag} {prefix} matches {len(hits)} digests")
        for p in hits:
            p["os_version"], p["os_version_source"] = version, f"{README_REF}: {source}"
    for p in pins:
        dated = PIN_DATE_OS_VERSIONS.get((p["date"], p["tag"]))
        if dated:
            p["os_version"] = dated
            p["os_version_source"] = (
                f"{README_REF}: 2025-04-17 pins carry explicit build tags (commit 429d05d0…, PR #18884)"
            )
    out["mcr-index-history.csv"] = csv_text([*pin_header, "os_version", "os_version_source"], pins)

    size_header, sizes = read_csv(reference / "windows-base-sizes.csv")
    out["base-sizes.csv"] = csv_text(size_header, sizes)

    facts: dict[tuple[str, str], list[str]] = {}
    for r in layers:
        if r["os_version"] and r["month"]:
            facts.setdefault((r["os_version"], r["month"]), []).append(
                f"windows-base-layers.csv row {r['digest'][:19]}… ({r['source']})"
            )
    for version, month, what, source in OS_VERSION_FACTS:
        facts.setdefault((version, month), []).append(f"{what}: {source}")
    months: dict[str, set[str]] = {}
    for version, month in facts:
        months.setdefault(version, set()).add(month)
    clashes = {v: m for v, m in months.items() if len(m) > 1}
    if clashes:
        raise SystemExit(f"os.version with more than one month: {clashes}")
    fact_rows = [
        {"os_version": v, "month": m, "source": " | ".join(srcs)}
        for (v, m), srcs in sorted(facts.items(), key=lambda kv: tuple(int(x) for x in kv[0][0].split(".")))
    ]
    out["os-versions.csv"] = csv_text(["os_version", "month", "source"], fact_rows)

    size_index = {(s["image"], s["tag_or_version"], s["kind"]): s for s in sizes}
    ext_rows = []
    for s in sizes:
        if s["kind"] != "extracted":
            continue
        digest, why = EXTRACTED_MAPPING[s["tag_or_version"]]
        layer = by_digest[digest]
        ext_rows.append(
            {
                "digest": digest,
                "family": layer["family"],
                "channel": CHANNELS[layer["ltsc"]],
                "extracted_bytes": str(figure_bytes(s["bytes_or_text"])),
                "bytes_or_text": s["bytes_or_text"],
                "unit_as_given": s["unit_as_given"],
                "source": s["source"],
                "mapping": why,
            }
        )
    ext_header = [
        "digest",
        "family",
        "channel",
        "extracted_bytes",
        "bytes_or_text",
        "unit_as_given",
        "source",
        "mapping",
    ]
    out["base-extracted.csv"] = csv_text(ext_header, ext_rows)

    out["extracted-estimate.json"] = json.dumps(estimate(size_index, by_digest), indent=2) + "\n"
    return out


def _side(
    spec: object, size_index: dict[tuple[str, str, str], dict[str, str]], by_digest: dict[str, dict[str, str]]
) -> tuple[int, str, str]:
    """Bytes, the figure as written, and the source of one side of an estimate pair."""
    if isinstance(spec, tuple):
        row = size_index[spec]
        text = row["bytes_or_text"].strip()
        unit = row["unit_as_given"].strip()
        figure = text if text.endswith(("MB", "GB")) else f"{text}{unit}"
        return figure_bytes(figure), f"{text} ({unit})", row["source"]
    assert isinstance(spec, list)
    total = sum(int(by_digest[d]["compressed_bytes"]) for d in spec)
    shown = " + ".join(f"{d[7:15]}… {by_digest[d]['compressed_bytes']} B" for d in spec)
    sources = "; ".join(sorted({by_digest[d]["source"] for d in spec}))
    return total, shown, f"windows-base-layers.csv ({sources})"


def estimate(
    size_index: dict[tuple[str, str, str], dict[str, str]], by_digest: dict[str, dict[str, str]]
) -> dict[str, object]:
    """Extracted/compressed ratios per family and channel group, with every pair and its source."""
    pairs = []
    for spec in ESTIMATE_PAIRS:
        ext, ext_text, ext_src = _side(spec["extracted"], size_index, by_digest)
        comp, comp_text, comp_src = _side(spec["compressed"], size_index, by_digest)
        pairs.append(
            {
                "group": spec["group"],
                "quality": spec["quality"],
                "what": spec["what"],
                "extracted": ext_text,
                "extracted_bytes": ext,
                "extracted_source": ext_src,
                "compressed": comp_text,
                "compressed_bytes": comp,
                "compressed_source": comp_src,
                "ratio": round(ext / comp, 4),
            }
        )
    groups = []
    for name, family, channels in ESTIMATE_GROUPS:
        mine = [p for p in pairs if p["group"] == name]
        same = [p for p in mine if p["quality"] == "same"]
        used = same or mine
        groups.append(
            {
                "group": name,
                "family": family,
                "channels": channels,
                "ratio": round(statistics.median(float(str(p["ratio"])) for p in used), 4),
                "basis": "median of same-revision pairs" if same else "median of adjacent-revision pairs",
                "pairs": [p["what"] for p in used],
            }
        )
    return {
        "method": "extracted_bytes ≈ ratio × compressed_bytes of the layer (exact catalog bytes); ratio = "
        "median extracted/compressed over the pairs below. Figures in GB/MB are read as 10^9/10^6 bytes "
        "(the docker CLI's decimal units; unit base of Microsoft's tables is not stated, a ratio of two "
        "figures from one table does not depend on it). Whole-image ratios are applied per layer: an "
        "assumption (base and update layers are compressed the same way by the same tool).",
        "groups": groups,
        "pairs": pairs,
    }


def provenance(reference: Path, files: dict[str, str]) -> str:
    """provenance.json: inputs with sha256, outputs, and the transformations applied."""
    doc = {
        "generated_by": "scripts/build_catalog.py",
        "reference": "../shared/reference (research notes on Windows container base images; see README.md "
        "there). No registry was queried.",
        "inputs": {
            name: hashlib.sha256((reference / name).read_bytes()).hexdigest()
            for name in (*INPUTS, "README.md", "aws-precached.md")
        },
        "outputs": sorted([*files, "provenance.json"]),
        "transforms": TRANSFORMS,
    }
    return json.dumps(doc, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if the shipped files differ")
    args = parser.parse_args(argv)
    files = build(args.reference)
    files["provenance.json"] = provenance(args.reference, files)
    return write_or_check(files, args.out, check=args.check, what="catalog data")


if __name__ == "__main__":
    sys.exit(main())
