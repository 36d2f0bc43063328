"""``claude-tui REPO``: open the repository's plan and run in the app."""

from __future__ import annotations

import argparse
import sys


def cmd_app(args: argparse.Namespace) -> int:
    """Take the repository's lock, open the app at once, read the repository behind it.

    Claude Code missing (without --demo) or another claude-tui on the repository: one line
    and exit 2, before the screen opens. Discovery and the plan come after the first frame
    (a second or two on 100,000 files); bad input found then (a plan or checkpoint that
    cannot be read, nothing to review) closes the app with the same one line and exit 2.
    """
    from tui_orchestrator.cli import config_from_args, partition_flags_given
    from tui_orchestrator.engine.discovery import Progress
    from tui_orchestrator.engine.errors import ConfigError
    from tui_orchestrator.engine.plan import reconcile
    from tui_orchestrator.engine.project import Project, open_project
    from tui_orchestrator.engine.run_session import RunOptions, RunSession
    from tui_orchestrator.headless import (
        cap_to_memory,
        check_executor,
        check_report_args,
        make_runner,
        write_report,
    )
    from tui_orchestrator.ui.app import ClaudeTuiApp
    from tui_orchestrator.ui.opening import Opening

    if args.fail_on:
        raise ConfigError("--fail-on sets the exit code of `claude-tui run`: use it there")
    config = config_from_args(args)
    check_executor(config)
    fmt = check_report_args(args)
    runner = make_runner(config, args.demo)
    config, memory_warning = cap_to_memory(config, runner)
    flags_given = partition_flags_given(args)
    options = RunOptions(
        plan_file=args.plan,
        checkpoint_path=args.checkpoint,
        fresh=args.fresh,
        partition_flags_given=flags_given,
        headless=False,
    )
    run = RunSession(args.repo, config, runner, options)

    def open_all(progress: Progress) -> tuple[Project, RunSession]:
        project = open_project(
            run.root,
            config,
            plan_file=args.plan,
            partition_flags_given=flags_given,
            progress=progress,
        )
        progress("reading the run's checkpoint")
        run.open(project)
        if run.resumed:
            # A run exists: its chunks are the plan (SPEC §4, the checkpoint wins).
            project.plan, _ = reconcile(run.plan(), project.discovery.paths)
            project.plan_source = "the run's checkpoint"
        return project, run

    run.take_lock()
    try:
        app = ClaudeTuiApp(
            opening=Opening(
                run.root,
                config,
                open_all,
                demo=args.demo or runner.backend == "demo",
                abandon=run.close,
            )
        )
        if memory_warning:
            app.warn_at_start(memory_warning)
        app.run()
        if app.open_error is not None:
            raise app.open_error
        if args.report and run.manager is not None:
            # Asked for on the command line: the report of the run as the user left it.
            shown = write_report(run.manager.cp, args.report, fmt)
            if shown != "stdout":
                sys.stderr.write(f"claude-tui: wrote the {fmt} report to {shown}\n")
    finally:
        run.close()
    return 0 if app.return_code is None else app.return_code
