"""The Issues view: live rows, sorting, the filter language, details, editor and export."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tomllib
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.ui.scripted import ScriptedRunner
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.runner import Emit, Job, Outcome
from tui_orchestrator.ui.editor import editor_argv
from tui_orchestrator.ui.screens.finding import FindingScreen, code_around
from tui_orchestrator.ui.screens.help import binding_sections
from tui_orchestrator.ui.screens.issues import IssueFilter, IssuesScreen
from tui_orchestrator.ui.screens.modals import NameScreen, PickerScreen

from .conftest import palette_titles, until

SIZE = (120, 40)


class GatedRunner(ScriptedRunner):
    """The scripted runner, but chunks in ``gated`` wait for ``open(chunk)`` to finish."""

    def __init__(self, gated: set[str]) -> None:
        super().__init__()
        self.gates = {name: asyncio.Event() for name in gated}

    def open(self, chunk: str) -> None:
        self.gates[chunk].set()

    async def run(self, job: Job, emit: Emit) -> Outcome:
        gate = self.gates.get(job.chunk)
        if gate is not None and job.structured:
            await gate.wait()
        return await super().run(job, emit)


@pytest.fixture
def run_app(make_run_app, monkeypatch: pytest.MonkeyPatch):
    """The run app, with chunks started at once (no stagger between starts)."""
    monkeypatch.setattr("tui_orchestrator.engine.pool.STAGGER_S", 0.0)
    monkeypatch.setattr("tui_orchestrator.engine.pool.LAUNCH_GAP_S", 0.0)
    return make_run_app


async def _finished_run(pilot) -> IssuesScreen:
    app = pilot.app
    await pilot.press("R")
    await until(pilot, lambda: app.run_started and not app.manager.active)
    await pilot.press("3")
    await until(pilot, lambda: isinstance(app.screen, IssuesScreen))
    screen = app.screen
    await until(pilot, lambda: len(screen.rows) == 12)
    return screen


# The filter language ----------------------------------------------------------------------


def _finding(
    severity: str, file: str = "src/a.py", chunk: str = "src", title: str = "t"
) -> Finding:
    return Finding(file, 3, Severity(severity), title, "why", chunk)


def test_filter_words_must_all_appear_somewhere() -> None:
    keep = IssueFilter.parse("users sql")
    assert keep(_finding("high", "src/api/users.py", title="SQL built from input"))
    assert not keep(_finding("high", "src/api/orders.py", title="SQL built from input"))


def test_filter_by_severity_exact_and_at_least() -> None:
    exact = IssueFilter.parse("sev:high")
    assert exact(_finding("high")) and not exact(_finding("critical"))
    at_least = IssueFilter.parse("sev:medium+")
    assert [s for s in Severity if at_least(_finding(s.value))] == [
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.MEDIUM,
    ]


def test_filter_by_chunk_and_file() -> None:
    keep = IssueFilter.parse("chunk:web file:components")
    assert keep(_finding("low", "web/components/Cart.tsx", "web"))
    assert not keep(_finding("low", "web/api.ts", "web"))
    assert not keep(_finding("low", "src/components/x.py", "src"))


# The table ------------------------------------------------------------------------------------


async def test_rows_appear_live_as_chunks_finish(run_app) -> None:
    runner = GatedRunner({"web"})
    app = run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await pilot.press("3")
        screen = app.screen
        assert isinstance(screen, IssuesScreen)
        # Every chunk but web finishes: their nine findings show while web still runs.
        await until(pilot, lambda: len(screen.rows) == 9)
        assert "web" not in {f.chunk for f in screen.rows}
        runner.open("web")
        await until(pilot, lambda: len(screen.rows) == 12)
        assert screen.query_one("#issues-table").row_count == 12


async def test_every_column_sorts_and_a_second_header_click_reverses(run_app) -> None:
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _finished_run(pilot)
        assert [f.severity.rank for f in screen.rows] == sorted(
            f.severity.rank for f in screen.rows
        )
        await pilot.press("greater_than_sign")
        assert screen.sort_column == "location"
        assert [(f.file, f.line) for f in screen.rows] == sorted(
            (f.file, f.line) for f in screen.rows
        )
        await pilot.press("greater_than_sign")
        assert [f.title.lower() for f in screen.rows] == sorted(
            f.title.lower() for f in screen.rows
        )
        await pilot.press("greater_than_sign")
        assert screen.sort_column == "category"
        await pilot.press("greater_than_sign")  # (no verdict column: verification is off)
        assert [f.chunk for f in screen.rows] == sorted(f.chunk for f in screen.rows)
        await pilot.press("S")
        assert [f.chunk for f in screen.rows] == sorted(
            (f.chunk for f in screen.rows), reverse=True
        )
        # Clicking a header sorts by it; clicking it again reverses.
        await pilot.click("#issues-table", offset=(5, 1))
        await pilot.pause()
        assert screen.sort_column == "severity" and not screen.sort_reverse
        await pilot.click("#issues-table", offset=(5, 1))
        await pilot.pause()
        assert screen.sort_reverse
        assert screen.rows[0].severity is Severity.LOW


async def test_slash_filters_by_severity_and_chunk_and_escape_clears(run_app) -> None:
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _finished_run(pilot)
        await pilot.press("slash", *"sev:high", "enter")
        # The scripted agent rates each chunk's first file high, the others low.
        assert {f.severity for f in screen.rows} == {Severity.HIGH} and len(screen.rows) == 5
        await pilot.press("escape")
        await pilot.press("slash", *"chunk:src-", "enter")
        assert {f.chunk for f in screen.rows} == {"src-api", "src-auth"}
        assert "matching" in str(screen.query_one("#issues-table").border_title)
        await pilot.press("escape")
        assert len(screen.rows) == 12
        assert not screen.query_one("#issues-filter").display


async def test_the_cursor_stays_on_its_finding_when_the_rows_reorder(run_app) -> None:
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _finished_run(pilot)
        await pilot.press("down", "down", "down")
        chosen = screen.rows[3]
        await pilot.press("greater_than_sign")
        table = screen.query_one("#issues-table")
        assert screen.rows[table.cursor_row] == chosen


async def test_enter_shows_the_description_and_the_code_around_the_line(run_app) -> None:
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _finished_run(pilot)
        chosen = screen.rows[0]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FindingScreen))
        await app.workers.wait_for_complete()
        await pilot.pause()
        code = str(app.screen.query_one("#code").render())
        assert f"❱ {chosen.line} " in code or f"❱  {chosen.line} " in code
        assert chosen.description in str(app.screen.query_one(".description").render())
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)


def test_code_around_marks_the_line_and_keeps_a_few_lines_of_context(shopfront: Path) -> None:
    finding = Finding("src/api/users.py", 11, Severity.CRITICAL, "sql", "", "src-api")
    code = code_around(shopfront, finding, context=2)
    lines = code.plain.splitlines()
    assert len(lines) == 5
    assert lines[2].startswith("❱ 11 ")
    assert "BUG(critical)" in lines[2]
    # Highlighted with the theme's colours (spans), not plain text.
    assert code.spans


def test_code_around_a_missing_file_says_so(shopfront: Path) -> None:
    finding = Finding("gone.py", 1, Severity.LOW, "t", "", "c")
    assert "cannot read gone.py" in code_around(shopfront, finding).plain


def test_the_editor_gets_plus_line_and_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "code --wait")
    assert editor_argv(Path("repo"), "src/a.py", 7) == ["code", "--wait", "+7", "repo/src/a.py"]
    monkeypatch.delenv("EDITOR")
    monkeypatch.delenv("VISUAL", raising=False)
    assert editor_argv(Path("repo"), "src/a.py", 7) is None


async def test_o_opens_the_editor_from_the_table_and_from_the_details(
    run_app, shopfront, monkeypatch
) -> None:
    opened: list[list[str]] = []
    monkeypatch.setenv("EDITOR", "myeditor")
    monkeypatch.setattr("tui_orchestrator.ui.editor.run_editor", opened.append)
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _finished_run(pilot)
        suspended: list[bool] = []

        class _Suspend:
            def __enter__(self) -> None:
                suspended.append(True)

            def __exit__(self, *exc: object) -> None:
                return None

        monkeypatch.setattr(app, "suspend", _Suspend)
        chosen = screen.rows[0]
        await pilot.press("o")
        assert opened[-1] == ["myeditor", f"+{chosen.line}", str(shopfront / chosen.file)]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FindingScreen))
        await pilot.press("o")
        assert len(opened) == 2 and opened[-1] == opened[0]
        assert suspended == [True, True]


async def test_o_without_an_editor_says_how_to_set_one(run_app, monkeypatch) -> None:
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        await _finished_run(pilot)
        await pilot.press("o")
        await pilot.pause()
        assert any("Set $EDITOR" in n.message for n in app._notifications)


@pytest.mark.parametrize(
    ("fmt", "typed", "check"),
    [
        ("json", "", lambda text: len(json.loads(text)["issues"]) == 12),
        ("sarif", "", lambda text: len(json.loads(text)["runs"][0]["results"]) == 12),
        ("markdown", "", lambda text: text.startswith("# claude-tui report")),
    ],
)
async def test_E_exports_through_the_report_writers(run_app, shopfront, fmt, typed, check) -> None:
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        await _finished_run(pilot)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*fmt, "enter")
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("enter")  # the proposed path
        suffix = {"json": "json", "sarif": "sarif", "markdown": "md"}[fmt]
        path = shopfront / ".claude-tui" / f"report.{suffix}"
        await until(pilot, path.exists)
        assert check(path.read_text(encoding="utf-8"))


async def test_E_writes_where_the_user_says(run_app, shopfront) -> None:
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        await _finished_run(pilot)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"sarif", "enter")
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("ctrl+a", "ctrl+k", *"out/review.sarif", "enter")
        path = shopfront / "out" / "review.sarif"
        await until(pilot, path.exists)
        assert json.loads(path.read_text())["version"] == "2.1.0"
        await pilot.pause()
        assert any("out/review.sarif" in n.message for n in app._notifications)


async def test_E_with_a_filter_on_offers_the_rows_shown(run_app, shopfront) -> None:
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        await _finished_run(pilot)
        await pilot.press("slash", *"web", "enter")
        await until(pilot, lambda: len(app.screen._rows) == 3)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"json", "enter")
        await until(
            pilot, lambda: "which findings" in str(app.screen.query_one("#dialog").border_title)
        )
        await pilot.press("enter")  # the first choice: the 3 shown
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("enter")
        path = shopfront / ".claude-tui" / "report.json"
        await until(pilot, path.exists)
        report = json.loads(path.read_text())
        assert {i["chunk"] for i in report["issues"]} == {"web"} and len(report["issues"]) == 3
        assert report["totals"]["issues"] == 3
        # The file says it holds the rows a filter kept, and of how many.
        assert report["filter"] == {"query": "web", "issues": 3, "of": 12}


async def test_E_never_overwrites_the_checkpoint(run_app, shopfront) -> None:
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        await _finished_run(pilot)
        checkpoint = shopfront / ".claude-tui" / "checkpoint.toml"
        await until(pilot, checkpoint.exists)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"json", "enter")
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("ctrl+a", "ctrl+k", *".claude-tui/checkpoint.toml", "enter")
        await until(pilot, lambda: any("would overwrite" in n.message for n in app._notifications))
        # Still the checkpoint (a JSON report there would not parse as TOML).
        assert len(tomllib.loads(checkpoint.read_text())["chunks"]) == 5


async def test_o_with_an_editor_that_cannot_start_says_so_and_gives_the_screen_back(
    run_app, monkeypatch
) -> None:
    """Textual resumes a suspended app only when the ``with`` block ends normally: an
    editor that cannot start must not leave the screen blank with keys echoing raw."""
    monkeypatch.setenv("EDITOR", "/nonexistent/editor --wait")
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        await _finished_run(pilot)
        screen_given_back: list[bool] = []

        @contextlib.contextmanager
        def suspend_as_textual_does():  # no ``finally``: an exception skips the resume
            yield
            screen_given_back.append(True)

        monkeypatch.setattr(app, "suspend", suspend_as_textual_does)
        await pilot.press("o")
        await pilot.pause()
        assert screen_given_back == [True]
        messages = [n.message for n in app._notifications]
        assert "Cannot start /nonexistent/editor: No such file or directory" in messages
        await pilot.press("1")  # the app still answers keys
        await until(pilot, lambda: app.current_mode == "plan")


async def test_help_names_every_section_as_a_user_would(run_app) -> None:
    """The issues view's help was headed "FindingsTable", a class name."""
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        await _finished_run(pilot)
        titles = [section.title for section in binding_sections(app.screen)]
        assert "Issues table" in titles
        assert not [t for t in titles if re.search(r"[a-z][A-Z]", t)], titles


