"""``claude-tui run``: the engine without the screen, for CI and scripts.

Progress goes to stderr (rich bars, one per running worker, on a terminal; plain lines
otherwise); stdout carries nothing but ``--report -`` (docs/contracts.md §6). Exit codes:
docs/contracts.md §2.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections import Counter
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from tui_orchestrator.engine.backends import cap_to_memory, check_executor, make_runner
from tui_orchestrator.engine.changes import Changes
from tui_orchestrator.engine.checkpoint import Checkpoint, ChunkStatus
from tui_orchestrator.engine.discovery import resolve_repo
from tui_orchestrator.engine.events import (
    ActivityChanged,
    ChunkFinished,
    ChunkPlaced,
    ChunkStarted,
    ChunkStatusChanged,
    Event,
    Notice,
    ProgressChanged,
    RunStarted,
)
from tui_orchestrator.engine.exit_codes import (
    EXIT_FAIL_ON,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNFINISHED,
)
from tui_orchestrator.engine.findings import Severity
from tui_orchestrator.engine.manager import Manager
from tui_orchestrator.engine.open_run import OpenRun
from tui_orchestrator.engine.project import NothingChanged
from tui_orchestrator.engine.report_file import check_run_report, write_final_report
from tui_orchestrator.engine.reports import (
    ReportOptions,
    gate_findings,
    in_diff,
    report_findings,
)
from tui_orchestrator.engine.run_request import RunRequest
from tui_orchestrator.engine.signals import stop_signals
from tui_orchestrator.engine.statedir import default_report_path, since_checkpoint_path
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.views import RunEnd, RunSummary
from tui_orchestrator.engine.wording import format_seconds, plural


class QuietWhenGone:
    """stderr for the run's display; once a write fails, the rest is dropped.

    A hang-up (the terminal closed) stops the run as SIGTERM does, and every later write to
    that terminal fails (EIO): the run must still pause its workers, write the checkpoint
    and the report, and exit 130, with no one left to read its progress and summary.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except OSError:
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except OSError:
                self.gone = True

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


class Display:
    """Renders manager events on stderr: rich bars on a terminal, plain lines elsewhere."""

    def __init__(self, console: Console, demo: bool) -> None:
        self.console = console
        self.tty = console.is_terminal
        self.demo = demo
        self.progress: Progress | None = None
        self.bars: dict[str, TaskID] = {}
        self.totals: dict[str, int] = {}
        self.started = time.monotonic()

    def line(self, text: str) -> None:
        # Chunk errors, notices and hosts carry the model's and the CLI's words.
        text = printable(text)
        if self.tty:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            stamp = format_seconds(time.monotonic() - self.started)
            self.console.print(
                f"[{stamp:>6}] {text}", markup=False, highlight=False, soft_wrap=True
            )

    def __enter__(self) -> Display:
        if self.tty:
            # No markup in the columns: a chunk name or an activity ("Searching [/x]")
            # parsed as markup raised in Rich's refresh thread and ended the run.
            self.progress = Progress(
                TextColumn("{task.fields[name]:<24}", style="bold", markup=False),
                BarColumn(bar_width=30),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[activity]}", style="dim", markup=False),
                console=self.console,
                transient=True,
            )
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            label = " [DEMO backend: simulated agents, no model is called]" if self.demo else ""
            self.line(
                f"Starting {event.pending} of {plural(event.chunks, 'chunk')} with "
                f"{plural(event.chunk_workers, 'worker')}{label}"
            )
        elif isinstance(event, ChunkStarted):
            how = "resuming session" if event.resumed else "session"
            self.line(
                f"{event.chunk}: started (attempt {event.attempt}, {how} {event.session_id[:8]})"
            )
            if self.progress is not None and event.chunk not in self.bars:
                total = self.totals.get(event.chunk, 1)
                self.bars[event.chunk] = self.progress.add_task(
                    "", total=total, name=printable(event.chunk), activity="starting"
                )
        elif isinstance(event, ChunkPlaced):
            self.line(f"{event.chunk}: running on {event.host}")
        elif isinstance(event, ProgressChanged):
            self.totals[event.chunk] = event.total
            if self.progress is not None and event.chunk in self.bars:
                self.progress.update(
                    self.bars[event.chunk], completed=event.read, total=event.total
                )
        elif isinstance(event, ActivityChanged):
            if self.progress is not None and event.chunk in self.bars:
                activity = printable(event.activity)[:60]
                self.progress.update(self.bars[event.chunk], activity=activity)
        elif isinstance(event, ChunkStatusChanged):
            detail = event.view.detail
            if event.status in (ChunkStatus.PENDING, ChunkStatus.PAUSED) and detail:
                self._drop_bar(event.chunk)
                self.line(f"{event.chunk}: {detail}")
            elif event.status is ChunkStatus.PAUSED:
                self._drop_bar(event.chunk)
                self.line(f"{event.chunk}: paused")
        elif isinstance(event, ChunkFinished):
            self._drop_bar(event.chunk)
            if event.status is ChunkStatus.DONE and event.verdicts:
                self.line(f"{event.chunk}: done, {event.verdicts}")
            elif event.status is ChunkStatus.DONE:
                self.line(f"{event.chunk}: done, {plural(len(event.findings), 'finding')}")
            else:
                self.line(f"{event.chunk}: {event.status.value} ({event.error})")
        elif isinstance(event, Notice):
            self.line(f"{event.level}: {event.text}")

    def _drop_bar(self, name: str) -> None:
        task = self.bars.pop(name, None)
        if task is not None and self.progress is not None:
            self.progress.remove_task(task)


