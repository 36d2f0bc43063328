"""What the user asked of `claude-tui run` or the app, once the command line is read.

``cli.py`` builds a :class:`RunRequest` from the options; ``console/run.py`` and
``ui/launch.py`` take it, so nothing below the command line reads ``argparse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui_orchestrator.engine.baseline import Baseline, load_baseline
from tui_orchestrator.engine.changes import Changes, changes_since
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.discovery import resolve_repo
from tui_orchestrator.engine.fingerprint import repo_id
from tui_orchestrator.engine.open_run import RunOptions


@dataclass(frozen=True, slots=True)
class RunRequest:
    repo: Path
    config: Config
    demo: bool = False  # simulated agents (the DEMO backend)
    plan_file: Path | None = None  # --plan
    checkpoint_path: Path | None = None  # --checkpoint
    fresh: bool = False
    apply_plan_file: bool = False  # --apply-plan
    # --strategy or --max-files-per-chunk was given: a saved plan.toml is not used.
    partition_flags_given: bool = False
    report: str | None = None  # --report: a path, "-" for stdout, None for the default
    report_format: str | None = None  # --format; None: from the report's extension
    fail_on: str | None = None  # --fail-on SEVERITY (claude-tui run only)
    baseline: Path | None = None  # --baseline REPORT.json (an earlier report)
    since: str | None = None  # --since REF: a change review (changes.py)
    diff_only: bool = False  # --diff-only: reports and --fail-on keep findings in the diff

    def changes(self) -> Changes | None:
        """What changed since ``--since`` (one line, exit 2, for a bad ref or no checkout)."""
        return None if self.since is None else changes_since(resolve_repo(self.repo), self.since)

    def load_baseline(self) -> Baseline | None:
        """The earlier report of ``--baseline``, checked to be this repository's (exit 2)."""
        if self.baseline is None:
            return None
        return load_baseline(self.baseline, repo_id(resolve_repo(self.repo)))

    def options(
        self, *, headless: bool, since: Changes | None = None, baseline: Baseline | None = None
    ) -> RunOptions:
        """How the open run prepares its checkpoint (headless runs resume paused chunks),
        with the change (``since``) and the ``baseline``, read already."""
        return RunOptions(
            since=since,
            baseline=baseline,
            diff_only=self.diff_only,
            plan_file=self.plan_file,
            checkpoint_path=self.checkpoint_path,
            fresh=self.fresh,
            partition_flags_given=self.partition_flags_given,
            headless=headless,
            apply_plan_file=self.apply_plan_file,
        )
