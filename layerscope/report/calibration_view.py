"""`calibrate` output: the `layerscope.calibration/v1` JSON document and a text table (docs/contract.md)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from tabulate import tabulate

from layerscope.calibrate.result import Calibration
from layerscope.units import format_duration, format_size

__all__ = ["SCHEMA", "CalibrationFormat", "calibration_document", "render_calibration"]

SCHEMA = "layerscope.calibration/v1"
_RATES = ("network_throughput", "extraction_throughput")


class CalibrationFormat(StrEnum):
    """`calibrate -o` choices."""

    TABLE = "table"
    JSON = "json"


def calibration_document(cal: Calibration) -> dict[str, Any]:
    """The JSON document; `registry_latency` is in `parameters` always, in `intervals` only when fitted."""
    return {
        "schema": SCHEMA,
        "profile": cal.profile,
        "parameters": {name: _number(name, value) for name, value in cal.parameters.items()},
        "intervals": {name: [_number(name, lo), _number(name, hi)] for name, (lo, hi) in cal.intervals.items()},
        "kept": [
            {"parameter": name, "value": _number(name, cal.parameters[name]), "reason": why}
            for name, why in cal.kept.items()
        ],
        "fit": {
            "mape": _round(cal.mape),
            "median_abs_error_seconds": _round(cal.median_abs_error_seconds),
            "cv_mape": _round(cal.cv_mape),
            "cv_folds": cal.folds,
        },
        "events": {
            "used": cal.used,
            "first": cal.first,
            "last": cal.last,
            "skipped": [{"reason": reason, "count": count} for reason, count in cal.skipped.items()],
        },
        "nodes": cal.nodes_source,
        "observations": [
            {
                "image": o.image,
                "node": o.node,
                "observed_seconds": round(o.observed_seconds, 3),
                "modelled_seconds": round(o.modelled_seconds, 3),
                "pulled_compressed_bytes": o.pulled_compressed_bytes,
                "pulled_extracted_bytes": o.pulled_extracted_bytes,
            }
            for o in cal.observations
        ],
        "warnings": list(cal.warnings),
    }


def _number(name: str, value: float) -> float:
    return round(value) if name in _RATES else round(value, 4)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _show(name: str, value: float) -> str:
    if name in _RATES:
        return f"{format_size(round(value))}/s"
    return f"{value * 1000:.3g} ms" if value < 1 else format_duration(value)


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value * 100:.1f}%"


def _table(cal: Calibration) -> str:
    rows: list[list[Any]] = []
    for name, value in cal.parameters.items():
        if name in cal.intervals:
            lo, hi = cal.intervals[name]
            how = f"fitted, 95% {_show(name, lo)} – {_show(name, hi)}"
        else:
            how = f"kept from the profile: {cal.kept.get(name, '')}"
        rows.append([name, _show(name, value), _show(name, cal.profile_values[name]), how])
    out = [
        f"profile {cal.profile}: {cal.used} usable pull events"
        + (f" of {cal.first} – {cal.last}" if cal.first else ""),
        "",
    ]
    out.append(tabulate(rows, headers=["parameter", "value", "profile had", "how"], tablefmt="simple"))
    mae = "unknown" if cal.median_abs_error_seconds is None else format_duration(cal.median_abs_error_seconds)
    cv = f"{_pct(cal.cv_mape)} ({cal.folds}-fold)" if cal.cv_mape is not None else "not computed (too few events)"
    out += ["", f"fit: MAPE {_pct(cal.mape)}, median absolute error {mae}, cross-validated MAPE {cv}"]
    if cal.skipped:
        out += ["", "skipped events:"]
        out += [f"  {count:>6}  {reason}" for reason, count in cal.skipped.items()]
    per_image: dict[str, list[tuple[float, float]]] = {}
    for o in cal.observations:
        per_image.setdefault(o.image, []).append((o.observed_seconds, o.modelled_seconds))
    if per_image:
        rows = [
            [
                image,
                len(pairs),
                format_duration(sum(p[0] for p in pairs) / len(pairs)),
                format_duration(sum(p[1] for p in pairs) / len(pairs)),
            ]
            for image, pairs in sorted(per_image.items())
        ]
        out += ["", tabulate(rows, headers=["image", "pulls", "observed (mean)", "modelled (mean)"])]
    out += [f"warning: {w}" for w in cal.warnings]
    return "\n".join(out) + "\n"


def render_calibration(cal: Calibration, fmt: CalibrationFormat) -> str:
    """The calibration as *fmt*."""
    if fmt is CalibrationFormat.JSON:
        return json.dumps(calibration_document(cal), indent=2) + "\n"
    return _table(cal)
