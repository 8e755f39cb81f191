"""Workloads: which images a fleet launches, and how often — from a workload file or `kubectl get pods -o json`.

A workload file (YAML or JSON, DESIGN.md "Workload and recommendation")::

    images:
      - ref: 123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/web:2.4
        weight: 40            # launches per day; default 1 (`launches_per_day` or `replicas` say the same)
      - mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2019   # a bare reference: weight 1

A top-level list of such entries works too. The same reference listed twice counts once with the weights added.

`kubectl get pods -A -o json` output (a `List`/`PodList` of pods, or one `Pod`) is read as a workload of its
Windows pods: each image of a pod's `containers` and `initContainers` counts once per pod, and an image's weight is
the number of pods using it (a pod stands for one launch). A pod is a Windows pod when any of these holds:

- `spec.os.name` is `windows` (the PodOS field, GA in Kubernetes 1.25);
- `spec.nodeSelector` has `kubernetes.io/os: windows` (or the older `beta.kubernetes.io/os`), or selects a
  `node.kubernetes.io/windows-build` (the label EKS scheduling guidance uses, aws-nodes.md §5);
- its required node affinity restricts every term to those labels (`kubernetes.io/os In [windows]`, …);
- it tolerates the `os=windows` taint that EKS guidance puts on Windows nodes (key `os` or `kubernetes.io/os`).

A pod that selects or declares another OS is never counted. Pure apart from reading the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from layerscope.errors import InvalidReference, UsageError
from layerscope.reference import parse_reference

__all__ = [
    "Workload",
    "WorkloadImage",
    "is_windows_pod",
    "load_workload",
    "workload_from_document",
    "workload_from_pods",
]

_ENTRY_KEYS = ("ref", "reference", "image")
_WEIGHT_KEYS = ("weight", "launches_per_day", "replicas")
_TOP_KEYS = ("images", "name", "description")
_OS_LABELS = ("kubernetes.io/os", "beta.kubernetes.io/os")
_BUILD_LABEL = "node.kubernetes.io/windows-build"
_TAINT_KEYS = ("os", "kubernetes.io/os")
_HINT = "write 'images:' followed by '- ref: REGISTRY/REPO:TAG' entries with an optional 'weight: N' (launches per day)"


@dataclass(frozen=True, slots=True)
class WorkloadImage:
    """One image of a workload and how many launches per day it has (or pods, from kubectl)."""

    reference: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Workload:
    """The images a fleet launches; `warnings` says what a loader skipped."""

    images: tuple[WorkloadImage, ...]
    source: str = ""
    kind: str = "workload"  # "workload" (a workload file) or "kubectl" (pods)
    warnings: tuple[str, ...] = ()

    @property
    def references(self) -> list[str]:
        """The references, in file order."""
        return [image.reference for image in self.images]


def _check_ref(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: the image reference must be a non-empty string", hint=_HINT)
    try:
        parse_reference(value.strip())
    except InvalidReference as exc:
        raise UsageError(f"{where}: {exc.message}", hint=exc.hint) from None
    return value.strip()


def _weight(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise UsageError(f"{where}: weight must be a number of launches per day, 0 or more (got {value!r})")
    return float(value)


def _merge(entries: list[tuple[str, float]]) -> tuple[WorkloadImage, ...]:
    """One image per normalised reference (first spelling kept), weights added."""
    order: dict[str, tuple[str, float]] = {}
    for ref, weight in entries:
        key = str(parse_reference(ref))
        first, total = order.get(key, (ref, 0.0))
        order[key] = (first, total + weight)
    return tuple(WorkloadImage(ref, weight) for ref, weight in order.values())


def _entry(item: Any, where: str) -> tuple[str, float]:
    if isinstance(item, str):
        return _check_ref(item, where), 1.0
    if not isinstance(item, dict):
        raise UsageError(f"{where} must be a reference or a mapping with 'ref'", hint=_HINT)
    unknown = sorted(set(item) - set(_ENTRY_KEYS) - set(_WEIGHT_KEYS))
    if unknown:
        raise UsageError(f"{where}: unknown keys {', '.join(map(str, unknown))}", hint=_HINT)
    refs = [k for k in _ENTRY_KEYS if k in item]
    weights = [k for k in _WEIGHT_KEYS if k in item]
    if len(refs) != 1:
        raise UsageError(f"{where} needs exactly one of {', '.join(_ENTRY_KEYS)}", hint=_HINT)
    if len(weights) > 1:
        raise UsageError(f"{where}: give only one of {', '.join(_WEIGHT_KEYS)}")
    weight = _weight(item[weights[0]], where) if weights else 1.0
    return _check_ref(item[refs[0]], where), weight


def workload_from_document(doc: Any, where: str = "workload") -> Workload:
    """A workload from a parsed workload document (`{images: [...]}` or a list of entries)."""
    if isinstance(doc, dict):
        unknown = sorted(set(doc) - set(_TOP_KEYS))
        if unknown:
            raise UsageError(f"{where}: unknown keys {', '.join(map(str, unknown))}", hint=_HINT)
        doc = doc.get("images")
    if not isinstance(doc, list) or not doc:
        raise UsageError(f"{where}: expected a non-empty list of images", hint=_HINT)
    entries = [_entry(item, f"{where}: images[{i}]") for i, item in enumerate(doc)]
    return Workload(images=_merge(entries), source=where)


def _os_terms_windows(terms: Any) -> bool:
    """True when every required node-affinity term pins the node to Windows."""
    if not isinstance(terms, list) or not terms:
        return False
    for term in terms:
        exprs = term.get("matchExpressions") if isinstance(term, dict) else None
        if not isinstance(exprs, list):
            return False
        pins = False
        for expr in exprs:
            if not isinstance(expr, dict) or expr.get("operator") != "In":
                continue
            key, values = expr.get("key"), expr.get("values")
            pins = pins or (key in _OS_LABELS and values == ["windows"]) or (key == _BUILD_LABEL and bool(values))
        if not pins:
            return False
    return True


def is_windows_pod(pod: Mapping[str, Any]) -> bool:
    """True when the pod can only run on a Windows node, by the rules in the module docstring."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return False
    os_field, selector = spec.get("os"), spec.get("nodeSelector")
    declared = os_field.get("name") if isinstance(os_field, dict) else None
    if not isinstance(selector, dict):
        selector = {}
    selected = {selector.get(label) for label in _OS_LABELS} - {None}
    if (declared is not None and declared != "windows") or selected - {"windows"}:
        return False  # an explicit other OS wins over a toleration
    if declared == "windows" or selected or _BUILD_LABEL in selector:
        return True
    affinity = spec.get("affinity")
    node = affinity.get("nodeAffinity") if isinstance(affinity, dict) else None
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution") if isinstance(node, dict) else None
    if isinstance(required, dict) and _os_terms_windows(required.get("nodeSelectorTerms")):
        return True
    tolerations = spec.get("tolerations")
    if isinstance(tolerations, list):
        for tol in tolerations:
            if (
                isinstance(tol, dict)
                and tol.get("key") in _TAINT_KEYS
                and tol.get("value") == "windows"
                and tol.get("operator", "Equal") == "Equal"
            ):
                return True
    return False


