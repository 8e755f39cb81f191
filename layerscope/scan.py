"""Scan a registry: list repositories and tags, analyse every image, resume after an interruption.

Listing (https://github.com/opencontainers/distribution-spec/blob/main/spec.md):

- repositories: `GET /v2/_catalog`, following `Link: <…>; rel="next"` pages (served by distribution,
  Harbor, Zot, GitLab; not by Docker Hub or GHCR — there, name the repository: `scan HOST/REPO`), or
  for an Amazon ECR host the ECR API's DescribeRepositories through boto3 (ECR has no catalog);
- tags: `GET /v2/<name>/tags/list` everywhere (ECR serves it too), filtered by `--tags` glob patterns
  (fnmatch, case-sensitive). Tags of the referrers tag schema (`sha256-<hex>`) and cosign's
  `sha256-<hex>.sig/.att/.sbom` name artifacts, not images, and are never scanned.
- `--since`: by the image config's `created` (the build time, which is in every config, where registries
  differ on push dates and `_catalog` has none). Images without `created` are kept; reproducible builds
  that pin `created` to the epoch are left out by any `--since`.

Resuming: every finished reference is appended to a checkpoint file (JSON lines: the reference, its
manifest digests and its layer measurements), one `write` + `fsync` per line, so a killed scan leaves at
most one torn last line, which is ignored. A rerun with the same target and filters reads the checkpoint
and gives its measurements to the analyzer (checked by digest and diff_id, so a moved tag is measured
anew): finished images cost a manifest and config fetch, no layer download — even with `--no-store`.
A scan that completes removes its checkpoint. An image whose layers cannot be measured (a missing or
corrupt blob) is skipped with a warning, and the scan goes on. The default file is
`$XDG_STATE_HOME/layerscope/scans/<hash of target and filters>.jsonl` (~/.local/state by default).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import importlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from layerscope.errors import (
    AuthenticationError,
    ContentError,
    LayerscopeError,
    NotFoundError,
    RegistryError,
    StoreError,
    UsageError,
)
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.plan.planned import AnalysisRun, PlannedImage
from layerscope.reference import ImageReference

if TYPE_CHECKING:
    from layerscope.fleet import FleetSession
    from layerscope.platforms import PlatformFilter
    from layerscope.registry import RegistryClient
    from layerscope.resolution import ResolvedImage

__all__ = [
    "Checkpoint",
    "ScanOptions",
    "ScanProgress",
    "ScanResult",
    "ScanTarget",
    "default_checkpoint_path",
    "list_references",
    "parse_since",
    "parse_target",
    "scan",
]

CHECKPOINT_VERSION = 1
#: Images resolved and measured together: big enough to keep an executor's workers busy, small enough
#: that an interruption loses little.
DEFAULT_BATCH = 32
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
# Referrers tag schema (distribution-spec "Referrers Tag Schema") and cosign's signature/attestation tags.
_ARTIFACT_TAG = re.compile(r"(?:sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})(?:\.[A-Za-z0-9]+)?")
_ECR_HOST = re.compile(r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True, slots=True)
class ScanTarget:
    """`REGISTRY[/PREFIX]`: a registry host and an optional repository prefix."""

    registry: str
    prefix: str | None = None

    def __str__(self) -> str:
        return f"{self.registry}/{self.prefix}" if self.prefix else self.registry

    def includes(self, repository: str) -> bool:
        """True when *repository* is the prefix itself or under it."""
        return self.prefix is None or repository == self.prefix or repository.startswith(self.prefix + "/")

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(account, region) when the registry is Amazon ECR."""
        m = _ECR_HOST.fullmatch(self.registry)
        return (m["account"], m["region"]) if m else None


def parse_target(text: str) -> ScanTarget:
    """Parse `REGISTRY[/PREFIX]`; the registry must look like a host (a dot, a port, or localhost)."""
    host, _, prefix = text.strip().strip("/").partition("/")
    if not host or not ("." in host or ":" in host or host == "localhost"):
        raise UsageError(
            f"invalid scan target {text!r}", hint="use REGISTRY[/PREFIX], e.g. 127.0.0.1:5000 or ghcr.io/org/app"
        )
    prefix = prefix.strip("/")
    if prefix and not all(_COMPONENT.fullmatch(c) for c in prefix.split("/")):
        raise UsageError(f"invalid repository prefix {prefix!r}", hint="lowercase letters, digits and . _ -")
    return ScanTarget(host.lower(), prefix or None)


