"""The plan being edited in the app: its history, figures, tags and line counts.

Plain Python (no Textual), so it can be tested and timed on its own; the app owns one and
announces every change to the views. Plan logic itself stays in the engine: this only
calls ``edits`` through ``PlanHistory`` and ``estimate.plan_figures``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from tui_orchestrator.engine.discovery import LineCounter
from tui_orchestrator.engine.edits import PlanHistory
from tui_orchestrator.engine.estimate import PlanFigures, plan_figures
from tui_orchestrator.engine.partition import Limits
from tui_orchestrator.engine.plan import Plan
from tui_orchestrator.engine.project import Project, limits_of
from tui_orchestrator.engine.text import printable
from tui_orchestrator.ui.tree_model import PlanTags, RepoIndex


class EditablePlan:
    """One project's plan under edit, with everything the plan view shows about it."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.history = PlanHistory(project.plan)
        self.sizes: dict[str, int] = project.sizes
        self.chunk_workers = project.config.workers
        self.limits: Limits = limits_of(project.config)
        self.index = RepoIndex(project.discovery)
        self._lines = LineCounter(project.root)
        self._lines_ready = threading.Event()
        self._figures: tuple[Plan, bool, PlanFigures] | None = None
        self._tags: PlanTags | None = None

    @property
    def plan(self) -> Plan:
        return self.history.plan

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def repo_name(self) -> str:
        # Shown in titles and the tree: a folder's name can hold any character.
        return printable(self.project.root.name)

    @property
    def plan_path(self) -> Path:
        return self.project.plan_path

    @property
    def plan_source(self) -> str:
        """Where the plan came from, with paths inside the repository shown relative."""
        return self.relative(self.project.plan_source)

    def relative(self, text: str) -> str:
        """``text`` with the repository's absolute path left out (for messages on screen)."""
        return text.replace(f"{self.project.root}/", "").replace(str(self.project.root), ".")

    @property
    def lines_ready(self) -> bool:
        return self._lines_ready.is_set()

    def count_lines(self, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Count the lines of every file (reads them all: call it from a thread).

        Returns False when ``cancelled`` said stop before the end.
        """
        counter = self._lines
        for source in self.project.discovery.files:
            if cancelled():
                return False
            counter.lines(source.path)
        self._lines_ready.set()
        # Sum them for the current plan here too, so the event loop only takes the result.
        self.figures  # noqa: B018
        return True

    @property
    def figures(self) -> PlanFigures:
        """Figures of the current plan (lines once counted), remembered until it changes."""
        plan, ready = self.plan, self.lines_ready
        cached = self._figures
        if cached is None or cached[0] is not plan or cached[1] != ready:
            counter = self._lines.lines if ready else None
            figures = plan_figures(plan, self.sizes, self.chunk_workers, counter)
            self._figures = cached = (plan, ready, figures)
        return cached[2]

    @property
    def tags(self) -> PlanTags:
        if self._tags is None or self._tags.plan is not self.plan:
            self._tags = PlanTags(self.index, self.plan)
        return self._tags

    def apply(self, edit: Callable[[Plan], Plan], label: str = "") -> bool:
        """Run an edit through the history; True when the plan changed (PlanError propagates).

        ``label``: what the user was told, for "Undone: …" later."""
        before = self.plan
        return self.history.apply(edit, label) is not before

    def undo(self) -> bool:
        return self.history.undo()

    def redo(self) -> bool:
        return self.history.redo()
