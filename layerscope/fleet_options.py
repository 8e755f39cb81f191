"""What a fleet-scale run adds to a plain one (`--attach`, `--use-attached`, `--executor`), as plain data.

Apart from fleet.py so that parsing the options of every `analyze` does not load the executor and attachment code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FleetOptions"]


@dataclass(frozen=True, slots=True)
class FleetOptions:
    """What to add to a run: read attached analyses, attach results, measure on an executor."""

    attach: bool = False
    use_attached: bool = False
    #: `threads`, `dask` (a LocalCluster) or `dask://HOST:PORT`; None: the analyzer's own thread pool.
    executor: str | None = None

    @property
    def any(self) -> bool:
        """True when any option differs from a plain run."""
        return self.attach or self.use_attached or self.executor is not None