def _pod_name(pod: Mapping[str, Any], index: int) -> str:
    meta = pod.get("metadata")
    name, namespace = (meta.get("name"), meta.get("namespace")) if isinstance(meta, dict) else (None, None)
    if isinstance(name, str):
        return f"pod {namespace}/{name}" if isinstance(namespace, str) else f"pod {name}"
    return f"items[{index}]"


def workload_from_pods(doc: Any, where: str = "pods") -> Workload:
    """A workload of the Windows pods in `kubectl get pods -o json` output (rules in the module docstring)."""
    if isinstance(doc, dict) and doc.get("kind") == "Pod":
        pods: Any = [doc]
    elif isinstance(doc, dict) and isinstance(doc.get("items"), list):
        pods = doc["items"]
    else:
        raise UsageError(
            f"{where} is not kubectl pod output",
            hint="produce it with 'kubectl get pods -A -o json', or write a workload file with 'images:'",
        )
    entries: list[tuple[str, float]] = []
    windows = others = 0
    for index, pod in enumerate(pods):
        if not isinstance(pod, dict) or pod.get("kind", "Pod") != "Pod":
            continue
        if not is_windows_pod(pod):
            others += 1
            continue
        windows += 1
        spec = pod["spec"]
        refs: list[str] = []
        for field in ("initContainers", "containers"):
            containers = spec.get(field) or []
            if not isinstance(containers, list):
                raise UsageError(f"{where}: {_pod_name(pod, index)}: spec.{field} must be a list")
            for c in containers:
                image = c.get("image") if isinstance(c, dict) else None
                if image is None:
                    continue  # the API server rejects such pods; nothing to count
                ref = _check_ref(image, f"{where}: {_pod_name(pod, index)}")
                if ref not in refs:
                    refs.append(ref)
        entries.extend((ref, 1.0) for ref in refs)
    if not entries:
        raise UsageError(
            f"{where}: no Windows pods with images among {windows + others} pods",
            hint="Windows pods are recognised by spec.os.name, nodeSelector kubernetes.io/os=windows, "
            "node affinity or an os=windows toleration",
        )
    warnings = (f"skipped {others} pod(s) not bound to Windows nodes",) if others else ()
    return Workload(images=_merge(entries), source=where, kind="kubectl", warnings=warnings)


def _parse(text: str, where: str, as_json: bool) -> Any:
    if as_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{where} is not valid YAML: {str(exc).splitlines()[0]}", hint=_HINT) from None


def load_workload(path: str | Path) -> Workload:
    """A workload file (YAML or JSON), or `kubectl get pods -o json` output, from *path*."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read workload file {p}: {getattr(exc, 'strerror', None) or exc}") from None
    where = str(p)
    # JSON is read as JSON for its sharper error messages; YAML also reads JSON-looking text of a .yaml file.
    doc = _parse(text, where, as_json=p.suffix.lower() == ".json")
    if isinstance(doc, dict) and ("kind" in doc or "apiVersion" in doc):
        return workload_from_pods(doc, where)
    return workload_from_document(doc, where)
