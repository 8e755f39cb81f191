"""Fit the launch model's throughputs to observed pull times: robust least squares on the model's own simulation.

Residuals are relative, (modelled - observed) / observed, so a 30 s pull and a 6 min pull weigh alike and the
noise of real pulls (proportional to their length) is even. Parameters are fitted as logarithms (always positive,
and a factor of 2 is the same step up or down). The solver is `scipy.optimize.least_squares` (trust region
reflective) with a robust loss (`soft_l1` by default, or `huber`): a pull that waited on a busy disk or a retry
counts, but cannot drag the fit. Intervals: 95 % from the Jacobian at the solution (Gauss-Newton covariance,
s² (JᵀJ)⁻¹), mapped back through exp. The error reported is the MAPE and median absolute error of the fitted
model, and a k-fold cross-validated MAPE on events left out of each fit.

Never invent (issue #16): a parameter is fitted only when the data can determine it — at least
`MIN_EVENTS` usable events, the modelled pull times must depend on it, and its fitted interval must be narrower
than `MAX_SPREAD` × either way. Otherwise it keeps the profile's value and `kept` says why.

Pure apart from numpy/scipy, imported inside the functions: without the optional extra, `require_solver` raises a
UsageError naming `pip install 'layerscope[calibrate]'`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from layerscope.errors import UsageError
from layerscope.plan.launch import LaunchParameters, PlanLayer, estimate_launch

__all__ = ["FIELDS", "FitResult", "fit_launch", "require_solver", "with_values"]

#: Parameter name (profile key) → LaunchParameters field.
FIELDS = {
    "network_throughput": "network_bytes_per_second",
    "extraction_throughput": "extraction_bytes_per_second",
    "registry_latency": "registry_latency_seconds",
}
MIN_EVENTS = 5  # fewer usable events fit nothing
MIN_LATENCY_EVENTS = 10  # the latency is the weakest signal: tried only with more events ...
MIN_SENSITIVITY = 0.05  # ... and only if it moves some pull by at least this fraction per e-fold change
MAX_SPREAD = 2.0  # a 95 % interval wider than ÷2 … ×2 means the data cannot determine the value
Z95 = 1.959963984540054
#: Residuals (relative) beyond this count as outliers for the robust loss: real pulls scatter by a few percent.
F_SCALE = 0.05
#: The search stays within this factor of the profile's value either way; a fit that runs to the edge is no fit.
MAX_FACTOR = 1000.0


@dataclass(frozen=True, slots=True)
class FitResult:
    """Fitted values (profile keys, bytes/s or seconds), their 95 % intervals, and the fit's error."""

    parameters: dict[str, float]  # every parameter: fitted, or the profile's value when kept
    intervals: dict[str, tuple[float, float]]  # fitted parameters only
    kept: dict[str, str]  # parameter → why it kept the profile's value
    modelled: tuple[float, ...]  # per sample, with the fitted parameters
    mape: float | None
    median_abs_error_seconds: float | None
    cv_mape: float | None  # None with too few events for k-fold
    folds: int = 0
    loss: str = "soft_l1"
    warnings: tuple[str, ...] = field(default=())


def require_solver() -> Any:
    """`scipy.optimize.least_squares`, or a UsageError with the install hint."""
    try:
        from scipy.optimize import least_squares
    except ImportError:
        raise UsageError(
            "calibrate needs scipy, which is not installed", hint="pip install 'layerscope[calibrate]'"
        ) from None
    return least_squares


def with_values(base: LaunchParameters, values: dict[str, float]) -> LaunchParameters:
    """*base* with the parameters named in *values* (profile keys) replaced."""
    return replace(base, **{FIELDS[name]: value for name, value in values.items()})  # type: ignore[arg-type]


def _values(params: LaunchParameters) -> dict[str, float]:
    return {name: float(getattr(params, attr)) for name, attr in FIELDS.items()}


