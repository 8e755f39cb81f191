"""`layerscope report`: the fleet report over REF... or a workload file, in HTML, Markdown, CSV or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from layerscope.cli.app import StderrObserver, cli, errors, stage_column
from layerscope.cli.commands import build_settings, settings_options
from layerscope.cli.gate import SIZE, enforce_gate
from layerscope.cli.plan import BUDGET_HELP

__all__ = ["FORMATS", "ReportProgress", "report"]

#: `-o` choices (kept literal so the CLI starts without importing the renderers; a test checks them).
FORMATS = ("html", "markdown", "csv", "json")


class ReportProgress(StderrObserver):
    """StderrObserver plus two bars on a terminal: images resolved (n/N) and compressed bytes read in all."""

    def __init__(self, progress: bool, references: Sequence[str]) -> None:
        super().__init__(progress)
        self._wanted = set(references)
        self._seen: set[str] = set()
        self._images: Any = None
        self._bytes: Any = None
        self._bytes_total = 0
        if self._progress is not None:
            self._progress = _progress_bar()
            self._images = self._progress.add_task("images", total=len(self._wanted) or None, counter=True)
            self._bytes = self._progress.add_task("all layers", total=0)

    def image_started(self, reference: str) -> None:
        """Count an image of the report (baked-set images resolve through here too; they are not counted)."""
        if self._images is not None and reference in self._wanted:
            with self._lock:
                if reference in self._seen:
                    return
                self._seen.add(reference)
            self._progress.advance(self._images, 1)

    def layer_started(self, digest: str, size: int) -> None:
        """Add the layer's bar and grow the total."""
        super().layer_started(digest, size)
        if self._bytes is not None:
            with self._lock:
                self._bytes_total += size
                self._progress.update(self._bytes, total=self._bytes_total)

    def layer_progress(self, digest: str, nbytes: int) -> None:
        """Advance the layer's bar and the total."""
        super().layer_progress(digest, nbytes)
        if self._bytes is not None:
            self._progress.advance(self._bytes, nbytes)