async def test_the_palette_finds_any_action_of_any_view_by_name(run_app) -> None:
    """In Issues, "plan", "help" and "pause" found nothing, and no view switch was offered."""
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        await _finished_run(pilot)
        offered = {}
        for query in ("plan", "help", "pause", "split", "export"):
            offered[query] = await palette_titles(pilot, query)
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, IssuesScreen))
        assert "Plan" in offered["plan"]  # the view switch
        assert "Help" in offered["help"]
        assert "Pause all · Workers view" in offered["pause"]
        assert "Split · Plan view" in offered["split"]
        assert "Export" in offered["export"]  # this view's own: no view named
        # Chosen, an action of another view shows that view and runs there.
        await palette_titles(pilot, "pause all")
        await pilot.press("enter")
        await until(pilot, lambda: app.current_mode == "workers")


async def test_the_sorted_column_shows_its_order_in_its_header(run_app) -> None:
    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _finished_run(pilot)
        table = screen.query_one(DataTable)

        def headers() -> list[str]:
            return [column.label.plain for column in table.columns.values()]

        assert headers() == ["Severity ↓", "Location", "Title", "Cat", "Chunk"]
        await pilot.pause()
        assert "Severity&#160;↓" in app.export_screenshot()  # drawn, not only set
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: headers() == ["Severity", "Location ↓", "Title", "Cat", "Chunk"])
        await pilot.press("S")
        await until(pilot, lambda: headers()[1] == "Location ↑")