def summary_lines(
    checkpoint: Checkpoint, summary: RunSummary, report_path: str, demo: bool
) -> list[str]:
    """The closing summary (docs/contracts.md §6)."""
    findings = report_findings(checkpoint)
    counts = Counter(f.severity for f in findings)
    by_sev = ", ".join(f"{counts[s]} {s.value}" for s in Severity if counts[s])
    sequential = sum(c.elapsed_s for c in checkpoint.chunks)
    files = sum(len(c.files) for c in checkpoint.chunks)
    head = "Analysis complete" if summary.unfinished == 0 else (
        f"Run ended ({summary.reason}): {plural(summary.unfinished, 'chunk')} unfinished"
    )  # fmt: skip
    lines = [
        head + (" [DEMO backend: findings are simulated]" if demo else ""),
        "-" * 30,
        f"- Total files: {files}",
        f"- Chunks: {summary.done}/{len(checkpoint.chunks)} done"
        + (f", {summary.failed} failed" if summary.failed else ""),
        f"- Time: {format_seconds(summary.run_s)} this run, {format_seconds(checkpoint.wall_s)} in all "
        f"(vs {format_seconds(sequential)} sequential)",
        f"- Sessions used: {sum(1 for c in checkpoint.chunks if c.session_id)}",
        f"- Issues found: {len(findings)}" + (f" ({by_sev})" if by_sev else ""),
        f"- Cost: ${checkpoint.cost_usd:.2f}"
        + (f" of a ${checkpoint.max_budget_usd:.2f} budget" if checkpoint.max_budget_usd else ""),
    ]
    if checkpoint.change is not None:
        change = checkpoint.change
        on_lines = sum(in_diff(f, checkpoint) for f in findings)
        lines.append(
            f"- Change review: {plural(len(change.files), 'file')} changed since {change.ref} "
            f"({files} reviewed); {on_lines} of the issues on changed lines"
        )
    if summary.verdicts:
        said = ", ".join(
            f"{summary.verdicts[k]} {k}"
            for k in ("confirmed", "refuted", "uncertain", "pending")
            if summary.verdicts.get(k)
        )
        lines.append(f"- Verified: {said} (verification cost ${summary.verify_cost_usd:.2f})")
    recalled = (
        f" (an earlier run learned {summary.rate_recalled:.2f} of this API)"
        if summary.rate_recalled
        else ""
    )
    if summary.refused:
        sent = summary.requests + summary.refused
        share = summary.refused / sent if sent else 0.0
        paced = f"; starts paced to {summary.paced_rps:.2f} requests/s" if summary.paced_rps else ""
        lines.append(
            f"- Rate limits: {summary.refused} of {sent} model requests refused ({share:.0%})"
            f"{paced}{recalled}"
        )
    elif summary.rate_recalled and summary.paced_rps:
        lines.append(
            f"- Rate limits: none met; starts paced to {summary.paced_rps:.2f} requests/s{recalled}"
        )
    unfinished = [c for c in checkpoint.chunks if c.status is not ChunkStatus.DONE]
    for state in unfinished[:20]:
        lines.append(
            f"  unfinished: {state.name} ({state.status.value}{': ' + state.error if state.error else ''})"
        )
    if len(unfinished) > 20:
        lines.append(f"  … and {len(unfinished) - 20} more (see the report)")
    for chunk, files in summary.changed.items():
        lines.append(
            f"Files changed while chunk {chunk} was reviewed: {', '.join(files)} "
            "— a worker may have written them"
        )
    lines.append(f"Report: {report_path}")
    if summary.reason is RunEnd.USAGE_LIMIT and summary.error:
        lines.append(summary.error[:1].upper() + summary.error[1:])
    elif unfinished:
        lines.append("Run the same command again to resume.")
    # A chunk's error is the CLI's or the model's words: shown, never obeyed by the terminal.
    return [printable(line) for line in lines]