def _progress_bar() -> Any:
    """A rich Progress like StderrObserver's, whose byte columns show `n/N` on the images counter instead."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, ProgressColumn, Task, TextColumn, TransferSpeedColumn
    from rich.text import Text

    class CounterOr(ProgressColumn):
        """*inner* on byte tasks; on the images counter (field `counter`) the count, or nothing."""

        def __init__(self, inner: ProgressColumn, show_count: bool) -> None:
            super().__init__()
            self.inner = inner
            self.show_count = show_count

        def render(self, task: Task) -> Any:
            if task.fields.get("counter"):
                return Text(f"{int(task.completed)}/{int(task.total or 0)}" if self.show_count else "")
            return self.inner.render(task)

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        CounterOr(DownloadColumn(), show_count=True),
        CounterOr(TransferSpeedColumn(), show_count=False),
        stage_column(),
        console=Console(stderr=True),
        transient=True,
    )


@cli.command()
@click.argument("refs", nargs=-1, metavar="REF...")
@click.option(
    "--workload",
    "workload_path",
    type=click.Path(dir_okay=False),
    help="Workload file (YAML/JSON: images, launches per day) or `kubectl get pods -o json` output, instead of REF...",
)
@settings_options
@click.option(
    "-o",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Output format (default: from --output's suffix .html/.md/.csv/.json, else markdown).",
)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
@click.option(
    "--max-pull",
    "max_pull",
    type=SIZE,
    metavar="SIZE",
    help="Exit 6 when an image pulls more than SIZE beyond the baked set (the report is written first).",
)
# The name before #18 item 11 (one name for the gate everywhere): still accepted, no longer shown.
@click.option("--fail-over", "fail_over", type=SIZE, metavar="SIZE", hidden=True)
@click.option("--budget", type=SIZE, metavar="SIZE", help=BUDGET_HELP)
@click.option(
    "--events",
    "events",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="`kubectl get events -A -o json`: show recorded pull seconds beside the modelled launch (repeatable).",
)
@click.option(
    "--top", "top_shared", type=click.IntRange(0, 1000), default=10, show_default=True, help="Shared layers listed."
)
def report(
    refs: Sequence[str],
    workload_path: str | None,
    fmt: str | None,
    output: str | None,
    max_pull: int | None,
    fail_over: int | None,
    budget: int | None,
    top_shared: int,
    events: Sequence[str],
    **options: Any,
) -> None:
    """Fleet report over REF... (or --workload FILE): sizes, dedup, node disk, launch times, what to bake."""
    with errors():
        from layerscope.errors import UsageError
        from layerscope.gate import check_pull_gate
        from layerscope.layer_index import with_contents
        from layerscope.output import write_output
        from layerscope.plan.launch import LaunchParameters
        from layerscope.plan.profile_files import load_profile
        from layerscope.plan.workload import load_workload
        from layerscope.reference import parse_reference
        from layerscope.report.fleet import ReportFormat, format_for_path, render_report
        from layerscope.report.model import DEFAULT_LAUNCH_PROFILE, build_report
        from layerscope.session import Session

        if max_pull is not None and fail_over is not None:
            raise UsageError("--max-pull and --fail-over are the same option", hint="give --max-pull only")
        if bool(refs) == bool(workload_path):
            raise UsageError(
                "give image references or --workload FILE" + (", not both" if refs else ""),
                hint="layerscope report REF... -o html, or layerscope report --workload fleet.yaml -o html",
            )
        warnings: list[str] = []
        weights: dict[str, float] = {}
        if workload_path:
            workload = load_workload(workload_path)
            if not workload.images:
                raise UsageError(f"{workload_path} lists no images")
            refs = workload.references
            weights = {str(parse_reference(w.reference)): w.weight for w in workload.images}
            warnings.extend(workload.warnings)
        wanted = [str(parse_reference(r)) for r in refs]
        progress = not options["no_progress"]
        settings = build_settings(options)
        with ReportProgress(progress, wanted) as observer, Session(settings, observer) as session:
            # With each image's contents (issue #15), from the store's cache on a warm run.
            images = with_contents(session.images(refs), session.store)
            baked = session.baked() if session.has_baked_set else None
            profile = session.profile
            node_groups = session.node_groups(images)  # --nodes on several revisions: each group's pull (#14)
            node = session.node_of_run()
        # Warnings printed during the run (an unresolved baked image) belong in the report too, and each
        # image's own warnings (in the report per image) go to stderr as well (#18 item 1).
        warnings.extend(w for w in observer.recorded if w not in warnings)
        observer.image_warnings(images)
        launch_profile = profile or load_profile(DEFAULT_LAUNCH_PROFILE)
        if profile is None:
            warnings.append(
                f"no --profile: launch times use the network and disk figures of the shipped profile "
                f"{DEFAULT_LAUNCH_PROFILE}, and there is no bake recommendation"
            )
        limit = max_pull if max_pull is not None else fail_over
        gate = check_pull_gate(images, limit) if limit is not None else None
        model = build_report(
            images,
            profile=profile,
            launch=LaunchParameters.from_profile(launch_profile),
            launch_profile=launch_profile.name,
            weights={image.reference: weights.get(str(parse_reference(image.reference)), 1.0) for image in images},
            baked=baked.references if baked is not None else (),
            baked_unresolved=baked.unresolved if baked is not None else (),
            prebaked_chains=baked.chain_ids if baked is not None else (),
            budget_bytes=budget,
            top_shared=top_shared,
            gate=gate,
            warnings=warnings,
            node=node,
            node_groups=node_groups,
        )
        if events:
            model = _with_events(model, events)
        chosen = ReportFormat(fmt) if fmt else format_for_path(output)
        write_output(render_report(model, chosen), output)
        # Written first so a pipeline can archive the report of a failed gate.
        enforce_gate(gate)


def _with_events(model: Any, paths: Sequence[str]) -> Any:
    """The report with the recorded pull seconds of its images (matched by normalised reference)."""
    from layerscope.cli.calibrate import load_events
    from layerscope.errors import UsageError
    from layerscope.reference import parse_reference
    from layerscope.report.model import with_observed

    def key(ref: str) -> str | None:
        try:
            return str(parse_reference(ref))
        except UsageError:
            return None

    by_ref: dict[str, list[float]] = {}
    for event in load_events(paths, ()).events:
        k = key(event.image)
        if k is not None:
            by_ref.setdefault(k, []).append(event.seconds)
    wanted = {image.reference: key(image.reference) for image in model.images}
    return with_observed(model, {ref: by_ref.get(k, []) for ref, k in wanted.items() if k is not None})
