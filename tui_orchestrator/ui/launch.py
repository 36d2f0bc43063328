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
    from tui_orchestrator.engine.discovery import Progress, resolve_repo
    from tui_orchestrator.engine.errors import ConfigError
    from tui_orchestrator.engine.project import Project
    from tui_orchestrator.engine.run_session import RunOptions, RunSession
    from tui_orchestrator.headless import (
        cap_to_memory,
        check_executor,
        check_report_args,
        make_runner,
        write_final_report,
    )
    from tui_orchestrator.ui.app import ClaudeTuiApp
    from tui_orchestrator.ui.opening import Opening, open_with_run

    if args.fail_on:
        raise ConfigError("--fail-on sets the exit code of `claude-tui run`: use it there")
    # The repository first: a wrong path is the problem to name, not a missing Claude Code.
    resolve_repo(args.repo)
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
        apply_plan_file=args.apply_plan,
    )
    run = RunSession(args.repo, config, runner, options)

    def open_all(progress: Progress) -> tuple[Project, RunSession]:
        return open_with_run(run, progress, plan_file=args.plan, partition_flags_given=flags_given)

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
            # One that cannot be written is one line; the app's exit code stands.
            setup = run.setup
            assert setup is not None
            shown, error = write_final_report(
                setup.checkpoint, args.report, fmt, setup.store.path,
                saved=not run.manager.save_fault,
            )  # fmt: skip
            if error:
                sys.stderr.write(f"claude-tui: {error}\n")
            elif shown != "stdout":
                sys.stderr.write(f"claude-tui: wrote the {fmt} report to {shown}\n")
    finally:
        run.close()
    return 0 if app.return_code is None else app.return_code
