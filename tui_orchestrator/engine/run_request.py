"""What the user asked of `claude-tui run` or the app, once the command line is read.

``cli.py`` builds a :class:`RunRequest` from the options; ``console/run.py`` and
``ui/launch.py`` take it, so nothing below the command line reads ``argparse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui_orchestrator.engine.config import Config
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

    def options(self, *, headless: bool) -> RunOptions:
        """How the open run prepares its checkpoint (headless runs resume paused chunks)."""
        return RunOptions(
            plan_file=self.plan_file,
            checkpoint_path=self.checkpoint_path,
            fresh=self.fresh,
            partition_flags_given=self.partition_flags_given,
            headless=headless,
            apply_plan_file=self.apply_plan_file,
        )
