"""``claude-tui REPO``: open the repository's plan and run in the app."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tui_orchestrator.engine.open_run import OpenRun
from tui_orchestrator.engine.run_request import RunRequest
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.wording import plural


def run_app(request: RunRequest) -> int:
    """Take the repository's lock, open the app at once, read the repository behind it.

    Claude Code missing (without --demo) or another claude-tui on the repository: one line
    and exit 2, before the screen opens. Discovery and the plan come after the first frame
    (a second or two on 100,000 files); bad input found then (a plan or checkpoint that
    cannot be read, nothing to review) closes the app with the same one line and exit 2.
    """
    from tui_orchestrator.engine.backends import cap_to_memory, check_executor, make_runner
    from tui_orchestrator.engine.discovery import Progress
    from tui_orchestrator.engine.project import Project
    from tui_orchestrator.engine.report_file import check_run_report, write_final_report
    from tui_orchestrator.ui.app import ClaudeTuiApp
    from tui_orchestrator.ui.opening import Opening, open_with_run

    config = request.config
    check_executor(config)
    fmt = check_run_report(request, default_report=False)
    # A change review's change and an earlier report: a bad ref or report is one line.
    since = request.changes()
    baseline = request.load_baseline()
    runner = make_runner(config, request.demo)
    config, memory_warning = cap_to_memory(config, runner)
    options = request.options(headless=False, since=since, baseline=baseline)
    run = OpenRun(request.repo, config, runner, options)

    def open_all(progress: Progress) -> tuple[Project, OpenRun]:
        return open_with_run(
            run,
            progress,
            plan_file=request.plan_file,
            partition_flags_given=request.partition_flags_given,
        )

    run.take_lock()
    try:
        app = ClaudeTuiApp(
            opening=Opening(
                run.root,
                config,
                open_all,
                demo=request.demo or runner.backend == "demo",
                abandon=run.close,
            )
        )
        if memory_warning:
            app.warn_at_start(memory_warning)
        app.run()
        if app.open_error is not None:
            raise app.open_error
        if request.report and run.manager is not None:
            # Asked for on the command line: the report of the run as the user left it.
            # One that cannot be written is one line; the app's exit code stands.
            setup = run.setup
            assert setup is not None
            shown, error = write_final_report(
                setup.checkpoint, request.report, fmt, setup.store.path,
                saved=not run.manager.save_fault, options=run.manager.report_options,
            )  # fmt: skip
            if error:
                sys.stderr.write(f"claude-tui: {printable(error)}\n")
            elif shown != "stdout":
                sys.stderr.write(f"claude-tui: wrote the {fmt} report to {shown}\n")
        if app.opened:
            sys.stderr.write(f"claude-tui: {printable(farewell(run))}\n")
    finally:
        run.close()
    return 0 if app.return_code is None else app.return_code


def farewell(run: OpenRun) -> str:
    """The one line left on the terminal: what was saved, where, and how to go on."""
    from collections import Counter

    from tui_orchestrator.engine.checkpoint import ChunkStatus
    from tui_orchestrator.engine.statedir import default_plan_path, since_plan_path

    root = run.root
    setup = run.setup
    if setup is None or not setup.store.path.is_file():
        plan = default_plan_path(root) if run.options.since is None else since_plan_path(root)
        if plan.is_file():
            return f"your plan is in {_shown(plan, root)}; nothing ran yet"
        return "nothing was saved"
    counts = Counter(c.status for c in setup.checkpoint.chunks)
    total = len(setup.checkpoint.chunks)
    said = f"{counts[ChunkStatus.DONE]} of {plural(total, 'chunk')} done"
    for status in (ChunkStatus.PAUSED, ChunkStatus.PENDING, ChunkStatus.FAILED):
        if counts[status]:
            said += f", {counts[status]} {status.value}"
    change = setup.checkpoint.change
    since = "" if change is None else f" --since {shlex.quote(change.ref)}"
    again = (
        ""
        if counts[ChunkStatus.DONE] == total
        else f"; `claude-tui {shlex.quote(str(root))}{since}` goes on"
    )
    return f"saved {_shown(setup.store.path, root)} ({said}){again}"


def _shown(path: Path, root: Path) -> str:
    """The path as the user can use it from where they are: relative below the current
    folder, absolute elsewhere."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