async def test_the_details_show_category_confidence_and_evidence(make_app, shopfront) -> None:
    from dataclasses import replace

    from textual.widgets import Static

    from tui_orchestrator.engine.findings import Finding, Severity
    from tui_orchestrator.ui.screens.issues import chunk_cell

    finding = Finding(
        "src/config.py", 6, Severity.HIGH, "hard-coded key", "the key is in the code", "src",
        "secrets", "high", 'SECRET_KEY = "[REDACTED]"',
    )  # fmt: skip
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(FindingScreen(finding, shopfront))
        await until(pilot, lambda: isinstance(app.screen, FindingScreen))
        await pilot.pause()
        texts = [str(s.render()) for s in app.screen.query(Static)]
        assert "src/config.py:6 · chunk src · secrets · high confidence" in texts
        assert 'Evidence:\nSECRET_KEY = "[REDACTED]"' in texts
        await pilot.press("escape")
        merged = replace(finding, chunks=("src", "web", "lib"))
        app.push_screen(FindingScreen(merged, shopfront))
        await until(pilot, lambda: isinstance(app.screen, FindingScreen))
        await pilot.pause()
        texts = [str(s.render()) for s in app.screen.query(Static)]
        assert texts[0].startswith("src/config.py:6 · reported by 3 chunks: src, web, lib")
        assert chunk_cell(merged) == "src +2"  # the table's chunk column


