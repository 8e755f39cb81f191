"""Pull events a cluster recorded, parsed from `kubectl get events -o json` and `aws ecs describe-tasks` (pure).

kubelet writes one `Pulled` event per pull (pkg/kubelet/images/image_manager.go): older kubelets
"Successfully pulled image \"REF\" in 6m0.7576396s", newer ones "Successfully pulled image \"REF\" in 1.2s
(1.2s including waiting). Image size: 1234 bytes." — the first duration is the pull itself, the one "including
waiting" adds the time queued behind other pulls (serialised pulls), so the first one is what the launch model
predicts. "Container image … already present on machine" is also reason `Pulled` and moved no bytes: skipped.
Both core/v1 `EventList` (node in `source.host`) and events.k8s.io/v1 (`note`, `reportingInstance`) are read.

ECS `describe-tasks` gives `pullStartedAt`/`pullStoppedAt` per task (all its containers' images pulled in that
span); only a task with one container image is usable, since the span cannot be split between images.

A file cut off mid-document (a truncated download) keeps every complete item before the cut; the rest is
counted as skipped, never a crash. Unparseable files are a one-line UsageError.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from layerscope.errors import UsageError

__all__ = ["EventSet", "PullEvent", "parse_ecs_tasks", "parse_go_duration", "parse_kubectl_events"]

_PULLED = re.compile(
    r'Successfully pulled image "(?P<ref>[^"]+)" in (?P<dur>[0-9][0-9.a-zµ]*)'
    r"(?: \((?P<waiting>[0-9][0-9.a-zµ]*) including waiting\))?"
    r"(?:\. Image size: (?P<size>\d+) bytes)?"
)
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

# Skip reasons (the JSON `events.skipped[].reason`); run.py adds the ones that need the image or the node.
ALREADY_PRESENT = "image already present on the node (nothing pulled)"
OTHER_REASON = "not a Pulled event (other reason)"
NO_DURATION = "Pulled event without a duration"
NO_NODE = "no node named (source.host / reportingInstance)"
TRUNCATED = "truncated JSON (the file ends mid-item)"
ECS_MANY = "ECS task with several container images (one pull span, cannot be split)"
ECS_NO_PULL = "ECS task without pullStartedAt/pullStoppedAt"


@dataclass(frozen=True, slots=True)
class PullEvent:
    """One recorded pull: which image, on which node, how long, when."""

    image: str  # the reference as the runtime logged it
    node: str
    seconds: float
    at: str | None  # ISO-8601 time of the event, when given
    size_bytes: int | None = None  # "Image size: N bytes" (the runtime's own figure), newer kubelets only
    source: str = "kubelet"  # kubelet | ecs


@dataclass(frozen=True, slots=True)
class EventSet:
    """Usable pull events, and the counts of what was skipped and why."""

    events: tuple[PullEvent, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: EventSet) -> EventSet:
        counts = Counter(self.skipped)
        counts.update(other.skipped)
        return EventSet(self.events + other.events, dict(counts))


def parse_go_duration(text: str) -> float | None:
    """Seconds of a Go `time.Duration` string (`6m0.7576396s`, `850ms`, `1h2m`), None if it is not one."""
    pos, total = 0, 0.0
    for m in _GO_PART.finditer(text):
        if m.start() != pos:
            return None
        total += float(m[1]) * _GO_UNITS[m[2]]
        pos = m.end()
    return total if pos == len(text) and pos > 0 else None


def _items(text: str, where: str) -> tuple[list[Any], bool]:
    """The `items` (or `tasks`) list of *text*, salvaging the complete items of a truncated file."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        for key in ("items", "tasks"):
            if isinstance(doc.get(key), list):
                return doc[key], False
        raise UsageError(f"{where}: no `items` or `tasks` list", hint="give `kubectl get events -A -o json` output")
    if isinstance(doc, list):
        return doc, False
    m = re.search(r'"(items|tasks)"\s*:\s*\[', text)
    if m is None:
        raise UsageError(
            f"{where}: not a JSON event list", hint="give `kubectl get events -A -o json` or `aws ecs describe-tasks`"
        )
    decoder = json.JSONDecoder()
    out: list[Any] = []
    pos = m.end()
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return out, pos >= len(text)
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return out, True
        out.append(item)


def _get(item: Mapping[str, Any], *path: str) -> Any:
    value: Any = item
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _kubelet_event(item: Any) -> PullEvent | str:
    if not isinstance(item, Mapping):
        return OTHER_REASON
    reason = item.get("reason")
    message = item.get("message") or item.get("note") or ""
    if reason != "Pulled" or not isinstance(message, str):
        return OTHER_REASON
    if "already present on machine" in message:
        return ALREADY_PRESENT
    m = _PULLED.search(message)
    seconds = parse_go_duration(m["dur"]) if m else None
    if m is None or seconds is None or seconds <= 0:
        return NO_DURATION
    node = _get(item, "source", "host") or item.get("reportingInstance") or _get(item, "deprecatedSource", "host")
    if not isinstance(node, str) or not node:
        return NO_NODE
    at = item.get("lastTimestamp") or item.get("eventTime") or item.get("firstTimestamp")
    at = at or _get(item, "metadata", "creationTimestamp")
    size = int(m["size"]) if m["size"] else None
    return PullEvent(m["ref"], node, seconds, at if isinstance(at, str) else None, size)


def parse_kubectl_events(text: str, where: str = "events") -> EventSet:
    """`kubectl get events -A -o json` (core/v1 or events.k8s.io/v1): the Pulled events with a duration."""
    items, truncated = _items(text, where)
    return _collect((_kubelet_event(item) for item in items), truncated)


def _ecs_task(item: Any) -> PullEvent | str:
    if not isinstance(item, Mapping):
        return OTHER_REASON
    start, stop = _time(item.get("pullStartedAt")), _time(item.get("pullStoppedAt"))
    if start is None or stop is None or stop <= start:
        return ECS_NO_PULL
    containers = [c for c in item.get("containers") or [] if isinstance(c, Mapping)]
    images = {
        str(c.get("image"))
        + ("@" + c["imageDigest"] if "@" not in str(c.get("image")) and c.get("imageDigest") else "")
        for c in containers
        if c.get("image")
    }
    if len(images) != 1:
        return ECS_MANY
    node = item.get("containerInstanceArn") or item.get("taskArn") or ""
    if not node:
        return NO_NODE
    at = datetime.fromtimestamp(start, UTC).isoformat().replace("+00:00", "Z")
    return PullEvent(images.pop(), str(node), stop - start, at, source="ecs")


def _time(value: Any) -> float | None:
    """Epoch seconds of an ECS time: a number (the CLI's default) or an ISO-8601 string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def parse_ecs_tasks(text: str, where: str = "tasks") -> EventSet:
    """`aws ecs describe-tasks` output: one pull per task with a single container image."""
    items, truncated = _items(text, where)
    return _collect((_ecs_task(item) for item in items), truncated)


def _collect(results: Iterable[PullEvent | str], truncated: bool) -> EventSet:
    events: list[PullEvent] = []
    skipped: Counter[str] = Counter()
    for result in results:
        if isinstance(result, PullEvent):
            events.append(result)
        else:
            skipped[result] += 1
    if truncated:
        skipped[TRUNCATED] += 1
    return EventSet(tuple(events), dict(skipped))
