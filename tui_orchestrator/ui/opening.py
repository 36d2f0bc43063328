"""A repository the app opens behind its first frame.

Discovery reads every file's first bytes: on 100,000 files that takes a second or two.
The app draws the plan view at once and runs ``open`` in a thread; the view says how far it
got and fills in when the plan is there (``ClaudeTuiApp._open_in_background``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.discovery import Progress
from tui_orchestrator.engine.open_run import OpenRun
from tui_orchestrator.engine.plan import reconcile
from tui_orchestrator.engine.project import Project, open_project
from tui_orchestrator.ui.editable_plan import EditablePlan


class OpeningStopped(Exception):
    """Raised through ``open`` by its progress callback when the app quits meanwhile."""


@dataclass(slots=True, frozen=True)
class Opening:
    """What to open: shown by name at once, ``open(progress)`` called from a thread.

    ``open`` returns the project and its run (None: the plan editor alone); a
    ``ClaudeTuiError`` from it closes the app and reaches the command line as one line.
    ``abandon`` frees what was taken before the app opened (the repository's lock) when
    the process must end at once, before ``open`` returned (the terminal went away).
    """

    root: Path
    config: Config
    open: Callable[[Progress], tuple[Project, OpenRun | None]]
    demo: bool = False
    abandon: Callable[[], None] = lambda: None


@dataclass(slots=True, frozen=True)
class Opened:
    """What the opening's thread hands to the app: the repository read and indexed."""

    project: Project
    editing: EditablePlan
    run: OpenRun | None


def open_with_run(
    run: OpenRun,
    progress: Progress,
    *,
    plan_file: Path | None = None,
    partition_flags_given: bool = False,
) -> tuple[Project, OpenRun]:
    """Read the repository and open its run (in the opening's thread).

    A resumed run's chunks are the plan on screen (docs/plan-and-checkpoint.md); what the
    plan file says is then the run's question to ask (``OpenRun.plan_change``).
    """
    project = open_project(
        run.root,
        run.config,
        plan_file=plan_file,
        partition_flags_given=partition_flags_given,
        progress=progress,
        since=run.options.since,
    )
    progress("reading the run's checkpoint")
    run.open(project)
    if run.resumed:
        project.plan, _ = reconcile(run.plan(), project.discovery.paths)
        project.plan_source = "the run's checkpoint"
        # The notes of fitting the plan file do not describe what runs: the run's do.
        project.notes = []
    return project, run
