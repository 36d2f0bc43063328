"""One run of the app over a hostile repository and a hostile worker: every view shows the
markup, escapes and control characters as text, and nothing crashes.

The repository's folder and file names hold markup and escapes; the worker (a replay of
stream-json lines through the real parser, as the CLI runner does) writes hostile texts,
tool calls, numbers, an answer, an error and findings, some outside the repository.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input

from tests.support.hostile import CORPUS, FILE_NAMES, LONG, MIXED_TITLE, outside_paths, unsafe
from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.open_run import OpenRun, RunOptions
from tui_orchestrator.engine.project import open_project
from tui_orchestrator.engine.runner import Emit, Job, Outcome, Runner, outcome_of
from tui_orchestrator.engine.statedir import default_plan_path
from tui_orchestrator.engine.stream import Result, parse_line
from tui_orchestrator.engine.tomlout import toml_array, toml_str
from tui_orchestrator.ui.app import ClaudeTuiApp
from tui_orchestrator.ui.screens.finding import FindingScreen
from tui_orchestrator.ui.screens.modals import NameScreen, PickerScreen
from tui_orchestrator.ui.screens.zoom import ZoomScreen
from tui_orchestrator.ui.widgets.repo_tree import RepoTree
from tui_orchestrator.ui.widgets.worker_panel import WorkerPanel

from .conftest import until

SIZE = (180, 50)
# Folder names are as free as file names (but for "/").
REPO_NAME = "repo[red]x\x1b[2J"
HANG_SESSION = "sess[/]\x1b]0;x\x07"
ANSWER = f"The answer: {MIXED_TITLE}"


def screen_text(app: App[object]) -> str:
    """What the terminal would show now: every cell of the screen, dialogs and toasts too."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def _assert_clean(app: App[object], *shown: str) -> str:
    text = screen_text(app)
    assert unsafe(text, allow="\n") == [], sorted(set(unsafe(text, allow="\n")))
    for needle in shown:
        assert needle in text, needle + "\n" + text
    return text


def _line(kind: str, **data: object) -> str:
    return json.dumps({"type": kind, **data})


def _assistant(*blocks: dict[str, object]) -> str:
    return _line("assistant", message={"content": list(blocks)})


class HostileRunner(Runner):
    """Stream-json lines through the real parser and outcome, as ClaudeRunner reads them."""

    backend = "claude"

    def script(self, job: Job) -> list[str]:
        sid = HANG_SESSION if job.chunk == "hang" else job.session_id
        lines = [_line("system", subtype="init", session_id=sid, model="[bold]m\x1b[2J")]
        lines += [_assistant({"type": "text", "text": text}) for text in [*CORPUS, MIXED_TITLE]]
        lines.append(_line("assistant", message="[/] not a message"))
        for index, path in enumerate(job.files):
            tool = {"type": "tool_use", "id": f"r{index}", "name": "Read"}
            lines.append(_assistant({**tool, "input": {"file_path": str(job.root / path)}}))
            result = {"type": "tool_result", "tool_use_id": f"r{index}", "content": "1\tx"}
            lines.append(_line("user", message={"content": [result]}))
        failed = {"type": "tool_result", "tool_use_id": "g0", "is_error": True,
                  "content": f"<tool_use_error>{MIXED_TITLE}</tool_use_error>"}  # fmt: skip
        lines.append(_line("user", message={"content": [failed]}))
        for pattern in ("\x1b[2J[bold]x", LONG, "[/x]"):  # the last stays the activity
            tool = {"type": "tool_use", "id": "g0", "name": "Grep", "input": {"pattern": pattern}}
            lines.append(_assistant(tool))
        findings = [
            {"file": path, "line": 1, "severity": "high", "title": f"{title} in {path}",
             "description": f"why:\n{MIXED_TITLE}\r\nend"}
            for path, title in zip(job.files, [MIXED_TITLE, *CORPUS], strict=False)
        ] + [
            {"file": path, "line": 1, "severity": "critical", "title": "outside"}
            for path in outside_paths(str(job.root))
        ]  # fmt: skip
        failing = job.chunk == "fail"
        lines.append(
            _line(
                "result",
                subtype="success",
                is_error=failing,
                session_id=sid,
                result=f"API Error: {MIXED_TITLE}" if failing else "",
                structured_output={"findings": findings},
                total_cost_usd=float("nan"),
                usage={"output_tokens": float("inf")},
            )
        )
        return lines

    async def run(self, job: Job, emit: Emit) -> Outcome:
        if not job.structured:  # a question: the answer is hostile too
            lines = [_assistant({"type": "text", "text": ANSWER})]
            sid = job.session_id
            lines.append(_line("result", subtype="success", result=ANSWER, session_id=sid))
        else:
            lines = self.script(job)
        result: Result | None = None
        for raw in lines:
            if job.log_path is not None:
                # Line by line, so the zoomed view reads it all while the chunk still runs.
                job.log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(job.log_path, "ab") as log:
                    log.write(raw.encode() + b"\n")
            for event in parse_line(raw):
                if isinstance(event, Result):
                    result = event
                else:
                    emit(event)
            await asyncio.sleep(0)
        if job.chunk == "hang" and job.structured:
            await asyncio.Event().wait()
        return outcome_of(job, result, 0, "")