def run_headless(request: RunRequest) -> int:
    """Run every pending chunk of ``request.repo``, showing progress on stderr; the exit code.

    Everything is checked before anything runs: the executor, the report's path, the
    runner (Claude Code, a Dask scheduler), the repository and its checkpoint.
    """
    config = request.config
    check_executor(config)
    fmt = check_run_report(request)
    # A change review's change, and an earlier report to compare with: read and checked
    # before anything runs.
    since = request.changes()
    baseline = request.load_baseline()
    # stderr that is not a terminal gets plain lines, even where FORCE_COLOR asks rich for
    # colour (CI logs are read as text, and cursor codes garble them; docs/contracts.md §6).
    err = Console(
        file=QuietWhenGone(sys.stderr),  # type: ignore[arg-type]
        highlight=False,
        force_terminal=sys.stderr.isatty(),
    )
    runner = make_runner(config, request.demo)
    config, warning = cap_to_memory(config, runner)
    if warning:
        err.print(f"warning: {warning}", markup=False, soft_wrap=True)
    display = Display(err, request.demo)
    options = request.options(headless=True, since=since, baseline=baseline)
    try:
        run = OpenRun(request.repo, config, runner, options, on_event=display.handle)
        run.open()
    except NothingChanged as nothing:
        assert since is not None
        empty_report = ReportOptions(baseline=baseline, diff_only=request.diff_only)
        return _nothing_to_review(request, nothing, since, fmt, err, empty_report, runner.backend)
    with contextlib.closing(run):
        # Said once the run is open: a repository it refuses is one line and exit 2.
        if runner.cluster:
            err.print(f"note: {runner.cluster}", markup=False, soft_wrap=True)
        for note in run.notes:
            err.print(f"note: {note}", markup=False, soft_wrap=True)
        assert run.manager is not None and run.setup is not None
        with display:
            summary, interrupted = asyncio.run(_run_with_signals(run.manager))
        setup = run.setup
        checkpoint = setup.checkpoint
        report_options = run.manager.report_options
        report_target = request.report or str(default_report_path(setup.root))
        report_shown, report_error = write_final_report(
            checkpoint,
            report_target,
            fmt,
            setup.store.path,
            saved=not run.manager.save_fault,
            options=report_options,
        )
        for line in summary_lines(checkpoint, summary, report_shown, request.demo):
            err.print(line, markup=False, soft_wrap=True)
        if report_error:
            err.print(f"claude-tui: {report_error}", markup=False, soft_wrap=True)
    if interrupted:
        return EXIT_INTERRUPTED
    if summary.unfinished or summary.verify_pending:
        return EXIT_UNFINISHED  # (verification still pending counts as unfinished work)
    if request.fail_on:
        threshold = Severity(request.fail_on).rank
        counted = gate_findings(checkpoint, report_options)
        if any(f.severity.rank <= threshold for f in counted):
            err.print(f"Findings at or above {request.fail_on}: exit 3 (--fail-on)", markup=False)
            return EXIT_FAIL_ON
    return EXIT_OK


def _nothing_to_review(
    request: RunRequest,
    nothing: NothingChanged,
    since: Changes,
    fmt: str,
    err: Console,
    options: ReportOptions,
    backend: str,
) -> int:
    """A change review with nothing to review: one line, an empty report, exit 0."""
    root = resolve_repo(request.repo)
    err.print(f"claude-tui: {printable(str(nothing))}", markup=False, soft_wrap=True)
    empty = Checkpoint(repo=str(root), chunks=[], backend=backend, change=since)
    target = request.report or str(default_report_path(root))
    shown, error = write_final_report(
        empty, target, fmt, since_checkpoint_path(root), options=options
    )
    if error:
        err.print(f"claude-tui: {printable(error)}", markup=False, soft_wrap=True)
        return EXIT_UNFINISHED
    err.print(f"Report: {shown}", markup=False, soft_wrap=True)
    return EXIT_OK


async def _run_with_signals(manager: Manager) -> tuple[RunSummary, bool]:
    """Run the manager; SIGINT, SIGTERM or SIGHUP pauses the workers, writes the checkpoint,
    ends."""
    loop = asyncio.get_running_loop()
    interrupted = False
    stopping: list[asyncio.Task[None]] = []

    def on_signal() -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            stopping.append(loop.create_task(manager.stop()))

    handled = [signal.SIGINT, *stop_signals()]
    before = {sig: signal.getsignal(sig) for sig in handled}
    for sig in handled:
        loop.add_signal_handler(sig, on_signal)
    try:
        task = manager.start()
        summary = await task
        if manager.fatal is not None:
            # The run could not go on (Claude Code gone, the checkpoint unwritable): one
            # line and exit 2, as any bad environment is (the checkpoint holds the rest).
            raise manager.fatal
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        # remove_signal_handler leaves SIGTERM and SIGHUP at their default (death): give
        # back the handlers from before the run (``cli.stop_signals_interrupt``: a Ctrl+C,
        # exit 130).
        for sig, handler in before.items():
            if sig != signal.SIGINT and handler is not None:
                signal.signal(sig, handler)
        # A remote executor holds a connection (the Dask scheduler's) until the loop ends.
        await manager.runner.aclose()
    return summary, interrupted
