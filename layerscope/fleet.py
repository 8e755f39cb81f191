"""A Session with the fleet-scale extras: attached analyses, and measurements on an executor (Dask).

`FleetSession(session, FleetOptions(...))` adds to one run what `analyze --attach/--use-attached/--executor`
and `scan` need: a registry client for attachments and listings, and the executor plugged into the
session's analyzer. The session keeps owning the source, store, catalog and baked set.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from layerscope.analysis import ResolvedImage
from layerscope.attach import Attachments, measure_with_attachments
from layerscope.baked import apply_baked
from layerscope.executor import Executor, WorkerSettings, make_executor
from layerscope.fleet_options import FleetOptions
from layerscope.measurement import LayerMeasurement
from layerscope.plan.planned import AnalysisRun, PlannedImage
from layerscope.reference import parse_reference

if TYPE_CHECKING:
    from layerscope.registry import RegistryClient
    from layerscope.session import Session

__all__ = ["FleetOptions", "FleetSession"]


class FleetSession:
    """Fleet resources around an open Session; use as a context manager."""

    def __init__(self, session: Session, options: FleetOptions) -> None:
        self.session = session
        self.options = options
        self.attachments: Attachments | None = None
        if options.attach or options.use_attached:
            self.attachments = Attachments(self.client, session.observer)
        self.executor: Executor | None = None
        if options.executor is not None:
            settings = session.settings
            worker_settings = WorkerSettings.of(settings.registry_config(), settings.store_path)
            self.executor = make_executor(
                options.executor,
                worker_settings,
                session.source,
                session.store,
                workers=settings.concurrency or 4,
                pool=session.analyzer.pool,  # one local worker pool per run (issue #13)
            )
            session.analyzer.executor = self.executor

    @property
    def client(self) -> RegistryClient:
        """The session's registry client (the session closes it)."""
        return self.session.source.registry()

    def __enter__(self) -> FleetSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the executor and close the registry client (the session closes the rest)."""
        if self.executor is not None:
            self.session.analyzer.executor = None
            self.executor.close()
            self.executor = None

    def measure(
        self, images: Sequence[ResolvedImage], known: dict[str, LayerMeasurement] | None = None
    ) -> list[PlannedImage]:
        """Measure resolved *images* (with attachments, on the executor) and apply the baked set."""
        results = measure_with_attachments(
            self.session.analyzer,
            images,
            self.attachments,
            use_attached=self.options.use_attached,
            attach=self.options.attach,
            known=known,
        )
        if not self.session.has_baked_set:
            return [PlannedImage(r) for r in results]
        baked = self.session.baked()
        return [apply_baked(r, baked, self.session.catalog, self.session.profile) for r in results]

    def run(self, images: Sequence[PlannedImage]) -> AnalysisRun:
        """The AnalysisRun of *images* with the session's profile and baked set, and their contents (issue #15)."""
        from layerscope.layer_index import with_contents

        session = self.session
        return AnalysisRun(
            images=tuple(with_contents(images, session.store)),
            profile=session.profile.name if session.profile else None,
            baked=session.baked().references if session.has_baked_set else (),
            baked_unresolved=session.baked().unresolved if session.has_baked_set else (),
        )

    def analyze(self, refs: Sequence[str]) -> AnalysisRun:
        """What `Session.analyze` does, with the fleet options applied."""
        platform = self.session.settings.platform
        images = self.session.analyzer.resolve_all([parse_reference(r) for r in refs], platform)
        return self.run(self.measure(images))