async def test_a_problem_two_chunks_reported_is_one_row_that_says_so(run_app) -> None:
    from dataclasses import replace

    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _finished_run(pilot)
        first = screen.rows[0]
        # Another chunk reported the same problem (its session read that file too).
        other = next(c for c in app.manager.checkpoint.chunks if c.name != first.chunk)
        other.issues.append(replace(first, chunk=other.name))
        screen.run_changed(None)
        await pilot.pause()
        assert len(screen.rows) == 12  # still one row for it
        table = screen.query_one(DataTable)
        table.move_cursor(row=0)
        await pilot.pause()
        assert str(table.border_subtitle).startswith("reported by 2 chunks · by severity")
        cell = str(table.get_row_at(0)[-1])
        assert cell == f"{first.chunk} +1"


# Verification ------------------------------------------------------------------------------


async def test_verdicts_show_in_a_column_a_filter_the_header_and_the_details(run_app) -> None:
    """With --verify high, each high finding gets a verifier (a panel of its own); the
    table says what it found, ``verdict:`` filters, and ``v`` asks again."""
    runner = ScriptedRunner(refute={"src/auth/passwords.py"})
    app = run_app(runner, verify="high")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: app.run_started and not app.manager.active, tries=400)
        verifiers = [c for c in runner.calls if c.verify]
        assert verifiers and all(c.chunk.startswith("verify: ") for c in verifiers)
        judged = [f for c in verifiers for f in c.files]
        assert len(judged) == len(set(judged)) == 5  # each chunk's high finding, once
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, IssuesScreen))
        screen = app.screen
        await until(pilot, lambda: len(screen.rows) == 12)
        title = str(screen.query_one("#issues-table").border_title)
        assert "4 confirmed · 1 refuted" in title
        verdicts = {(f.file, app.manager.verdict(f)) for f in screen.rows}
        assert ("src/auth/passwords.py", "refuted") in verdicts
        assert {v for _f, v in verdicts} == {"confirmed", "refuted", ""}  # lows: none
        await pilot.press("slash", *"verdict:ref", "enter")
        assert [f.file for f in screen.rows] == ["src/auth/passwords.py"]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FindingScreen))
        assert "the input is checked above" in str(app.screen.query_one(".verdict").render())
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        # v: a fresh session judges it again (now confirmed).
        runner.refute.clear()
        calls = len(runner.calls)
        await pilot.press("v")
        await until(pilot, lambda: len(runner.calls) > calls and not app.manager.active)
        assert runner.calls[-1].verify
        await pilot.press("escape")
        await until(
            pilot, lambda: "5 confirmed" in str(screen.query_one("#issues-table").border_title)
        )


