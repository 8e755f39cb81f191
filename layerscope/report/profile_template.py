"""`profile init`: a commented YAML profile that `extends:` another, every key shown with its meaning (#18 item 14).

Every value key is written commented out with the value it inherits, so the new file loads to exactly the
parent's values and keeps their sources; uncommenting a key (and editing it) overrides that key alone. The
values are written in the syntax the loader reads back (`50GiB`, `62.5MB/s`, `5m`), never a rounded figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from layerscope.plan.profile import VALUE_KEYS, NodeProfile

__all__ = ["KEY_DOCS", "duration_text", "profile_template", "rate_text", "size_text"]

_GIB, _MIB = 2**30, 2**20

#: Every profile key: (NodeProfile attribute, kind, what it means with its units and syntax).
KEY_DOCS: dict[str, tuple[str, str, str]] = {
    "orchestrator": ("orchestrator", "text", "eks | ecs | other: who launches the pods"),
    "os_version": (
        "os_version",
        "quoted",
        'host Windows build, quoted: "10.0.BUILD" or with its revision "10.0.BUILD.UBR" (e.g. "10.0.17763.3406")',
    ),
    "ami": (
        "ami",
        "quoted",
        "the node's AMI: its name, ami-ID, YYYY-MM-DD or latest; says which base revision the node holds (#14)",
    ),
    "ami_family": (
        "ami_family",
        "quoted",
        "the AMI name without its date (also the SSM parameter name), needed by ami: YYYY-MM-DD or latest (#14)",
    ),
    "runtime": ("runtime", "text", "containerd | docker"),
    "runtime_version": ("runtime_version", "quoted", 'container runtime version, quoted ("1.7"); null if unknown'),
    "discard_unpacked_layers": (
        "discard_unpacked_layers",
        "bool",
        "true | false: containerd drops compressed blobs after unpacking (disk = extracted bytes only)",
    ),
    "root_volume": (
        "root_volume_bytes",
        "size",
        "root EBS volume. SIZE: 50GiB, 9.5GiB, 10GB (GB = 1000^3, GiB = 1024^3), or plain bytes",
    ),
    "os_footprint": (
        "os_footprint_bytes",
        "size",
        "disk the host OS itself takes on the root volume. SIZE; null if unknown",
    ),
    "network_throughput": (
        "network_bytes_per_second",
        "rate",
        "sustained download rate of one image pull. RATE: 62.5MB/s, 500MB (bytes per second), or plain bytes",
    ),
    "extraction_throughput": (
        "extraction_bytes_per_second",
        "rate",
        "extracted (on-disk) bytes written per second while unpacking. RATE, e.g. 16MB/s",
    ),
    "max_concurrent_downloads": (
        "max_concurrent_downloads",
        "int",
        "layers downloaded at once, a whole number from 1 to 64 (containerd's default is 3)",
    ),
    "registry_latency": (
        "registry_latency_seconds",
        "duration",
        "one registry round trip. DURATION: seconds (0.05), or 50ms, 5s, 5m, 2h",
    ),
    "pull_inactivity_timeout": (
        "pull_inactivity_timeout_seconds",
        "duration",
        "the runtime cancels a pull that makes no progress for this long. DURATION; null: no such timeout",
    ),
    "pull_total_timeout": (
        "pull_total_timeout_seconds",
        "duration",
        "the longest a whole pull may take. DURATION; null: no limit",
    ),
    "timeout_covers_extraction": (
        "timeout_covers_extraction",
        "bool",
        "true | false: a long silent extraction can trip the inactivity timeout",
    ),
    "baked": (
        "baked",
        "baked",
        "images the AMI holds at boot. REPLACES the parent's list (it is not added to it): repeat the entries you\n"
        "keep. Each entry is a reference, or {reference, os_version, month, source}: os_version (10.0.BUILD.UBR)\n"
        "or month (YYYY-MM) states the revision the node holds when the reference is a floating tag. A relative\n"
        "oci:PATH is relative to this file's folder",
    ),
}


def size_text(n: int) -> str:
    """Bytes as the loader reads them back, exactly: `50GiB`, `6GB`, `512MiB`, else plain bytes."""
    for factor, unit in ((_GIB, "GiB"), (10**9, "GB"), (_MIB, "MiB"), (10**6, "MB")):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    if n >= 10**6 and (n * 1000) % 10**9 == 0:
        return f"{n / 10**9:g}GB"
    return str(n)


def rate_text(n: int) -> str:
    """Bytes per second, exactly: `62.5MB/s`, `1GB/s`, else plain bytes per second."""
    for factor, unit in ((10**9, "GB"), (10**6, "MB")):
        if n >= factor and (n * 1000) % factor == 0:
            return f"{n / factor:g}{unit}/s"
    return str(n)


def duration_text(seconds: float) -> str:
    """Seconds as written by hand: `5m`, `2h`, `50ms`, `90s`."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    millis = seconds * 1000
    if seconds < 1 and abs(millis - round(millis)) < 1e-6:
        return f"{round(millis)}ms"
    return f"{seconds:g}s"


