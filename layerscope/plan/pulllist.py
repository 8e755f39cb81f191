"""Pull lists: the digest-pinned images to pre-pull while building an AMI, in five formats.

- `awstoe`: an EC2 Image Builder (AWSTOE) component document — `name`, `description`, `schemaVersion: 1.0`, a
  `build` phase with one `ExecutePowerShell` step per image (so a failure names the image) and a `validate` phase
  that checks every image is present. The shape follows the AWSTOE docs' Windows examples and the EKS
  best-practices component (aws/aws-eks-best-practices `latest/bpg/windows/ami.adoc`), with two fixes to that
  example: `ctr` gets `-n k8s.io`, the namespace kubelet/CRI reads (aws-precached.md; AWS's own cached images
  live there, aws-nodes.md §1.3), and ECR credentials go to `ctr --user` — the example's `docker login` does not
  reach ctr, and EKS nodes since Kubernetes 1.24 have no Docker.
- `powershell`: the same commands as one `.ps1` script; `shell`: a bash script (`set -euo pipefail`) for a host
  with `ctr`/`docker` and the AWS CLI; `text`: one pinned reference per line under a `#` header (readable back as
  a baked-set file by `plan.profile.load_baked`); `json`: `layerscope.pull-list/v1`.

Images are pulled by digest; when the reference had a tag the image is tagged with it too, so kubelet's
IfNotPresent (or ECS's prefer-cached) finds it under the name a pod uses without asking the registry. ECR hosts
get a login first: `Get-ECRLoginCommand` (AWS Tools for PowerShell) in PowerShell, `aws ecr get-login-password` in
bash. Native commands do not stop PowerShell on failure, so every one is followed by an exit-code check.

Quoting: bash words with `shlex.quote`; PowerShell single-quoted strings with every quote character doubled —
PowerShell also treats ‘ ’ ‚ ‛ as single quotes; YAML by the YAML emitter. References are validated by the
reference parser, and the writers refuse whitespace and control characters in any field anyway.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import yaml

from layerscope.errors import InvalidReference, UsageError
from layerscope.reference import ImageReference, parse_reference

__all__ = [
    "FORMATS",
    "RUNTIMES",
    "SCHEMA",
    "PullItem",
    "PullListFormat",
    "pull_items",
    "quote_powershell",
    "write_pull_list",
]

SCHEMA = "layerscope.pull-list/v1"


class PullListFormat(StrEnum):
    """`pull-list --format` choices."""

    AWSTOE = "awstoe"
    TEXT = "text"
    SHELL = "shell"
    POWERSHELL = "powershell"
    JSON = "json"


FORMATS = tuple(f.value for f in PullListFormat)
RUNTIMES = ("containerd", "docker")
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"  # PowerShell's single-quote characters (ASCII and typographic)
_CHECK = 'function Assert-Success([string]$What) { if ($LASTEXITCODE -ne 0) { throw "$What failed ($LASTEXITCODE)" } }'
_CTR = (
    "$ctr = (Get-Command ctr.exe -ErrorAction SilentlyContinue).Source; "
    "if (-not $ctr) { $ctr = Join-Path $env:ProgramFiles 'containerd\\ctr.exe' }"
)


@dataclass(frozen=True, slots=True)
class PullItem:
    """One image to pre-pull: `name` (registry/repository), the manifest `digest`, and the tag if one was given."""

    name: str
    digest: str
    tag: str | None = None

    @property
    def pinned(self) -> str:
        """`name@digest`: what is pulled."""
        return f"{self.name}@{self.digest}"

    @property
    def tagged(self) -> str | None:
        """`name:tag`, the name pods use, when a tag was given."""
        return f"{self.name}:{self.tag}" if self.tag else None

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(registry host, region) when the image is in Amazon ECR."""
        try:
            ref = parse_reference(self.pinned)
        except InvalidReference:
            return None
        if not isinstance(ref, ImageReference) or ref.ecr is None:
            return None
        return ref.registry, ref.ecr[1]

    @classmethod
    def of(cls, reference: str, digest: str | None = None) -> PullItem:
        """An item from a digest-pinned reference, or from a reference plus the digest it resolved to."""
        ref = parse_reference(reference)
        if not isinstance(ref, ImageReference):
            raise UsageError(f"{reference}: an OCI layout image cannot be pulled by a node", hint="push it first")
        if digest is not None and ref.digest is not None and digest != ref.digest:
            raise UsageError(f"{reference} is pinned to another digest than {digest}")
        pinned = digest or ref.digest
        if pinned is None:
            raise UsageError(
                f"{reference} is not pinned to a digest",
                hint="give REPOSITORY@sha256:… (or REPOSITORY:TAG@sha256:…), or let layerscope resolve it first",
            )
        parse_reference(f"{ref.registry}/{ref.repository}@{pinned}")  # validates the digest
        return cls(f"{ref.registry}/{ref.repository}", pinned, ref.tag)


