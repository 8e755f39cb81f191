"""What `calibrate` found: fitted parameters, the fit's error, the events used and skipped, per-pull detail."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Calibration", "Observation"]


@dataclass(frozen=True, slots=True)
class Observation:
    """One usable pull: observed against modelled seconds, and what the node had to pull given its cache."""

    image: str
    node: str
    observed_seconds: float
    modelled_seconds: float
    pulled_compressed_bytes: int
    pulled_extracted_bytes: int | None  # None: some pulled layer's extracted size is unknown (estimated)
    at: str | None = None


@dataclass(frozen=True, slots=True)
class Calibration:
    """The JSON `layerscope.calibration/v1` document as data (report/calibration_view.py renders it)."""

    profile: str
    parameters: dict[str, float]  # network_throughput, extraction_throughput (bytes/s), registry_latency (s)
    profile_values: dict[str, float]  # the same keys, as the profile had them
    intervals: dict[str, tuple[float, float]]  # fitted parameters only
    kept: dict[str, str]  # parameter → why the profile's value was kept
    mape: float | None
    median_abs_error_seconds: float | None
    cv_mape: float | None
    folds: int
    used: int
    skipped: dict[str, int]
    observations: tuple[Observation, ...]
    first: str | None = None  # date of the earliest used event (YYYY-MM-DD)
    last: str | None = None
    nodes_source: str = "profile"  # where each node's cache came from: "profile" (its baked set) or "nodes"
    warnings: tuple[str, ...] = field(default=())

    @property
    def fitted(self) -> tuple[str, ...]:
        """The parameters the data determined."""
        return tuple(self.intervals)

    def source_text(self) -> str:
        """Where the fitted values come from, for the written profile's `sources:`."""
        span = f" of {self.first}–{self.last}" if self.first and self.last else ""
        mape = f", MAPE {self.mape * 100:.1f}%" if self.mape is not None else ""
        return f"calibrated from {self.used} Pulled events{span}{mape}"