def parse_since(text: str) -> dt.datetime:
    """A date (`2026-01-31`) or RFC 3339 time; naive values are UTC."""
    try:
        when = dt.datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip().replace("Z", "+00:00")))
    except ValueError:
        raise UsageError(f"invalid date {text!r}", hint="use YYYY-MM-DD or an RFC 3339 time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def config_created(image: ResolvedImage) -> dt.datetime | None:
    """The `created` time of *image*'s config, or None when absent or unreadable."""
    try:
        value = json.loads(image.config.raw).get("created")
    except (ValueError, AttributeError):
        return None
    if not isinstance(value, str):
        return None
    try:
        return parse_since(value)
    except UsageError:
        return None


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Filters and resumption settings of one scan."""

    tags: tuple[str, ...] = ()
    since: dt.datetime | None = None
    checkpoint: Path | None = None  # None: default_checkpoint_path()
    fresh: bool = False  # ignore (and replace) an existing checkpoint
    batch_size: int = DEFAULT_BATCH
    page_size: int | None = None  # `n` for catalog and tag list pages


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What a scan produced."""

    run: AnalysisRun
    references: int  # references listed (after the tag filter)
    resumed: int  # of which an interrupted earlier run had finished
    left_out: int  # images left out by --since
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (reference, reason)


class ScanProgress(Protocol):
    """Hears about a scan's progress (the CLI draws it; the library never prints)."""

    def scan_listed(self, references: int, resumed: int) -> None:
        """*references* were listed, *resumed* of them finished earlier."""

    def scan_done(self, reference: str) -> None:
        """One reference is finished (measured, resumed or skipped)."""


class _NoProgress:
    def scan_listed(self, references: int, resumed: int) -> None:
        """Ignore."""

    def scan_done(self, reference: str) -> None:
        """Ignore."""


# -- listing -------------------------------------------------------------------------------------------


def _ecr_repositories(account: str, region: str) -> list[str]:
    """Repository names of an ECR registry (DescribeRepositories, all pages)."""
    try:
        boto3: Any = importlib.import_module("boto3")
    except ImportError:
        raise UsageError(
            "listing ECR repositories needs boto3", hint="pip install 'layerscope[ecr]' (or name one: HOST/REPO)"
        ) from None
    names: list[str] = []
    try:
        client = boto3.client("ecr", region_name=region)
        for page in client.get_paginator("describe_repositories").paginate(registryId=account):
            names.extend(str(r["repositoryName"]) for r in page.get("repositories", ()))
    except Exception as exc:  # botocore's errors, imported lazily with it
        if not type(exc).__module__.startswith("botocore"):
            raise
        text = f"ECR DescribeRepositories in {region} for {account}: {type(exc).__name__}: {str(exc)[:200]}"
        if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError") or "AccessDenied" in str(exc):
            raise AuthenticationError(text, hint="configure AWS credentials with ecr:DescribeRepositories") from None
        raise RegistryError(text) from None
    return names


def list_repositories(client: RegistryClient, target: ScanTarget, page_size: int | None = None) -> list[str]:
    """Repositories of *target* (under its prefix), sorted."""
    ecr = target.ecr
    try:
        names = _ecr_repositories(*ecr) if ecr else client.list_repositories(target.registry, page_size=page_size)
    except (NotFoundError, AuthenticationError) as exc:
        if target.prefix is None:
            raise type(exc)(
                f"{target.registry} does not list its repositories ({exc.message})",
                hint="name a repository to scan: REGISTRY/REPOSITORY",
            ) from None
        # No catalog here (Docker Hub, GHCR) or not for us: the prefix names the one repository.
        return [target.prefix]
    return sorted(n for n in set(names) if target.includes(n))


def _tag_wanted(tag: str, patterns: Sequence[str]) -> bool:
    if _ARTIFACT_TAG.fullmatch(tag):
        return False
    return not patterns or any(fnmatch.fnmatchcase(tag, p) for p in patterns)


def list_references(
    client: RegistryClient, target: ScanTarget, patterns: Sequence[str] = (), page_size: int | None = None
) -> list[ImageReference]:
    """Every `repository:tag` of *target* whose tag matches a pattern, sorted by repository and tag."""
    refs: list[ImageReference] = []
    for repository in list_repositories(client, target, page_size):
        tags = client.list_tags(ImageReference(target.registry, repository, "latest"), page_size=page_size)
        refs.extend(
            ImageReference(target.registry, repository, t) for t in sorted(set(tags)) if _tag_wanted(t, patterns)
        )
    return refs


def _check_matches(target: ScanTarget, patterns: Sequence[str], refs: Sequence[ImageReference], observer: Any) -> None:
    """Warn about a --tags pattern that matched nothing; fail (exit 4) when nothing matched at all (#18 item 8).

    A typo in a prefix or a pattern used to give an empty result with exit 0, indistinguishable from an
    empty registry.
    """
    if not refs:
        filters = f" with a tag matching {', '.join(repr(p) for p in patterns)}" if patterns else ""
        raise NotFoundError(
            f"no image of {target}{filters}",
            hint="check the registry, the repository prefix and the --tags patterns (globs, e.g. 'v1.*')",
        )
    for pattern in patterns:
        if not any(ref.tag is not None and _tag_wanted(ref.tag, [pattern]) for ref in refs):
            observer.warning(f"--tags {pattern!r} matched no tag of {target}")


# -- checkpoint ----------------------------------------------------------------------------------------


def default_checkpoint_path(target: ScanTarget, options: ScanOptions, platform: PlatformFilter | None) -> Path:
    """`$XDG_STATE_HOME/layerscope/scans/<key>.jsonl`, the key a hash of the target and filters."""
    key = json.dumps(
        [str(target), sorted(options.tags), options.since.isoformat() if options.since else None, str(platform)]
    )
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "layerscope" / "scans" / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.jsonl"


class Checkpoint:
    """An append-only JSON-lines record of the references a scan has finished."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[set[str], dict[str, LayerMeasurement]]:
        """(finished references, their layer measurements by digest); unreadable lines are skipped."""
        try:
            text = self.path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return set(), {}
        except OSError as exc:
            raise StoreError(f"cannot read the scan checkpoint {self.path}: {exc.strerror}") from None
        done: set[str] = set()
        known: dict[str, LayerMeasurement] = {}
        for line in text.splitlines():
            try:
                doc = json.loads(line)
                if doc.get("v") != CHECKPOINT_VERSION or not isinstance(doc.get("reference"), str):
                    continue
                layers = [LayerMeasurement.from_dict(m) for m in doc.get("layers", ())]
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # a torn last line from a killed run, or a foreign line
            done.add(doc["reference"])
            # What this scan measured serves any image; what it read from an attachment served that
            # image only and is read again from it (issue #12), never lent to another repository's layer.
            # Nothing is streamed for them in this run: they carry the checkpoint as their source (issue #17).
            known.update(
                (m.digest, replace(m, size_source=SizeSource.CHECKPOINT))
                for m in layers
                if m.exact and m.size_source is not SizeSource.ATTACHED
            )
        return done, known

    @contextmanager
    def writer(self) -> Iterator[_CheckpointWriter]:
        """An appender; each record is one write() of one line, then fsync."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot write the scan checkpoint {self.path}: {exc.strerror}",
                hint="pass --checkpoint FILE in a writable directory",
            ) from None
        try:
            size = os.fstat(fd).st_size
            if size:
                # A torn last line (killed mid-write) must not swallow the next record.
                with open(self.path, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        os.write(fd, b"\n")
            yield _CheckpointWriter(fd)
        finally:
            os.close(fd)

    def remove(self) -> None:
        """Delete the checkpoint (a finished scan, or --fresh)."""
        self.path.unlink(missing_ok=True)


class _CheckpointWriter:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def record(self, reference: str, results: Sequence[PlannedImage]) -> None:
        """Append one finished reference."""
        layers = {layer.digest: layer.measurement for r in results for layer in r.layers if not layer.foreign}
        doc = {
            "v": CHECKPOINT_VERSION,
            "reference": reference,
            "images": [r.digest for r in results],
            "layers": [m.to_dict() for m in layers.values()],
        }
        os.write(self._fd, (json.dumps(doc, separators=(",", ":")) + "\n").encode())
        os.fsync(self._fd)


# -- the scan ------------------------------------------------------------------------------------------


def _batches(items: Sequence[ImageReference], size: int) -> Iterator[Sequence[ImageReference]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def scan(
    fleet: FleetSession, target: ScanTarget, options: ScanOptions | None = None, progress: ScanProgress | None = None
) -> ScanResult:
    """List and analyse every image of *target*; see the module docstring for filters and resuming."""
    options = options or ScanOptions()
    progress = progress or _NoProgress()
    session = fleet.session
    platform = session.settings.platform
    observer = session.observer
    refs = list_references(fleet.client, target, options.tags, options.page_size)
    _check_matches(target, options.tags, refs, observer)
    checkpoint = Checkpoint(options.checkpoint or default_checkpoint_path(target, options, platform))
    if options.fresh:
        checkpoint.remove()
    done, known = checkpoint.load()
    progress.scan_listed(len(refs), sum(1 for r in refs if str(r) in done))
    by_ref: dict[str, list[PlannedImage]] = {}
    skipped: list[tuple[str, str]] = []
    left_out = 0

    def resolve(ref: ImageReference) -> list[ResolvedImage] | LayerscopeError:
        try:
            return session.analyzer.resolve(ref, platform)
        except (NotFoundError, ContentError) as exc:
            # A tag deleted since listing, an artifact, a platform the index lacks: not this scan's business.
            return exc

    with checkpoint.writer() as writer:
        for batch in _batches(refs, options.batch_size):
            resolved: list[tuple[ImageReference, list[ResolvedImage]]] = []
            pending = [session.analyzer.resolver.submit(resolve, ref) for ref in batch]
            for ref, got in zip(batch, (future.result() for future in pending), strict=True):
                if isinstance(got, LayerscopeError):
                    skipped.append((str(ref), got.message))
                    observer.warning(f"skipping {ref}: {got.message}")
                    progress.scan_done(str(ref))
                    continue
                kept = [i for i in got if options.since is None or _since_ok(i, options.since)]
                left_out += len(got) - len(kept)
                resolved.append((ref, kept))
            for ref, mine in _measure_batch(fleet, resolved, known, skipped):
                if mine is not None:
                    by_ref[str(ref)] = mine
                    writer.record(str(ref), mine)
                progress.scan_done(str(ref))
    checkpoint.remove()
    finished = [result for ref in refs for result in by_ref.get(str(ref), ())]
    return ScanResult(
        run=fleet.run(finished),
        references=len(refs),
        resumed=sum(1 for r in refs if str(r) in done),
        left_out=left_out,
        skipped=tuple(skipped),
    )


def _measure_batch(
    fleet: FleetSession,
    resolved: Sequence[tuple[ImageReference, list[ResolvedImage]]],
    known: dict[str, LayerMeasurement],
    skipped: list[tuple[str, str]],
) -> Iterator[tuple[ImageReference, list[PlannedImage] | None]]:
    """Each reference of a batch with its results; one whose layers cannot be measured gets None."""
    try:
        results = iter(fleet.measure([i for _, images in resolved for i in images], known))
    except (NotFoundError, ContentError):
        # One bad image must not stop a fleet scan: measure reference by reference to find it. Layers
        # measured before the failure are not measured again (the analyzer keeps them for the run).
        for ref, images in resolved:
            try:
                yield ref, fleet.measure(images, known)
            except (NotFoundError, ContentError) as exc:
                skipped.append((str(ref), exc.message))
                fleet.session.observer.warning(f"skipping {ref}: {exc.message}")
                yield ref, None
        return
    for ref, images in resolved:
        yield ref, [next(results) for _ in images]


def _since_ok(image: ResolvedImage, since: dt.datetime) -> bool:
    created = config_created(image)
    return created is None or created >= since