def pull_items(references: Iterable[str]) -> list[PullItem]:
    """Items from digest-pinned references, duplicates (same name and digest) dropped."""
    out: dict[str, PullItem] = {}
    for reference in references:
        item = PullItem.of(reference)
        out.setdefault(item.pinned, item)
    return list(out.values())


def quote_powershell(text: str) -> str:
    """*text* as a PowerShell single-quoted string literal (no expansion; every quote character doubled)."""
    return "'" + "".join(c * 2 if c in _PS_QUOTES else c for c in text) + "'"


def _check_items(items: Sequence[PullItem]) -> list[PullItem]:
    if not items:
        raise UsageError("the pull list is empty", hint="give at least one digest-pinned reference")
    unique: dict[str, PullItem] = {}
    for item in items:
        for text in (item.name, item.digest, item.tag or ""):
            if any(c.isspace() or not c.isprintable() for c in text):
                raise UsageError(f"refusing to write {text!r}: whitespace or control characters in a reference")
        unique.setdefault(item.pinned, item)
    return list(unique.values())


def _ps_pull(item: PullItem, runtime: str) -> list[str]:
    """PowerShell lines that pull (and tag) one image; each native command is checked."""
    pinned = quote_powershell(item.pinned)
    lines: list[str] = []
    ecr = item.ecr
    if runtime == "containerd":
        user = ""
        if ecr:
            lines.append(f"$password = (Get-ECRLoginCommand -Region {quote_powershell(ecr[1])}).Password")
            user = "--user ('AWS:' + $password) "
        lines += [f"& $ctr -n k8s.io images pull {user}{pinned}", f"Assert-Success {pinned}"]
        if item.tagged:
            tagged = quote_powershell(item.tagged)
            lines += [f"& $ctr -n k8s.io images tag --force {pinned} {tagged}", f"Assert-Success {tagged}"]
        return lines
    if ecr:
        host = quote_powershell(ecr[0])
        lines += [
            f"(Get-ECRLoginCommand -Region {quote_powershell(ecr[1])}).Password | "
            f"docker login --username AWS --password-stdin {host}",
            f"Assert-Success {host}",
        ]
    lines += [f"docker pull {pinned}", f"Assert-Success {pinned}"]
    if item.tagged:
        tagged = quote_powershell(item.tagged)
        lines += [f"docker tag {pinned} {tagged}", f"Assert-Success {tagged}"]
    return lines


def _ps_validate(items: Sequence[PullItem], runtime: str) -> list[str]:
    """PowerShell lines that fail unless every image is present."""
    lines: list[str] = []
    if runtime == "containerd":
        lines.append("$present = @(& $ctr -n k8s.io images ls -q)")
        for item in items:
            ref = quote_powershell(item.pinned)
            lines.append(f"if ($present -notcontains {ref}) {{ throw ('missing image: ' + {ref}) }}")
        return lines
    for item in items:
        ref = quote_powershell(item.pinned)
        lines += [f"docker image inspect {ref} | Out-Null", f"Assert-Success {ref}"]
    return lines


def _preamble(runtime: str) -> list[str]:
    lines = ["$ErrorActionPreference = 'Stop'", _CHECK]
    return [*lines, _CTR] if runtime == "containerd" else lines


def _summary(items: Sequence[PullItem], runtime: str) -> str:
    where = "containerd, namespace k8s.io" if runtime == "containerd" else "Docker"
    return f"Pre-pulls {len(items)} digest-pinned container image(s) into {where} (generated by layerscope)."