class _Model:
    """Modelled seconds of every distinct pull for a parameter vector (each simulated once per evaluation)."""

    def __init__(self, pulls: Sequence[Sequence[PlanLayer]], base: LaunchParameters, free: Sequence[str]) -> None:
        self.pulls, self.base, self.free = pulls, base, tuple(free)

    def params(self, x: Sequence[float]) -> LaunchParameters:
        return with_values(self.base, {n: math.exp(v) for n, v in zip(self.free, x, strict=True)})

    def seconds(self, x: Sequence[float]) -> list[float]:
        params = self.params(x)
        return [estimate_launch(pull, params).total_seconds for pull in self.pulls]


def _solve(
    model: _Model, keys: Sequence[int], observed: Sequence[float], loss: str
) -> tuple[list[float], Any, list[float]]:
    """Least squares over the samples *keys*/*observed*; (x, jacobian, residuals)."""
    import numpy as np

    least_squares = require_solver()
    idx = np.asarray(keys, dtype=int)
    obs = np.asarray(observed, dtype=float)

    def residuals(x: Any) -> Any:
        return (np.asarray(model.seconds(list(x)))[idx] - obs) / obs

    x0 = [math.log(getattr(model.base, FIELDS[n])) for n in model.free]
    edge = math.log(MAX_FACTOR)
    bounds = ([v - edge for v in x0], [v + edge for v in x0])
    result = least_squares(
        residuals, x0, bounds=bounds, loss=loss, f_scale=F_SCALE, diff_step=1e-5, x_scale=1.0, max_nfev=200
    )
    return [float(v) for v in result.x], result.jac, [float(r) for r in result.fun]


def _log_sigmas(jac: Any, res: Sequence[float], p: int) -> tuple[list[float], list[float]]:
    """Standard errors of the log parameters (inf where the data carry no information) and the Jacobian's
    column norms (how much the data depend on each).

    The residual scale is robust (1.4826 × median absolute deviation), like the loss: outliers the loss set
    aside do not widen every interval. *jac* is the solver's loss-weighted Jacobian.
    """
    import numpy as np

    j = np.asarray(jac, dtype=float)
    norms = [float(np.linalg.norm(j[:, i])) for i in range(p)]
    n = len(res)
    if n <= p:
        return [math.inf] * p, norms
    r = np.asarray(res, dtype=float)
    scale = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    s2 = max(scale * scale * n / (n - p), 1e-12)
    jtj = j.T @ j
    if not np.all(np.isfinite(jtj)) or np.linalg.matrix_rank(jtj) < p:
        return [math.inf] * p, norms
    cov = np.linalg.pinv(jtj) * s2
    return [math.sqrt(max(float(cov[i, i]), 0.0)) for i in range(p)], norms


def _sensitivity(pulls: Sequence[Sequence[PlanLayer]], base: LaunchParameters, name: str) -> float:
    """Largest relative change of a modelled pull when *name* changes by 1 % (per e-fold, roughly)."""
    if getattr(base, FIELDS[name]) <= 0:
        return 0.0
    before = _Model(pulls, base, [name]).seconds([math.log(getattr(base, FIELDS[name]))])
    after = _Model(pulls, base, [name]).seconds([math.log(getattr(base, FIELDS[name])) + 0.01])
    return max((abs(b - a) / a / 0.01 for a, b in zip(before, after, strict=True) if a > 0), default=0.0)


