"""The command line, the top layer: options in, a command run, its exit code out.

``claude-tui REPO`` opens the app; ``claude-tui run REPO`` runs headless; ``claude-tui plan``
prints or writes the plan; ``claude-tui report`` writes a report from a checkpoint.
Errors the user can cause print one line and exit 2 (docs/contracts.md §2). Nothing
imports this module but ``__main__`` (docs/layers.md §1): the options become a
``RunRequest``, which the presenters below take.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tui_orchestrator import __version__
from tui_orchestrator.engine.config import CONTEXTS, STRATEGIES, VERIFY_MODES, Config, load_config
from tui_orchestrator.engine.errors import ClaudeTuiError, ConfigError
from tui_orchestrator.engine.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from tui_orchestrator.engine.signals import stop_signals
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.wording import plural

if TYPE_CHECKING:
    from tui_orchestrator.engine.run_request import RunRequest

SUBCOMMANDS = ("run", "plan", "report")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_USAGE)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _repo_path(text: str) -> Path:
    # An empty variable in CI ("$REPO" unset) must not mean the current folder.
    if not text.strip():
        raise argparse.ArgumentTypeError("the repository path is empty")
    return Path(text)


def _add_partition_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strategy", choices=STRATEGIES, help="how to split the repository")
    parser.add_argument(
        "--max-files-per-chunk", type=_positive_int, metavar="N", help="files per chunk (10)"
    )
    parser.add_argument("--workers", type=_positive_int, metavar="N", help="parallel workers (4)")
    parser.add_argument("--config", type=Path, metavar="CONFIG.toml", help="a config file")


def _add_run_options(parser: argparse.ArgumentParser, *, repo_optional: bool = False) -> None:
    if repo_optional:
        parser.add_argument(
            "repo",
            type=_repo_path,
            nargs="?",
            help="the repository folder (default: the git repository you are in)",
        )
    else:
        parser.add_argument("repo", type=_repo_path, help="the repository folder")
    _add_partition_options(parser)
    parser.add_argument("--plan", type=Path, metavar="PLAN.toml", help="use this plan file")
    parser.add_argument(
        "--apply-plan",
        action="store_true",
        help="follow the plan file where it differs from the run's checkpoint "
        "(changed chunks are reviewed again)",
    )
    parser.add_argument("--checkpoint", type=Path, metavar="PATH", help="checkpoint file")
    parser.add_argument("--report", metavar="PATH", help="report file ('-' for stdout)")
    parser.add_argument("--format", choices=("json", "sarif", "markdown"), help="report format")
    parser.add_argument("--claude-bin", metavar="PATH", help="the Claude Code executable")
    parser.add_argument("--model", metavar="NAME", help="model for every worker")
    parser.add_argument(
        "--max-budget-usd", type=_non_negative_float, metavar="X", help="stop dispatching at X"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="move the checkpoint aside and start over"
    )
    parser.add_argument(
        "--demo", action="store_true", help="simulated agents, no Claude Code needed (DEMO)"
    )
    parser.add_argument("--executor", metavar="local|dask://HOST:PORT", help="where chunks run")
    parser.add_argument(
        "--shared-root",
        metavar="PATH",
        help="with a Dask executor: the repository's path on every worker (nothing is copied)",
    )
    parser.add_argument(
        "--context",
        choices=CONTEXTS,
        help="with a Dask executor: ship the chunk's files (chunk) or also the repository "
        "at its commit (repo, needs git)",
    )
    parser.add_argument("--prompt-file", type=Path, metavar="PATH", help="a custom prompt")
    parser.add_argument(
        "--fail-on",
        choices=("critical", "high", "medium", "low", "info"),
        metavar="SEVERITY",
        help="exit 3 when a finding at or above SEVERITY exists",
    )
    parser.add_argument(
        "--verify",
        choices=VERIFY_MODES,
        help="which findings a second session verifies: off, high (critical and high; the "
        "default) or all",
    )
    parser.add_argument(
        "--include-refuted",
        action="store_true",
        default=None,
        help="keep refuted findings in SARIF and Markdown reports",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="REPORT.json",
        help="an earlier JSON report of this repository: each finding is new, updated or "
        "unchanged against it (and --fail-on counts the new and updated ones)",
    )
    parser.add_argument(
        "--since",
        metavar="REF",
        help="review only what changed since merge-base(REF, HEAD): committed, staged, "
        "unstaged and untracked files, each chunk told its changed lines (own checkpoint "
        "in .claude-tui/since/)",
    )
    parser.add_argument(
        "--diff-only",
        action="store_true",
        help="with --since: reports and --fail-on keep only findings on changed lines",
    )
    parser.add_argument("--max-turns", type=_positive_int, metavar="N", help="turns per worker")
    parser.add_argument(
        "--bare", action="store_true", default=None, help="pass --bare (API-key users)"
    )


def build_parser(command: str | None) -> argparse.ArgumentParser:
    if command == "plan":
        parser = _Parser(prog="claude-tui plan", description="Print or write the plan.")
        parser.add_argument("repo", type=_repo_path, help="the repository folder")
        _add_partition_options(parser)
        parser.add_argument(
            "--write", action="store_true", help="write .claude-tui/plan.toml instead of printing"
        )
        parser.add_argument("--format", choices=("table", "toml"), default="table")
        parser.add_argument(
            "--skipped", action="store_true", help="also list every skipped path and why"
        )
        parser.add_argument(
            "--verify",
            choices=VERIFY_MODES,
            help="the verification whose cost the plan adds (default: the config's, high)",
        )
        parser.add_argument(
            "--since",
            metavar="REF",
            help="plan the change review of what changed since merge-base(REF, HEAD) "
            "(--write: .claude-tui/since/plan.toml)",
        )
        return parser
    if command == "report":
        parser = _Parser(prog="claude-tui report", description="Write a report from a checkpoint.")
        parser.add_argument(
            "checkpoint",
            type=Path,
            nargs="?",
            help="a checkpoint.toml, or a repository folder (its .claude-tui/checkpoint.toml)",
        )
        parser.add_argument(
            "--compare",
            nargs=2,
            type=Path,
            metavar=("OLD.json", "NEW.json"),
            help="print the findings of NEW that are new, updated or unchanged against OLD, "
            "and those of OLD that are absent",
        )
        parser.add_argument(
            "--baseline",
            type=Path,
            metavar="REPORT.json",
            help="an earlier JSON report: each finding's state against it",
        )
        parser.add_argument("--format", help="json, sarif or markdown (default: from --out)")
        parser.add_argument("--out", metavar="PATH", help="output file (default: stdout)")
        parser.add_argument(
            "--include-refuted",
            action="store_true",
            help="keep refuted findings in SARIF and Markdown reports",
        )
        parser.add_argument(
            "--diff-only",
            action="store_true",
            help="a change review's report keeps only findings on changed lines",
        )
        return parser
    if command == "run":
        parser = _Parser(
            prog="claude-tui run", description="Run every pending chunk headless (for CI)."
        )
        _add_run_options(parser)
        return parser
    parser = _Parser(
        prog="claude-tui",
        description=(
            "Split a repository into chunks and review them with parallel Claude Code "
            "workers, live. Other commands: `claude-tui run REPO` (headless), "
            "`claude-tui plan REPO`, `claude-tui report CHECKPOINT`."
        ),
    )
    parser.add_argument("--version", action="version", version=f"claude-tui {__version__}")
    _add_run_options(parser, repo_optional=True)
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    """Load the config with the flags the user gave on top (docs/contracts.md §3)."""
    flags: dict[str, Any] = {}
    for key in (
        "workers", "strategy", "max_files_per_chunk", "model", "max_budget_usd",
        "claude_bin", "executor", "shared_root", "context", "max_turns", "bare", "verify",
        "include_refuted",
    ):  # fmt: skip
        value = getattr(args, key, None)
        if value is not None:
            flags[key] = value
    prompt_file = getattr(args, "prompt_file", None)
    if prompt_file is not None:
        flags["prompt_file"] = str(prompt_file)
    return load_config(flags=flags, config_file=getattr(args, "config", None))


def partition_flags_given(args: argparse.Namespace) -> bool:
    return args.strategy is not None or args.max_files_per_chunk is not None


def repository_here(cwd: Path) -> Path:
    """`claude-tui` without a path opens the git repository the user is in (its top
    folder), or a folder claude-tui has run on; anything else is one line, exit 2."""
    if (cwd / ".claude-tui").is_dir():
        return cwd
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    raise ConfigError(f"{cwd} is in no git repository: give the folder to review (claude-tui PATH)")


def run_request(args: argparse.Namespace) -> RunRequest:
    """What `claude-tui run` or the app is asked to do.

    The repository is checked first: a wrong path is the problem to name, not a bad config
    or a missing Claude Code.
    """
    from tui_orchestrator.engine.discovery import resolve_repo
    from tui_orchestrator.engine.run_request import RunRequest

    resolve_repo(args.repo)
    if args.diff_only and args.since is None:
        raise ConfigError(
            "--diff-only keeps the findings on lines a change touched: give --since REF"
        )
    return RunRequest(
        repo=args.repo,
        config=config_from_args(args),
        demo=args.demo,
        plan_file=args.plan,
        checkpoint_path=args.checkpoint,
        fresh=args.fresh,
        apply_plan_file=args.apply_plan,
        partition_flags_given=partition_flags_given(args),
        report=args.report,
        report_format=args.format,
        fail_on=args.fail_on,
        baseline=args.baseline,
        since=args.since,
        diff_only=args.diff_only,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    parser = build_parser(command)
    args = parser.parse_args(argv[1:] if command else argv)
    try:
        if command == "plan":
            return cmd_plan(args)
        if command == "report":
            return cmd_report(args)
        if command == "run":
            from tui_orchestrator.console.run import run_headless

            with stop_signals_interrupt():
                return run_headless(run_request(args))
        from tui_orchestrator.ui.launch import run_app

        if args.fail_on:
            raise ConfigError("--fail-on sets the exit code of `claude-tui run`: use it there")
        if args.repo is None:
            args.repo = repository_here(Path.cwd())
        return run_app(run_request(args))
    except ClaudeTuiError as exc:
        # A path in the message is the user's or the repository's: made printable, so
        # an escape sequence in a folder's name cannot reach the terminal.
        sys.stderr.write(f"claude-tui: {printable(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("claude-tui: interrupted\n")
        return EXIT_INTERRUPTED


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """A stop signal outside the run's own handlers (start-up, the report) ends as Ctrl+C
    does.

    The run installs its own handlers while the manager works (pause, checkpoint, 130);
    before and after, SIGTERM or SIGHUP would otherwise kill the process (143, 129) with
    no message.
    """
    previous = {}
    try:
        for sig in stop_signals():
            previous[sig] = signal.signal(sig, _interrupt)
    except ValueError:  # not the main thread (a test driving main() from a thread)
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_plan(args: argparse.Namespace) -> int:
    from tui_orchestrator.console.plan_table import print_plan
    from tui_orchestrator.engine.changes import changes_since
    from tui_orchestrator.engine.discovery import resolve_repo
    from tui_orchestrator.engine.plan import (
        backup_plan_file,
        load_plan_file,
        plan_to_toml,
        save_plan_file,
    )
    from tui_orchestrator.engine.project import open_project
    from tui_orchestrator.engine.statedir import default_checkpoint_path

    config = config_from_args(args)
    since = None if args.since is None else changes_since(resolve_repo(args.repo), args.since)
    project = open_project(
        args.repo, config, partition_flags_given=partition_flags_given(args), since=since
    )
    if args.write and project.plan_path.is_file():
        # With partition flags the saved plan was not read: a file that cannot be parsed
        # (a hand edit gone wrong) is refused, never overwritten.
        load_plan_file(project.plan_path)
    for note in project.notes:
        sys.stderr.write(f"claude-tui: {note}\n")
    if args.write:
        backup = backup_plan_file(project.plan_path)
        save_plan_file(project.plan, project.plan_path)
        sys.stderr.write(
            f"claude-tui: wrote {project.plan_path} ({plural(len(project.plan.chunks), 'chunk')}, "
            f"{plural(project.plan.assigned_count, 'file')})"
            + (f"; the old plan is in {backup.name}" if backup is not None else "")
            + "\n"
        )
        if since is None and default_checkpoint_path(project.root).is_file():
            sys.stderr.write(
                "claude-tui: the run's checkpoint has its own plan: the app will show the "
                "difference and ask, `claude-tui run` needs --apply-plan to follow this one\n"
            )
        return EXIT_OK
    if args.format == "toml":
        sys.stdout.write(plan_to_toml(project.plan))
        return EXIT_OK
    print_plan(project, show_skipped=args.skipped)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from tui_orchestrator.engine.checkpoint import CheckpointStore
    from tui_orchestrator.engine.report_file import check_report_target, check_stdout, write_report
    from tui_orchestrator.engine.reports import ReportOptions, render, resolve_format
    from tui_orchestrator.engine.statedir import default_checkpoint_path

    if args.compare:
        return cmd_compare(args)
    if args.checkpoint is None:
        raise ConfigError("report needs a checkpoint or a repository (or --compare OLD NEW)")
    fmt = resolve_format(args.format, args.out)
    path = args.checkpoint
    if path.is_dir():  # a repository: the checkpoint of its last run
        path = default_checkpoint_path(path)
        if not path.is_file():
            raise ConfigError(
                f"no checkpoint in {args.checkpoint}: run `claude-tui run {args.checkpoint}` "
                "first (or give the checkpoint file)"
            )
    elif not path.is_file():
        raise ConfigError(f"checkpoint not found: {args.checkpoint}")
    to_stdout = args.out is None or args.out == "-"
    if to_stdout:
        check_stdout()
    else:
        check_report_target(Path(args.out), [path], make_folders=False)
    checkpoint = CheckpointStore(path).load()
    assert checkpoint is not None
    baseline = None
    if args.baseline is not None:
        from tui_orchestrator.engine.baseline import load_baseline
        from tui_orchestrator.engine.fingerprint import repo_id

        baseline = load_baseline(args.baseline, repo_id(Path(checkpoint.repo)))
    from tui_orchestrator.engine.suppressions import load_suppressions

    root = Path(checkpoint.repo)
    suppressed = load_suppressions(root) if root.is_dir() else {}
    if args.diff_only and checkpoint.change is None:
        raise ConfigError(
            f"--diff-only: {path} is the checkpoint of a full review; a change review's "
            "(claude-tui run --since REF) is in .claude-tui/since/"
        )
    options = ReportOptions(
        include_refuted=args.include_refuted,
        baseline=baseline,
        suppressions=suppressed,
        diff_only=args.diff_only,
    )
    text = render(checkpoint, fmt, options=options)
    where = write_report("-" if to_stdout else args.out, text)
    if not to_stdout:
        sys.stderr.write(f"claude-tui: wrote {fmt} report to {where}\n")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """`report --compare OLD NEW`: the findings of two reports, by fingerprint."""
    from tui_orchestrator.engine.baseline import compare, comparison_lines
    from tui_orchestrator.engine.report_file import check_stdout

    if args.checkpoint is not None or args.out or args.format or args.baseline or args.diff_only:
        raise ConfigError("--compare takes two reports and nothing else")
    old, new = args.compare
    check_stdout()
    sys.stdout.write("\n".join(comparison_lines(compare(old, new))) + "\n")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