def _awstoe(items: Sequence[PullItem], runtime: str, name: str, description: str) -> str:
    steps = [
        {
            "name": f"PullImage{i}",
            "action": "ExecutePowerShell",
            "onFailure": "Abort",
            "inputs": {"commands": [*_preamble(runtime), *_ps_pull(item, runtime)]},
        }
        for i, item in enumerate(items, start=1)
    ]
    doc = {
        "name": name,
        "description": description,
        "schemaVersion": 1.0,
        "phases": [
            {"name": "build", "steps": steps},
            {
                "name": "validate",
                "steps": [
                    {
                        "name": "CheckImagesPresent",
                        "action": "ExecutePowerShell",
                        "onFailure": "Abort",
                        "inputs": {"commands": [*_preamble(runtime), *_ps_validate(items, runtime)]},
                    }
                ],
            },
        ],
    }
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=10_000, allow_unicode=False)
    return "# EC2 Image Builder (AWSTOE) component document, generated by layerscope.\n" + body


def _powershell(items: Sequence[PullItem], runtime: str) -> str:
    lines = ["# " + _summary(items, runtime), *_preamble(runtime)]
    for item in items:
        lines += ["", f"# {item.pinned}", *_ps_pull(item, runtime)]
    lines += ["", "# Check that every image is present.", *_ps_validate(items, runtime)]
    return "\n".join(lines) + "\n"


def _shell(items: Sequence[PullItem], runtime: str) -> str:
    lines = ["#!/usr/bin/env bash", "# " + _summary(items, runtime), "set -euo pipefail"]
    for item in items:
        pinned = shlex.quote(item.pinned)
        lines += ["", f"# {item.pinned}"]
        ecr = item.ecr
        if runtime == "containerd":
            user = ""
            if ecr:
                lines.append(f"password=$(aws ecr get-login-password --region {shlex.quote(ecr[1])})")
                user = '--user "AWS:${password}" '
            lines.append(f"ctr -n k8s.io images pull {user}{pinned}")
            if item.tagged:
                lines.append(f"ctr -n k8s.io images tag --force {pinned} {shlex.quote(item.tagged)}")
            continue
        if ecr:
            lines.append(
                f"aws ecr get-login-password --region {shlex.quote(ecr[1])}"
                f" | docker login --username AWS --password-stdin {shlex.quote(ecr[0])}"
            )
        lines.append(f"docker pull {pinned}")
        if item.tagged:
            lines.append(f"docker tag {pinned} {shlex.quote(item.tagged)}")
    lines += ["", "# Check that every image is present."]
    if runtime == "containerd":
        # Captured first: `ctr … | grep -q` could fail under pipefail when grep exits early.
        lines.append("present=$(ctr -n k8s.io images ls -q)")
        for item in items:
            ref = shlex.quote(item.pinned)
            lines.append(f'grep -qxF -- {ref} <<<"$present" || {{ echo "missing image: "{ref} >&2; exit 1; }}')
    else:
        lines += [f"docker image inspect {shlex.quote(item.pinned)} >/dev/null" for item in items]
    return "\n".join(lines) + "\n"


def _text(items: Sequence[PullItem], runtime: str) -> str:
    command = "ctr -n k8s.io images pull REF" if runtime == "containerd" else "docker pull REF"
    lines = [
        f"# layerscope pull list ({SCHEMA}): {len(items)} digest-pinned image(s) for {runtime}",
        f"# pull each with: {command}",
    ]
    lines += [f"{item.pinned}  # {item.tagged}" if item.tagged else item.pinned for item in items]
    return "\n".join(lines) + "\n"


def _json(items: Sequence[PullItem], runtime: str) -> str:
    doc = {
        "schema": SCHEMA,
        "runtime": runtime,
        "images": [{"reference": item.pinned, "digest": item.digest, "tag": item.tagged} for item in items],
    }
    return json.dumps(doc, indent=2) + "\n"


def write_pull_list(
    items: Sequence[PullItem],
    fmt: str,
    *,
    runtime: str = "containerd",
    name: str = "layerscope-prepull",
    description: str | None = None,
) -> str:
    """The pull list in *fmt* (one of FORMATS) for *runtime*; `name`/`description` are the AWSTOE component's."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown pull-list format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")
    if runtime not in RUNTIMES:
        raise UsageError(f"unknown container runtime {runtime!r}", hint=f"choose one of {', '.join(RUNTIMES)}")
    unique = _check_items(items)
    if fmt == "awstoe":
        return _awstoe(unique, runtime, name, description or _summary(unique, runtime))
    writers = {"text": _text, "shell": _shell, "powershell": _powershell, "json": _json}
    return writers[fmt](unique, runtime)