def _scalar(value: Any, kind: str) -> str:
    if value is None:
        return "null"
    if kind == "size":
        return size_text(value)
    if kind == "rate":
        return rate_text(value)
    if kind == "duration":
        return duration_text(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "quoted":
        return json.dumps(str(value))
    return str(value)


def _reference(ref: str) -> str:
    # A relative oci: path was read relative to something this file's reader may not share: write it absolute.
    if ref.startswith("oci:") and not Path(ref[4:]).is_absolute():
        return f"oci:{Path(ref[4:]).absolute()}"
    return ref


def _baked_lines(profile: NodeProfile) -> list[str]:
    if not profile.baked:
        return ["baked: []"]
    lines = ["baked:"]
    for image in profile.baked:
        lines.append(f"  - reference: {json.dumps(_reference(image.reference))}")
        for key in ("os_version", "month", "source"):
            value = getattr(image, key)
            if value is not None:
                lines.append(f"    {key}: {json.dumps(value)}")
    return lines


def _comment(text: str) -> list[str]:
    return [f"## {line}" for line in text.splitlines()]


def profile_template(profile: NodeProfile, name: str, parent: str) -> str:
    """The YAML text of a profile NAME that `extends: parent` (*profile* is the parent, loaded).

    `## ` lines explain; `# ` lines are the inherited values, commented out: dropping their `# ` overrides them.
    """
    lines = [
        f"## layerscope node profile {name}, written by `layerscope profile init {name} --from {parent}`.",
        f"## It extends {parent}: each key below is commented out (`# `) and shows the value it inherits",
        f"## (sources: `layerscope profile show {parent}`). Uncomment a key (drop `# `) and edit it to override",
        "## it; an overridden key's source becomes this file. SIZE: 50GiB, 9.5GiB, 10GB or bytes. RATE: 62.5MB/s",
        "## or bytes per second. DURATION: 50ms, 90s, 5m, 2h or seconds. null: unknown, or none. Check it with",
        f"## `layerscope profile show {name}.yaml`; use it with `layerscope analyze IMAGE --profile {name}.yaml`.",
        f"name: {name}",
        f"description: {json.dumps(f'{name}: {parent} with local changes')}",
        "## extends: a shipped profile's name, or a profile file (a relative path is relative to this file). A key",
        "## given here replaces the parent's whole value (a list too); every other key is inherited.",
        f"extends: {json.dumps(parent)}",
    ]
    for key in VALUE_KEYS:
        attr, kind, meaning = KEY_DOCS.get(key, (key, "text", "(see README: Write your own profile)"))
        lines.append("")
        lines.extend(_comment(f"{key}: {meaning}"))
        value = getattr(profile, attr, None)
        body = _baked_lines(profile) if kind == "baked" else [f"{key}: {_scalar(value, kind)}"]
        lines.extend(f"# {line}" for line in body)
    return "\n".join(lines) + "\n"
