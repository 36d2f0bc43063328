"""``claude-tui plan``: the plan as a rich table on stdout."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui_orchestrator.engine.discovery import LineCounter
from tui_orchestrator.engine.estimate import (
    VERIFY_FILE_SHARE,
    VERIFY_FILES_PER_SESSION,
    plan_figures,
)
from tui_orchestrator.engine.project import Project
from tui_orchestrator.engine.wording import format_seconds, plural


def print_plan(
    project: Project, show_skipped: bool = False, console: Console | None = None
) -> None:
    # Piped to a file or a pager, the table keeps its columns instead of squeezing to 80.
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    plan = project.plan
    counter = LineCounter(project.root)
    verify = project.config.verify
    figures = plan_figures(plan, project.sizes, project.config.workers, counter.lines, verify)
    table = Table(
        # A folder's name is the user's text, not markup.
        title=Text(f"Plan for {project.root.name} — {project.plan_source}"),
        title_justify="left",
        show_footer=True,
    )
    table.add_column(
        "chunk",
        footer=plural(len(figures.chunks), "chunk"),
        no_wrap=True,
        min_width=min(48, max((len(c.name) for c in plan.chunks), default=5)),
    )
    table.add_column("files", justify="right", no_wrap=True, footer=str(figures.files))
    table.add_column(
        "lines",
        justify="right",
        no_wrap=True,
        footer=str(sum(c.lines or 0 for c in figures.chunks)),
    )
    table.add_column("bytes", justify="right", no_wrap=True, footer=f"{figures.bytes:,}")
    table.add_column("~tokens", justify="right", no_wrap=True, footer=f"{figures.tokens:,}")
    table.add_column("~cost", justify="right", no_wrap=True, footer=f"${figures.cost_usd:.2f}")
    table.add_column("prio", justify="right", no_wrap=True, min_width=4)
    for row in figures.chunks:
        table.add_row(
            row.name,
            str(row.files),
            str(row.lines),
            f"{row.bytes:,}",
            f"{row.tokens:,}",
            f"${row.cost_usd:.2f}",
            str(row.priority) if row.priority else "",
        )
    console.print(table)
    ratio = figures.makespan_s / figures.lower_bound_s if figures.lower_bound_s else 1.0
    console.print(
        f"Predicted wall time with {plural(figures.chunk_workers, 'worker')}: {format_seconds(figures.makespan_s)} "
        f"(lower bound {format_seconds(figures.lower_bound_s)}, ratio {ratio:.2f}; "
        f"sequential {format_seconds(figures.sequential_s)})"
    )
    if figures.verify_cost_usd:
        share = VERIFY_FILE_SHARE[verify]
        console.print(
            f"Verification (--verify {verify}): about ${figures.verify_cost_usd:.2f} more, if "
            f"{share:.0%} of the files hold a finding to verify (fresh sessions of up to "
            f"{VERIFY_FILES_PER_SESSION} files)",
            markup=False,
        )
    skipped = project.discovery.skipped
    left_out = len(skipped) + len(plan.unassigned) + len(plan.excluded)
    console.print(
        f"{len(plan.unassigned)} unassigned (in no chunk, not reviewed), "
        f"{len(plan.excluded)} excluded, {len(skipped)} skipped by discovery"
        + ("" if show_skipped or not left_out else " (--skipped lists them)"),
        markup=False,
    )
    if show_skipped:
        for path in plan.unassigned:
            console.print(f"  unassigned {path}: in no chunk, not reviewed", markup=False)
        for path in plan.excluded:
            console.print(f"  excluded {path}: excluded from the review", markup=False)
        for item in skipped:
            console.print(f"  skipped {item.path}: {item.reason}", markup=False)
