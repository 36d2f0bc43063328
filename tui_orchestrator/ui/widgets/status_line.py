"""The header line: the totals of the plan (and, once a run is connected, of the run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.wording import format_cost, format_count, format_seconds, plural
from tui_orchestrator.ui.editable_plan import EditablePlan

if TYPE_CHECKING:
    from tui_orchestrator.ui.app import ClaudeTuiApp

SEP = (" · ", "$text-muted")


def totals_content(editing: EditablePlan, demo: bool = False) -> Content:
    """One line: repository, chunks, files, tokens, cost, predicted time, what is left out."""
    figures = editing.figures
    plan = editing.plan
    skipped = len(editing.project.discovery.skipped)
    sep = (" · ", "$text-muted")
    parts: list[str | tuple[str, str]] = [(editing.repo_name, "bold $text-primary"), "  "]
    if demo:
        # Right after the name: on a narrow terminal the line's tail is cut off.
        parts += [(" DEMO ", "bold reverse $text-warning"), "  "]
    parts += [
        (plural(len(plan.chunks), "chunk"), "bold"),
        sep,
        plural(figures.files, "file"),
        sep,
        f"~{format_count(figures.tokens)} tokens",
        sep,
        f"~{format_cost(figures.cost_usd)}",
        sep,
        f"~{format_seconds(figures.makespan_s)} on {plural(figures.chunk_workers, 'worker')}",
    ]
    if plan.unassigned:
        parts += [sep, (f"{len(plan.unassigned):,} unassigned", "$text-warning")]
    if plan.excluded:
        parts += [sep, (f"{len(plan.excluded):,} excluded", "$text-muted")]
    if skipped:
        parts += [sep, (f"{skipped:,} skipped", "$text-muted")]
    return Content.assemble(*parts)


def run_totals_content(app: ClaudeTuiApp) -> Content:
    """One line: chunks done/total, issues, cost against budget, ETA, rate limits, workers."""
    manager = app.manager
    assert manager is not None
    run = manager.run_view()
    pool = run.pool
    parts: list[str | tuple[str, str]] = [(app.editing.repo_name, "bold $text-primary"), "  "]
    if app.demo:
        parts += [(" DEMO ", "bold reverse $text-warning"), "  "]
    parts += [(f"{run.tally[ChunkStatus.DONE]}/{run.tally.total} done", "bold")]
    if run.tally[ChunkStatus.FAILED]:
        parts += [SEP, (f"{run.tally[ChunkStatus.FAILED]} failed", "$text-error")]
    if run.tally[ChunkStatus.PAUSED]:
        parts += [SEP, (f"{run.tally[ChunkStatus.PAUSED]} paused", "$text-warning")]
    # What stops the run comes early: on a narrow terminal the line's tail is cut off.
    if run.error and not run.active:
        parts += [SEP, (f"run stopped: {printable(run.error)}", "bold $text-error")]
    if run.outage:
        parts += [SEP, ("API unreachable: dispatch paused", "bold $text-error")]
    elif pool.backoff_s > 0:
        parts += [SEP, (f"rate limited: pool paused {pool.backoff_s:.0f}s", "bold $text-warning")]
    elif pool.limited:
        limit = f"rate limit: {pool.concurrency} of {plural(pool.chunk_workers, 'worker')} allowed"
        parts += [SEP, (limit, "$text-warning")]
    if run.save_fault:
        # The run goes on in memory; the header says why nothing new starts.
        why = "disk full" if run.disk_full else "checkpoint unsaved"
        parts += [SEP, (f"{why}: no new starts", "bold $text-error")]
    if run.budget_reached:
        parts += [SEP, ("budget reached: no new starts", "bold $text-error")]
    issues = len(manager.findings())
    parts += [SEP, plural(issues, "issue"), SEP, format_cost(run.spent_usd)]
    if run.budget_usd:
        style = "bold $text-error" if run.budget_reached else ""
        parts += [(f" of {format_cost(run.budget_usd)} budget", style)]
    if run.eta_s is not None:
        parts += [SEP, f"ETA {format_seconds(run.eta_s)}"]
    parts += [SEP, f"{run.running} running · {plural(pool.chunk_workers, 'worker')}"]
    return Content.assemble(*parts)


def opening_content(app: ClaudeTuiApp) -> Content:
    """While the repository is read: its name and how far the reading got."""
    parts: list[str | tuple[str, str]] = [(app.repo_name, "bold $text-primary"), "  "]
    if app.demo:
        parts += [(" DEMO ", "bold reverse $text-warning"), "  "]
    parts += [("Opening: ", "$text-muted"), (f"{app.opening_step}…", "italic")]
    return Content.assemble(*parts)


class StatusLine(Static):
    """Totals under the tabs; every view shows the same line."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        background: $panel;
    }
    """

    _shown: tuple[str, tuple[object, ...]] | None = None

    def show_totals(self, app: ClaudeTuiApp) -> None:
        if not app.opened:
            content = opening_content(app)
        elif app.manager is not None and app.run_started:
            content = run_totals_content(app)
        else:
            content = totals_content(app.editing, demo=app.demo)
        # (Content's == compares the text alone: a change of style must show too.)
        shown = (content.plain, tuple(content.spans))
        if shown == self._shown:
            return  # called on every flush and tick: most of them change nothing
        self._shown = shown
        # One line of fixed height across the screen: new text never changes the layout.
        self.update(content, layout=False)