async def test_r_on_a_reviewed_run_verifies_what_has_no_verdict(run_app) -> None:
    runner = ScriptedRunner()
    app = run_app(runner, verify="high")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: app.run_started and not app.manager.active, tries=400)
        app.manager.checkpoint.verdicts.clear()  # as after a run with verification off
        calls = len(runner.calls)
        await pilot.press("1", "R")
        await until(pilot, lambda: len(runner.calls) > calls and not app.manager.active)
        assert all(c.verify for c in runner.calls[calls:])  # no chunk reviewed again
        assert app.manager.verdict_counts() == {"confirmed": 5}


async def test_s_suppresses_the_finding_with_a_reason_in_the_teams_file(
    run_app, shopfront: Path
) -> None:
    from tui_orchestrator.engine.suppressions import load_suppressions

    app = run_app(ScriptedRunner())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _finished_run(pilot)
        chosen = screen.rows[0]
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press(*"test data only", "enter")
        await until(pilot, lambda: app.screen is screen)
        await until(pilot, lambda: chosen.fingerprint in app.manager.suppressions)
        (entry,) = load_suppressions(shopfront).values()
        assert entry.fingerprint == chosen.fingerprint and entry.reason == "test data only"
        assert entry.by  # git's user.name, or the login
        row = screen.rows.index(chosen)
        title = screen.query_one(DataTable).get_row_at(row)[2]
        assert str(title).startswith("⊘ ")
        # Escape asks nothing: no change; and a second s says it is suppressed already.
        await pilot.press("s")
        await pilot.pause(0.1)
        assert app.screen is screen
        exported = json.loads(app.manager.report("json"))
        marked = [i for i in exported["issues"] if i["suppressed"]]
        assert [i["suppression"]["reason"] for i in marked] == ["test data only"]
