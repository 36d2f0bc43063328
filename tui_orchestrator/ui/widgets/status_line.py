"""The header line: the totals of the plan (and, once a run is connected, of the run)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual.content import Content
from textual.widgets import Static

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.usage_limit import local_clock
from tui_orchestrator.engine.wording import format_cost, format_count, format_seconds, plural
from tui_orchestrator.ui.editable_plan import EditablePlan

if TYPE_CHECKING:
    from tui_orchestrator.ui.app import ClaudeTuiApp

SEP = (" · ", "$text-muted")


def name_parts(editing: EditablePlan, demo: bool) -> list[str | tuple[str, str]]:
    """The line's head: the repository, DEMO, and what a change review reviews. Right
    after the name: on a narrow terminal the line's tail is cut off."""
    parts: list[str | tuple[str, str]] = [(editing.repo_name, "bold $text-primary"), "  "]
    if demo:
        parts += [(" DEMO ", "bold reverse $text-warning"), "  "]
    since = editing.project.since
    if since is not None:
        parts += [(f"changes since {printable(since.ref)}", "bold $text-accent"), "  "]
    return parts


def totals_content(editing: EditablePlan, demo: bool = False) -> Content:
    """One line: repository, chunks, files, tokens, cost, predicted time, what is left out."""
    figures = editing.figures
    plan = editing.plan
    skipped = len(editing.project.discovery.skipped)
    sep = (" · ", "$text-muted")
    parts = name_parts(editing, demo)
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


@dataclass(frozen=True, slots=True)
class Alert:
    """Why the run does not go as it should, in words for a wide and a narrow header."""

    long: str
    short: str
    style: str


def run_alerts(app: ClaudeTuiApp) -> list[Alert]:
    manager = app.manager
    assert manager is not None
    run = manager.run_view()
    pool = run.pool
    alerts = []
    if run.error and not run.active:
        error = printable(run.error)
        alerts.append(Alert(f"run stopped: {error}", f"stopped: {error}", "bold $text-error"))
    if pool.usage is not None:
        now = time.time()
        # The reset the CLI named (the pool waits a few seconds more); else the next probe.
        moment = pool.usage.resets_at if pool.usage.resets_at is not None else pool.usage_until
        left = format_seconds(max(0.0, moment - now))
        if pool.usage.resets_at is not None:
            long = f"{pool.usage.label} · resets {local_clock(moment)} (in {left})"
        else:
            long = f"{pool.usage.label} · reset unknown: next probe in {left}"
        alerts.append(Alert(long, f"usage limit {left}", "bold $text-warning"))
    elif pool.usage_warning:
        alerts.append(Alert(pool.usage_warning, pool.usage_warning, "$text-warning"))
    if run.outage:
        alerts.append(
            Alert("API unreachable: dispatch paused", "API unreachable", "bold $text-error")
        )
    elif pool.backoff_s > 0:
        wait = f"{pool.backoff_s:.0f}s"
        alerts.append(
            Alert(f"rate limited: pool paused {wait}", f"limited {wait}", "bold $text-warning")
        )
    elif pool.limited:
        allowed = f"{pool.concurrency} of {plural(pool.chunk_workers, 'worker')} allowed"
        short = f"limit {pool.concurrency}/{pool.chunk_workers}"
        alerts.append(Alert(f"rate limit: {allowed}", short, "$text-warning"))
    if run.save_fault:
        # The run goes on in memory; the header says why nothing new starts.
        why = "disk full" if run.disk_full else "checkpoint unsaved"
        alerts.append(Alert(f"{why}: no new starts", why, "bold $text-error"))
    if run.budget_reached:
        alerts.append(Alert("budget reached: no new starts", "budget reached", "bold $text-error"))
    return alerts


def run_totals_content(app: ClaudeTuiApp, width: int = 0) -> Content:
    """One line: chunks done/total, issues, cost against budget, ETA, what stops the run,
    running workers.

    Within ``width`` cells (0: any) the line gives way in this order: the alerts take
    their short words, the running workers go, the budget shrinks to ``$0.03/$5.00``, then
    the alerts move behind the ETA; done, issues, cost and ETA stay in sight to the last.
    """
    manager = app.manager
    assert manager is not None
    run = manager.run_view()
    pool = run.pool
    head = name_parts(app.editing, app.demo)
    head += [(f"{run.tally[ChunkStatus.DONE]}/{run.tally.total} done", "bold")]
    if run.tally[ChunkStatus.FAILED]:
        head += [SEP, (f"{run.tally[ChunkStatus.FAILED]} failed", "$text-error")]
    if run.tally[ChunkStatus.PAUSED]:
        head += [SEP, (f"{run.tally[ChunkStatus.PAUSED]} paused", "$text-warning")]

    def money(compact: bool) -> list[str | tuple[str, str]]:
        parts: list[str | tuple[str, str]] = [
            SEP, plural(len(manager.findings()), "issue"), SEP, format_cost(run.spent_usd),
        ]  # fmt: skip
        if run.budget_usd:
            style = "bold $text-error" if run.budget_reached else ""
            budget = format_cost(run.budget_usd)
            parts += [(f"/{budget}" if compact else f" of {budget} budget", style)]
        if run.eta_s is not None:
            parts += [SEP, f"ETA {format_seconds(run.eta_s)}"]
        return parts

    figures, compact = money(False), money(True)
    workers = [SEP, f"{run.running} running · {plural(pool.chunk_workers, 'worker')}"]
    alerts = run_alerts(app)

    def said(short: bool) -> list[str | tuple[str, str]]:
        return [
            part
            for alert in alerts
            for part in (SEP, (alert.short if short else alert.long, alert.style))
        ]

    # What stops the run comes early while there is room for it.
    tries = [
        head + said(False) + figures + workers,
        head + said(True) + figures + workers,
        head + said(True) + figures,
        head + said(True) + compact,
        head + compact + said(True),
    ]
    for parts in tries:
        content = Content.assemble(*parts)
        if not width or content.cell_length <= width:
            return content
    return content


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

    def on_resize(self) -> None:
        # The line fits its words to the width: a new width may want others.
        self._shown = None
        self.show_totals(cast("ClaudeTuiApp", self.app))

    def show_totals(self, app: ClaudeTuiApp) -> None:
        if not app.opened:
            content = opening_content(app)
        elif app.manager is not None and app.run_started:
            content = run_totals_content(app, self.content_region.width)
        else:
            content = totals_content(app.editing, demo=app.demo)
        # (Content's == compares the text alone: a change of style must show too.)
        shown = (content.plain, tuple(content.spans))
        if shown == self._shown:
            return  # called on every flush and tick: most of them change nothing
        self._shown = shown
        # One line of fixed height across the screen: new text never changes the layout.
        self.update(content, layout=False)
