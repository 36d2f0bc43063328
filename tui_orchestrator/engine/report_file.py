"""Where a report goes: checked before a run (writable, nobody's file), written after it.

:func:`write_report` is the one function that writes a report, for every caller:
`claude-tui report`, the end of `claude-tui run`, the app's quit (``--report``) and the
issues view's export.

A run that ends with nowhere to put its report, or that replaces a file the user wrote
(``--report README.md``), is found out before any chunk runs; a write that still fails
at the end (the disk filled up meanwhile) is one line, the checkpoint holding everything.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tui_orchestrator.engine.atomic import write_text_atomic
from tui_orchestrator.engine.checkpoint import Checkpoint
from tui_orchestrator.engine.errors import ClaudeTuiError, ConfigError, WriteError
from tui_orchestrator.engine.reports import ReportOptions, render, resolve_format
from tui_orchestrator.engine.statedir import (
    default_checkpoint_path,
    default_plan_path,
    default_report_path,
    ensure_state_dir,
    since_checkpoint_path,
    since_plan_path,
)

if TYPE_CHECKING:
    from tui_orchestrator.engine.run_request import RunRequest

# What each of reports.py's renderers starts with: an earlier report may be replaced.
_HEAD_BYTES = 4096
_JSON_HEAD = re.compile(rb'\A\s*\{\s*"version":\s*1,\s*"repo":')
_SARIF_HEAD = re.compile(
    rb'\A\s*\{\s*"\$schema":\s*"https://json\.schemastore\.org/sarif-2\.1\.0\.json"'
    rb'.*?"driver":\s*\{\s*"name":\s*"claude-tui"',
    re.DOTALL,
)
_MARKDOWN_HEAD = b"# claude-tui report: "


def is_claude_tui_report(head: bytes) -> bool:
    """Does a file starting with ``head`` hold a JSON, SARIF or Markdown report of ours?"""
    return (
        head.startswith(_MARKDOWN_HEAD)
        or _JSON_HEAD.match(head) is not None
        or _SARIF_HEAD.match(head) is not None
    )


def check_report_target(out: Path, keep: Sequence[Path], *, make_folders: bool) -> None:
    """A report path that cannot be written, or is one of ``keep``, is bad usage.

    Checked before any work: a run that ends with nowhere to put its report would lose it.
    With ``make_folders`` a missing folder is fine (the run creates it), a file in its way
    is not. A file the report would replace must be an earlier report (not one git tracks);
    the folder must take a new file (probed with a temp file: nothing is truncated).
    """
    for path in keep:
        if out.resolve() == Path(path).resolve():
            raise ConfigError(f"the report would overwrite {path}: give another --out/--report")
    if out.is_dir():
        raise ConfigError(f"the report path is a folder: {out} (give a file name)")
    folder = out.parent
    if not make_folders and not folder.is_dir():
        raise ConfigError(f"the folder of the report does not exist: {folder}")
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise ConfigError(f"the report cannot go under {above}: it is a file")
            break
    check_report_file(out)


def check_run_report(request: RunRequest, *, default_report: bool = True) -> str:
    """The report's format, once ``--report`` is known to be writable (before any work).

    ``default_report``: without ``--report`` the run writes ``.claude-tui/report.json``
    (headless; the app writes a report only when asked)."""
    fmt = resolve_format(request.report_format, request.report)
    target = request.report or (str(default_report_path(request.repo)) if default_report else "")
    if (
        request.baseline is not None
        and target not in ("", "-")
        and _same_file(Path(target), request.baseline)
    ):
        raise ConfigError(
            f"the report would be written over {request.baseline}, the --baseline it is "
            "compared with: give --report another path (or keep the baseline elsewhere)"
        )
    if request.report == "-":
        check_stdout()
    elif request.report:
        protected = [*run_state_files(request.repo), *filter(None, [request.checkpoint_path])]
        check_report_target(Path(request.report), protected, make_folders=True)
    return fmt


def run_state_files(repo: Path) -> list[Path]:
    """The files of the state folder a run reads and the user keeps: a report never lands
    on one (a change review's and the full review's alike)."""
    return [
        default_checkpoint_path(repo),
        default_plan_path(repo),
        since_checkpoint_path(repo),
        since_plan_path(repo),
    ]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_report_file(out: Path) -> None:
    """ConfigError unless ``out`` can be written without losing anything: a new file, an
    empty one or an earlier report, in a folder that takes new files; or a device."""
    try:
        st = out.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {out}: {exc.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        _probe_device(out, st)
        return
    if st is not None and st.st_size > 0:
        _refuse_foreign(out)
    _probe_folder(out)


def _probe_device(out: Path, st: os.stat_result) -> None:
    if stat.S_ISFIFO(st.st_mode):
        return  # opening it would wait for a reader; it is written in place at the end
    try:
        # O_APPEND: a probe must not truncate what it checks.
        os.close(os.open(out, os.O_WRONLY | os.O_APPEND))
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {out}: {exc.strerror}") from None


def _refuse_foreign(out: Path) -> None:
    if _tracked_by_git(out):
        raise ConfigError(
            f"the report would replace {out}, a file git tracks: give another report path"
        )
    try:
        with open(out, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        head = b""
    if not is_claude_tui_report(head):
        raise ConfigError(
            f"the report would replace {out}, which is not a claude-tui report: give "
            "another report path, or move the file away"
        )


def _tracked_by_git(path: Path) -> bool:
    """Is ``path`` in the index of the repository it is in (False where git is missing)?"""
    try:
        result = subprocess.run(
            ["git", "-C", str(path.parent), "ls-files", "--error-unmatch", "--", path.name],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def _probe_folder(out: Path) -> None:
    """Create and remove a file where the report's temp file will go (the nearest folder
    that exists: the run creates the rest)."""
    folder = out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        fd, name = tempfile.mkstemp(prefix=".claude-tui-probe.", dir=folder)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the report to {out}: {folder} takes no new file ({exc.strerror})"
        ) from None
    os.close(fd)
    os.unlink(name)


def check_stdout() -> None:
    """ConfigError when stdout is closed, or a pipe whose reader has gone (``| head -0``)."""
    stream = sys.stdout
    try:
        fd = stream.fileno()
        os.fstat(fd)
    except (AttributeError, ValueError, OSError):
        raise ConfigError(
            "stdout is closed: the report cannot go to '-' (give --report a file)"
        ) from None
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        # A pipe with no reader left reports POLLERR (Linux), before anything is written.
        if any(mask & select.POLLERR for _, mask in poller.poll(0)):
            raise ConfigError(
                "stdout is a pipe nobody reads: the report cannot go to '-' (give --report a file)"
            )


def _write_file(out: Path, text: str) -> None:
    """Write a report: atomically to a file, in place to a device or pipe (/dev/null)."""
    try:
        st = out.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise WriteError(f"cannot write the report to {out}: {exc.strerror}") from None
    try:
        if st is not None and not stat.S_ISREG(st.st_mode):
            with open(out, "w", encoding="utf-8", errors="replace") as handle:
                handle.write(text)
            return
        # (Our own .claude-tui folder gets its .gitignore the first time.)
        ensure_state_dir(out.parent)
        write_text_atomic(out, text)
    except OSError as exc:
        raise WriteError(f"cannot write the report to {out}: {exc.strerror}") from None
    except ClaudeTuiError as exc:
        raise WriteError(f"cannot write the report to {out}: {exc}") from None


def _write_stdout(text: str) -> None:
    """Write a report to stdout; a closed or broken stdout is a WriteError, not a traceback
    now and an "Exception ignored" when Python flushes stdout at exit."""
    try:
        if sys.stdout is None:
            raise BrokenPipeError(32, "stdout is closed")
        sys.stdout.write(text)
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        _silence_stdout()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise WriteError(f"cannot write the report to stdout: {reason}") from None


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, ValueError, OSError):
        pass


def write_report(target: str | Path, text: str) -> str:
    """Write a rendered report to ``target`` (``"-"``: stdout); where it went, for the user.

    A file is written atomically (a device or pipe, such as /dev/null, in place), and our
    own ``.claude-tui/`` folder gets its .gitignore. WriteError when it cannot be written
    (a disk that filled up during the run, a closed stdout).
    """
    if str(target) == "-":
        _write_stdout(text)
        return "stdout"
    _write_file(Path(target), text)
    return str(target)


def write_final_report(
    checkpoint: Checkpoint,
    target: str,
    fmt: str,
    checkpoint_path: Path,
    *,
    saved: bool = True,
    options: ReportOptions = ReportOptions(),  # noqa: B008
) -> tuple[str, str]:
    """The report at the end of a run: where it went (for the summary), and the one line
    to print when it could not be written. The run's exit code stands: the checkpoint
    (``saved``: it could be written) holds every finding, and ``claude-tui report`` writes
    the report from it again."""
    try:
        text = render(checkpoint, fmt, options=options)
        return write_report(target, text), ""
    except WriteError as exc:
        out = "" if target == "-" else f" --out {shlex.quote(target)}"
        again = f"claude-tui report {shlex.quote(str(checkpoint_path))} --format {fmt}{out}"
        if saved:
            return "not written", f"{exc}; the checkpoint holds every finding: `{again}`"
        return "not written", f"{exc}; the checkpoint could not be saved either (see above)"