@pytest.fixture
def hostile_app(tmp_path: Path, config_dir: Path) -> Iterator[ClaudeTuiApp]:
    root = tmp_path / REPO_NAME
    code = "x = 1\nprint('\x1b[2J [/] \x1b]0;pwn\x07 \u202egnp')\ny = 2\n"
    for name in [*FILE_NAMES, "hang.py", "fail.py"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(code, encoding="utf-8")
    chunks = {"a": FILE_NAMES, "hang": ["hang.py"], "fail": ["fail.py"]}
    plan = ["version = 1", 'strategy = "directory"', "max_files_per_chunk = 10", "excluded = []"]
    for name, files in chunks.items():
        plan += ["", "[[chunks]]", f"name = {toml_str(name)}", f"files = {toml_array(files)}"]
    plan_file = default_plan_path(root)
    plan_file.parent.mkdir()
    plan_file.write_text("\n".join(plan) + "\n", encoding="utf-8")
    config = Config(max_files_per_chunk=10, workers=3, verify="off")
    project = open_project(root, config)
    run = OpenRun(root, config, HostileRunner(), RunOptions(headless=False))
    run.open(project)
    assert run.manager is not None
    run.manager.writer.delay = 0.01
    try:
        yield ClaudeTuiApp(project, run=run)
    finally:
        run.close()


async def test_every_view_shows_hostile_text_as_text(hostile_app: ClaudeTuiApp) -> None:
    app = hostile_app
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        # The plan: the repository's name, and each hostile file under the cursor (the
        # pane's subtitle names it), then a dialog whose title names it.
        await pilot.pause()
        tree = app.screen.query_one(RepoTree)
        for name in [*FILE_NAMES, "x[/y].py"]:
            tree.reveal(name)  # the subtitle's markup was parsed here
        await pilot.pause()
        _assert_clean(
            app, "repo[red]x\u241b[2J", "x[/y].py · 1 file · a", "[bold]b.py", "esc\u241b[2J.py"
        )
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        _assert_clean(app, "Move x[/y].py to")
        await pilot.press("escape")

        # The run: one chunk done with hostile findings, one failed with a hostile error
        # (a notification), one at work whose panel shows the hostile log and activity.
        await pilot.press("R")
        manager = app.manager
        assert manager is not None
        await until(
            pilot,
            lambda: (
                manager.state("a").status is ChunkStatus.DONE
                and manager.state("fail").status is ChunkStatus.FAILED
                and manager.chunk_view("hang").activity == "Searching [/x]"
            ),
        )
        await pilot.pause(0.3)  # the bridge's flush
        text = _assert_clean(app, "Searching [/x]", "fail failed: API Error: Bad [/] title")
        assert "[bold]x" in text and "$nan" not in text
        assert all(c.cost_usd == 0 for c in manager.checkpoint.chunks)
        # The panel shows its log's tail; all of it is text.
        panel = next(p for p in app.screen.query(WorkerPanel) if p.chunk == "hang")
        log = "\n".join(panel.log_lines())
        assert unsafe(log, allow="\n") == []
        assert "\u241b]0;title\u2407" in log and "[link=file:///etc]click[/link]" in log

        # A question to the worker at work: its answer is a notification.
        panel.focus()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press(*"why", "enter")
        await until(pilot, lambda: "The answer: Bad [/] title" in screen_text(app))
        _assert_clean(app)

        # Its whole log, read back from the stream file (a line of a shape nobody expected
        # among them).
        panel.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ZoomScreen) and app.screen._loaded)
        await pilot.pause()
        _assert_clean(app, "→ Grep [/x]", "[/] not a message", "sess[/]\u241b]0;x\u2407")
        await pilot.press("escape")

        # The findings: outside ones dropped, the others' titles and paths as text, also
        # when filtered by a query holding markup.
        await pilot.press("3")
        await pilot.pause()
        table = app.screen.query_one("#issues-table")
        assert table.row_count == len(FILE_NAMES)
        _assert_clean(app, "x[/y].py:1", "Bad [/] title", "[link=file:///etc]click[/link]")
        await pilot.press("slash")
        app.screen.query_one("#issues-filter", Input).value = "[/]"
        await pilot.pause()
        _assert_clean(app, "matching '[/]'")
        await pilot.press("escape")
        row = next(i for i, f in enumerate(app.screen.rows) if f.file == "esc\x1b[2J.py")
        table.move_cursor(row=row)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FindingScreen))
        await until(pilot, lambda: "print(" in screen_text(app))
        _assert_clean(app, "esc\u241b[2J.py:1", "print('\u241b[2J [/] \u241b]0;pwn\u2407")
        await pilot.press("escape")
        await pilot.pause()
        assert app.return_code is None  # still running: nothing crashed
