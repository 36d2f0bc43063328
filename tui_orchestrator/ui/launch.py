"""``claude-tui REPO``: open the repository's plan and run in the app."""

from __future__ import annotations

import argparse
import sys


def cmd_app(args: argparse.Namespace) -> int:
    """Open the project and its run (taking the repository's lock), run the app until quit.

    Claude Code missing (without --demo) or another claude-tui on the repository: one line
    and exit 2, before the screen opens.
    """
    from tui_orchestrator.cli import config_from_args, partition_flags_given
    from tui_orchestrator.engine.errors import ConfigError
    from tui_orchestrator.engine.plan import reconcile
    from tui_orchestrator.engine.project import open_project
    from tui_orchestrator.engine.run_session import RunOptions, RunSession
    from tui_orchestrator.headless import (
        cap_to_memory,
        check_executor,
        check_report_args,
        make_runner,
        write_report,
    )
    from tui_orchestrator.ui.app import ClaudeTuiApp

    if args.fail_on:
        raise ConfigError("--fail-on sets the exit code of `claude-tui run`: use it there")
    config = config_from_args(args)
    check_executor(config)
    fmt = check_report_args(args)
    runner = make_runner(config, args.demo)
    config, memory_warning = cap_to_memory(config, runner)
    project = open_project(
        args.repo,
        config,
        plan_file=getattr(args, "plan", None),
        partition_flags_given=partition_flags_given(args),
    )
    options = RunOptions(
        plan_file=args.plan,
        checkpoint_path=args.checkpoint,
        fresh=args.fresh,
        partition_flags_given=partition_flags_given(args),
        headless=False,
    )
    run = RunSession(project.root, config, runner, options)
    run.open(project)
    try:
        if run.resumed:
            # A run exists: its chunks are the plan (SPEC §4, the checkpoint wins).
            project.plan, _ = reconcile(run.plan(), project.discovery.paths)
            project.plan_source = "the run's checkpoint"
        app = ClaudeTuiApp(project, run=run, demo=args.demo)
        if memory_warning:
            app.warn_at_start(memory_warning)
        app.run()
        if args.report and run.manager is not None:
            # Asked for on the command line: the report of the run as the user left it.
            shown = write_report(run.manager.cp, args.report, fmt)
            if shown != "stdout":
                sys.stderr.write(f"claude-tui: wrote the {fmt} report to {shown}\n")
    finally:
        run.close()
    return 0 if app.return_code is None else app.return_code
