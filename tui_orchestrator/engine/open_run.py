"""A repository opened for running: the lock, the checkpoint, the runner and the manager.

The headless command and the app both go through this, so "open a run" means one thing:
take the repository's lock (a second claude-tui refuses: docs/contracts.md §2), load or create the
checkpoint (``run_setup.prepare_run``), and build the manager that runs it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui_orchestrator.engine.baseline import Baseline
from tui_orchestrator.engine.changes import Changes
from tui_orchestrator.engine.config import Config, user_config_path
from tui_orchestrator.engine.discovery import resolve_repo
from tui_orchestrator.engine.events import Event
from tui_orchestrator.engine.lock import RepoLock
from tui_orchestrator.engine.manager import Manager
from tui_orchestrator.engine.plan import Plan
from tui_orchestrator.engine.plan_diff import PlanChange
from tui_orchestrator.engine.project import Project
from tui_orchestrator.engine.rate_memory import RateMemory, Recalled, api_identity
from tui_orchestrator.engine.run_setup import RunSetup, apply_plan, plan_of, prepare_run
from tui_orchestrator.engine.runner import Runner
from tui_orchestrator.engine.statedir import logs_dir, remove_if_unused, since_logs_dir, state_dir
from tui_orchestrator.engine.suppressions import load_suppressions


@dataclass(slots=True, frozen=True)
class RunOptions:
    plan_file: Path | None = None
    checkpoint_path: Path | None = None
    fresh: bool = False
    partition_flags_given: bool = False
    # Headless runs resume paused, failed and cancelled chunks; the app leaves them be.
    headless: bool = True
    # Follow a plan file that differs from the checkpoint (--apply-plan); without it a
    # headless run refuses, and the app asks.
    apply_plan_file: bool = False
    # A change review (--since REF): the files and lines changed (changes.py).
    since: Changes | None = None
    # An earlier report the findings are compared with (--baseline), read and checked.
    baseline: Baseline | None = None
    # Reports keep only a change review's findings on changed lines (--diff-only).
    diff_only: bool = False


class OpenRun:
    """``with OpenRun(...) as run:`` holds the lock; ``run.manager`` runs the chunks."""

    def __init__(
        self,
        repo: Path,
        config: Config,
        runner: Runner,
        options: RunOptions | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.root = resolve_repo(repo)
        self.config = config
        self.runner = runner
        self.options = options or RunOptions()
        self.on_event = on_event
        self.lock = RepoLock(state_dir(self.root))
        # Taking the lock created .claude-tui/: if nothing is saved there, close takes it away.
        self._created_state_dir = False
        self.setup: RunSetup | None = None
        self.manager: Manager | None = None

    def open(self, project: Project | None = None) -> Manager:
        """Take the lock, load or create the checkpoint, build the manager.

        ``project``: the repository as already opened with the same settings (the app's),
        so it is not walked twice. The lock may be taken already (the app takes it before
        its screen opens, then opens the run behind the first frame).
        """
        if not self.lock.held:
            self.take_lock()
        try:
            # A remote executor may need the repository made ready first (--context repo:
            # its archive, once a run; ConfigError outside a git checkout).
            note = self.runner.prepare(self.root)
            # The team's suppressions: a file that cannot be read stops here, before
            # anything is written.
            suppressed = load_suppressions(self.root)
            options = self.options
            self.setup = prepare_run(
                self.root,
                self.config,
                backend=self.runner.backend,
                plan_file=options.plan_file,
                checkpoint_path=options.checkpoint_path,
                fresh=options.fresh,
                partition_flags_given=options.partition_flags_given,
                headless=options.headless,
                apply_plan_file=options.apply_plan_file,
                project=project,
                since=options.since,
            )
        except BaseException:
            self.close()
            raise
        if note:
            self.setup.notes.insert(0, note)
        # The request rate an earlier run learned of this API paces the first starts, or
        # the workers it started without a limit go at once (the demo's simulated limits
        # are no API's: it neither reads nor keeps either).
        memory, recalled = None, Recalled(None)
        if self.runner.backend != "demo":
            identity = api_identity(os.environ, self.config.model)
            memory = RateMemory(user_config_path().parent, identity)
            recalled = memory.recall(time.time())
        if recalled.note:
            self.setup.notes.append(recalled.note)
        self.manager = Manager(
            root=self.setup.root,
            checkpoint=self.setup.checkpoint,
            store=self.setup.store,
            runner=self.runner,
            config=self.config,
            instructions=self.setup.instructions,
            sizes=self.setup.sizes,
            on_event=self.on_event,
            logs_dir=(logs_dir if options.since is None else since_logs_dir)(self.setup.root),
            patient=not self.options.headless,
            suppressions=suppressed,
            baseline=self.options.baseline,
            diff_only=self.options.diff_only,
            rate_memory=memory,
            known_rate=recalled.rate,
            free_starts=recalled.free_workers,
        )
        return self.manager

    @property
    def notes(self) -> list[str]:
        return [] if self.setup is None else self.setup.notes

    @property
    def resumed(self) -> bool:
        """Did a checkpoint exist (so its chunks, not a fresh plan, are the run)?"""
        return self.setup is not None and self.setup.resumed

    def plan(self) -> Plan:
        """The run's chunks as a plan, for the plan view."""
        assert self.manager is not None
        return plan_of(self.manager.checkpoint)

    @property
    def plan_change(self) -> PlanChange | None:
        """A plan file that differs from the resumed checkpoint, not applied yet."""
        return None if self.setup is None else self.setup.plan_change

    def apply_plan(self, plan: Plan) -> list[str]:
        """Make the run follow an edited plan (only while no chunk runs)."""
        assert self.manager is not None
        if self.manager.running:
            raise RuntimeError("the plan cannot change while chunks run")
        notes = apply_plan(self.manager.checkpoint, plan)
        self.manager.sync_chunks()
        return notes

    def apply_plan_change(self) -> list[str]:
        """Follow the plan file the user chose over the checkpoint's plan (the app's "apply")."""
        assert self.setup is not None
        change = self.setup.plan_change
        if change is None:
            return []
        notes = self.apply_plan(change.target)
        self.setup.plan_change = None
        return [f"applied {change.source}: {change.diff.summary()}", *notes]

    def keep_run_plan(self) -> None:
        """The user keeps the checkpoint's plan; the plan file is left as it is."""
        if self.setup is not None:
            self.setup.plan_change = None

    def take_lock(self) -> None:
        """The repository's lock alone (LockError when another claude-tui holds it)."""
        created = not self.lock.path.parent.exists()
        self.lock.acquire()
        self._created_state_dir = created

    def close(self) -> None:
        """Free the lock; a start that saved nothing (nothing to review, say) leaves no
        ``.claude-tui/`` behind."""
        self.lock.release()
        if self._created_state_dir:
            remove_if_unused(self.lock.path.parent)

    def __enter__(self) -> OpenRun:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