def fit_launch(
    pulls: Sequence[Sequence[PlanLayer]],
    keys: Sequence[int],
    observed: Sequence[float],
    base: LaunchParameters,
    *,
    folds: int = 5,
    loss: str = "soft_l1",
) -> FitResult:
    """Fit network/extraction throughput (and registry latency when the data can tell) to *observed* seconds.

    *pulls* are the distinct layer sets pulled (cache states applied); sample i pulled `pulls[keys[i]]` and took
    `observed[i]` seconds.
    """
    if loss not in ("soft_l1", "huber"):
        raise UsageError(f"unknown loss {loss!r}", hint="use soft_l1 or huber")
    require_solver()
    n = len(observed)
    values = _values(base)
    kept: dict[str, str] = {}
    if n < MIN_EVENTS:
        kept = {name: f"only {n} usable events (at least {MIN_EVENTS} needed)" for name in FIELDS}
        return _finish(pulls, keys, observed, base, values, {}, kept, folds=0, loss=loss, free=())
    used = sorted({keys[i] for i in range(n)})
    used_pulls = [pulls[k] for k in used]
    free: list[str] = []
    for name in FIELDS:
        sens = _sensitivity(used_pulls, base, name)
        if name == "registry_latency" and n < MIN_LATENCY_EVENTS:
            kept[name] = f"only {n} usable events; the latency is tried from {MIN_LATENCY_EVENTS}"
        elif sens < (MIN_SENSITIVITY if name == "registry_latency" else 1e-3):
            kept[name] = "the recorded pulls do not depend on it enough to tell (no variation)"
        else:
            free.append(name)
    intervals: dict[str, tuple[float, float]] = {}
    while free:
        model = _Model(pulls, base, free)
        x, jac, res = _solve(model, keys, observed, loss)
        sigmas, norms = _log_sigmas(jac, res, len(free))
        if any(math.isinf(sg) for sg in sigmas):
            # Not identifiable together: set aside what the pulls depend on least (the latency first on a tie).
            worst = min(range(len(free)), key=lambda i: (norms[i], free[i] != "registry_latency"))
        else:
            worst = max(range(len(free)), key=lambda i: sigmas[i])
        start = [math.log(getattr(base, FIELDS[name])) for name in free]
        edged = [i for i, (v, v0) in enumerate(zip(x, start, strict=True)) if abs(v - v0) > math.log(MAX_FACTOR) - 1e-3]
        if edged:
            worst = edged[0]
            kept[free[worst]] = f"the fit ran to {MAX_FACTOR:g}x the profile's value: the pulls do not fit the model"
            free.pop(worst)
            continue
        if math.isinf(sigmas[worst]) or math.exp(Z95 * sigmas[worst]) > MAX_SPREAD:
            kept[free[worst]] = "the data cannot determine it (its 95% interval would be wider than ÷2 … ×2)"
            free.pop(worst)
            continue
        for name, v, s in zip(free, x, sigmas, strict=True):
            values[name] = math.exp(v)
            intervals[name] = (math.exp(v - Z95 * s), math.exp(v + Z95 * s))
        break
    fitted = with_values(base, {name: values[name] for name in free})
    return _finish(pulls, keys, observed, fitted, values, intervals, kept, folds=folds, loss=loss, free=free)


def _finish(
    pulls: Sequence[Sequence[PlanLayer]],
    keys: Sequence[int],
    observed: Sequence[float],
    fitted: LaunchParameters,
    values: dict[str, float],
    intervals: dict[str, tuple[float, float]],
    kept: dict[str, str],
    *,
    folds: int,
    loss: str,
    free: Sequence[str],
) -> FitResult:
    per_pull = {k: estimate_launch(pulls[k], fitted).total_seconds for k in set(keys)}
    modelled = tuple(per_pull[k] for k in keys)
    errors = [abs(m - o) for m, o in zip(modelled, observed, strict=True)]
    mape = statistics.fmean(e / o for e, o in zip(errors, observed, strict=True)) if observed else None
    mae = statistics.median(errors) if errors else None
    k = min(folds, len(observed))
    cv = _cross_validate(pulls, keys, observed, fitted, free, k, loss) if free and k >= 2 else None
    return FitResult(values, intervals, kept, modelled, mape, mae, cv, k if cv is not None else 0, loss)


def _cross_validate(
    pulls: Sequence[Sequence[PlanLayer]],
    keys: Sequence[int],
    observed: Sequence[float],
    start: LaunchParameters,
    free: Sequence[str],
    k: int,
    loss: str,
) -> float:
    """k-fold MAPE: each fold's events predicted by a fit on the others (sample i is in fold i mod k)."""
    model = _Model(pulls, start, free)
    errors: list[float] = []
    for fold in range(k):
        train = [i for i in range(len(keys)) if i % k != fold]
        test = [i for i in range(len(keys)) if i % k == fold]
        x, _, _ = _solve(model, [keys[i] for i in train], [observed[i] for i in train], loss)
        params = model.params(x)
        for i in test:
            predicted = estimate_launch(pulls[keys[i]], params).total_seconds
            errors.append(abs(predicted - observed[i]) / observed[i])
    return statistics.fmean(errors)
