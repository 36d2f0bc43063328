"""The app driving a run: R, the worker panels and their keys, the issues table, resume."""

from __future__ import annotations

import contextlib
import errno
import json

import pytest
from textual.widgets import Log, Static

from tests.ui.scripted import ScriptedRunner
from tui_orchestrator.engine.checkpoint import CheckpointStore, ChunkStatus
from tui_orchestrator.engine.errors import ClaudeNotFoundError
from tui_orchestrator.engine.pool import Clock
from tui_orchestrator.engine.statedir import default_checkpoint_path
from tui_orchestrator.ui.app import ClaudeTuiApp
from tui_orchestrator.ui.screens.finding import FindingScreen
from tui_orchestrator.ui.screens.modals import NameScreen, PickerScreen
from tui_orchestrator.ui.screens.zoom import ZoomScreen
from tui_orchestrator.ui.widgets.worker_panel import WorkerPanel

from .conftest import until

SIZE = (120, 40)


async def _focus(pilot, panel: WorkerPanel) -> None:
    panel.focus()
    await until(pilot, lambda: panel.app.screen.focused is panel)


def _panel(app: ClaudeTuiApp, chunk: str) -> WorkerPanel:
    return next(p for p in app.screen.ordered_panels() if p.chunk == chunk)


async def _panel_of(pilot, chunk: str) -> WorkerPanel:
    """The chunk's panel, once the grid shows it (the bridge flushes every 0.2 s)."""
    app = pilot.app
    await until(pilot, lambda: any(p.chunk == chunk for p in app.screen.ordered_panels()))
    return _panel(app, chunk)


async def test_R_runs_every_pending_chunk_and_the_issues_table_fills(
    make_run_app, shopfront
) -> None:
    runner = ScriptedRunner()
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: not app.manager.active and app.run_started)
        assert all(c.status is ChunkStatus.DONE for c in app.manager.checkpoint.chunks)
        assert app.current_mode == "workers"
        await pilot.pause(0.2)
        assert {p.chunk for p in app.screen.query(WorkerPanel)} == {
            c.name for c in app.manager.checkpoint.chunks
        }
        await pilot.press("3")
        table = app.screen.query_one("#issues-table")
        assert table.row_count == 12  # one finding per file of the sample repository
        assert "12 findings" in str(table.border_title)
    saved = CheckpointStore(default_checkpoint_path(shopfront)).load()
    assert saved is not None and all(c.status is ChunkStatus.DONE for c in saved.chunks)


async def test_space_pauses_the_focused_worker_and_resumes_it(make_run_app) -> None:
    runner = ScriptedRunner(hang={"web"})
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(
            pilot,
            lambda: (
                app.manager.state("web").status is ChunkStatus.RUNNING
                and len(app.manager.state("web").files_read) == 3
            ),
        )
        await pilot.pause(0.2)
        await _focus(pilot, await _panel_of(pilot, "web"))
        await pilot.press("space")
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.PAUSED)
        session = app.manager.state("web").session_id
        runner.hang.clear()
        await pilot.press("space")
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.DONE)
        resumed = runner.last_call("web")
        assert resumed.resume and resumed.session_id == session


async def test_finished_chunks_fold_into_full_width_lines_below_the_ones_at_work(
    make_run_app,
) -> None:
    """One chunk at work in a two-column grid: the finished lines still span the width."""
    app = make_run_app(ScriptedRunner(hang={"web"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: sum(c.status.finished for c in app.manager.checkpoint.chunks) == 4)
        await pilot.pause(0.5)
        web = await _panel_of(pilot, "web")
        finished = [p for p in app.screen.ordered_panels() if p.chunk != "web"]
        assert app.screen.ordered_panels()[0] is web and not web.finished
        assert len(finished) == 4 and all(p.finished for p in finished)
        for panel in finished:
            assert panel.region.height == 1
            assert panel.region.y > web.region.bottom - 1
            assert panel.region.width > 2 * web.region.width
        await _focus(pilot, web)
        await pilot.press("space")  # pause the one at work: the run ends
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.PAUSED)


async def test_c_cancels_after_confirmation_and_r_retries(make_run_app) -> None:
    runner = ScriptedRunner(hang={"web"})
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.RUNNING)
        await pilot.pause(0.2)
        await _focus(pilot, await _panel_of(pilot, "web"))
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")  # the dialog highlights "keep it running"
        await until(pilot, lambda: not isinstance(app.screen, PickerScreen))
        assert app.manager.state("web").status is ChunkStatus.RUNNING
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("up", "enter")
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.CANCELLED)
        runner.hang.clear()
        await pilot.press("r")
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.DONE)


async def test_a_failed_chunk_is_notified_and_retry_finishes_it(make_run_app) -> None:
    runner = ScriptedRunner(fail={"lib"})
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: not app.manager.active and app.run_started)
        assert app.manager.state("lib").status is ChunkStatus.FAILED
        await pilot.pause(0.3)
        assert any("lib failed: parse error" in n.message for n in app._notifications)
        runner.fail.clear()
        await _focus(pilot, await _panel_of(pilot, "lib"))
        await pilot.press("r")
        await until(pilot, lambda: app.manager.state("lib").status is ChunkStatus.DONE)


async def test_r_on_a_done_chunk_reviews_it_again_in_a_fresh_session(make_run_app) -> None:
    runner = ScriptedRunner()
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: not app.manager.active and app.run_started)
        before = app.manager.state("web")
        old_session, old_issues = before.session_id, list(before.issues)
        await _focus(pilot, await _panel_of(pilot, "web"))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        assert not app.screen.query("#filter")  # a yes-or-no question: nothing to type
        await pilot.press("down", "enter")  # "keep it as it is"
        await until(pilot, lambda: not isinstance(app.screen, PickerScreen))
        assert app.manager.state("web").session_id == old_session
        calls = len(runner.calls)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")  # the dialog highlights what the key asked for
        await until(pilot, lambda: len(runner.calls) > calls)
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.DONE)
        again = runner.last_call("web")
        assert not again.resume and again.session_id != old_session
        assert sorted(again.todo) == sorted(app.manager.state("web").files)  # every file
        # The new review's findings replace the old ones (the same here: no duplicates).
        assert set(app.manager.state("web").issues) == set(old_issues)
        assert len(app.manager.state("web").issues) == len(old_issues)


async def test_a_rate_limit_raises_a_notification_and_the_chunk_finishes(make_run_app) -> None:
    runner = ScriptedRunner(limit_once={"src-api"})
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(
            pilot, lambda: app.manager.state("src-api").status is ChunkStatus.DONE, tries=400
        )
        await pilot.pause(0.2)
        assert any("rate limited" in n.message for n in app._notifications)


async def test_many_rate_limited_workers_make_one_notice_not_a_toast_each(make_run_app) -> None:
    names = {"web", "src-api", "src-auth", "scripts+src"}
    runner = ScriptedRunner(limit_once=set(names))
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(
            pilot,
            lambda: all(app.manager.state(n).status is ChunkStatus.DONE for n in names),
            tries=400,
        )
        await pilot.pause(0.2)
        limits = [n.message for n in app._notifications if "ate limited" in n.message]
        assert len(limits) == 1 and limits[0].startswith("Rate limited: ")


async def test_a_asks_a_follow_up_in_the_chunks_session(make_run_app) -> None:
    runner = ScriptedRunner()
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: not app.manager.active and app.run_started)
        await pilot.pause(0.2)
        await _focus(pilot, await _panel_of(pilot, "web"))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press(*"worst one?", "enter")
        await until(pilot, lambda: any(not job.structured for job in runner.calls))
        ask = next(job for job in runner.calls if not job.structured)
        assert ask.resume and ask.session_id == app.manager.state("web").session_id
        assert "worst one?" in ask.prompt
        await pilot.pause(0.3)
        assert any("web answers" in (n.title or "") for n in app._notifications)
        # The answer stays in the chunk's log, where the user asked.
        panel = await _panel_of(pilot, "web")
        await until(
            pilot, lambda: any("Scripted answer about web." in line for line in panel.log_lines())
        )


async def test_enter_zooms_to_the_whole_log_and_P_and_plus_minus(make_run_app) -> None:
    runner = ScriptedRunner(hang={"web", "lib"})
    app = make_run_app(runner, workers=2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: len(app.manager.running) == 2)
        await pilot.pause(0.2)
        await _focus(pilot, await _panel_of(pilot, app.manager.running[0]))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ZoomScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ZoomScreen))
        await pilot.press("plus")
        assert app.manager.chunk_workers == 3
        await pilot.press("minus", "minus")
        assert app.manager.chunk_workers == 1
        await pilot.press("P")
        await until(pilot, lambda: not app.manager.running)
        assert all(
            c.status in (ChunkStatus.PAUSED, ChunkStatus.DONE) for c in app.manager.checkpoint.chunks
        )
        runner.hang.clear()
        await pilot.press("P")
        await until(
            pilot,
            lambda: all(c.status is ChunkStatus.DONE for c in app.manager.checkpoint.chunks),
            tries=400,
        )


async def test_issues_sort_filter_details_export_and_editor(
    make_run_app, shopfront, monkeypatch
) -> None:
    runner = ScriptedRunner()
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: not app.manager.active and app.run_started)
        await pilot.press("3")
        await pilot.pause(0.2)
        screen = app.screen
        assert screen._rows[0].severity.value == "high"  # worst first
        await pilot.press("greater_than_sign")  # by location
        assert [f.file for f in screen._rows] == sorted(f.file for f in screen._rows)
        await pilot.press("slash", *"web", "enter")
        await until(pilot, lambda: len(screen._rows) == 3)
        assert {f.chunk for f in screen._rows} == {"web"} and len(screen._rows) == 3
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FindingScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("escape")  # clears the filter
        await until(pilot, lambda: len(screen._rows) == 12)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"sarif", "enter")
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("enter")  # the proposed path
        await until(pilot, lambda: (shopfront / ".claude-tui" / "report.sarif").exists())
        sarif = json.loads((shopfront / ".claude-tui" / "report.sarif").read_text())
        assert len(sarif["runs"][0]["results"]) == 12
        opened: list[list[str]] = []
        monkeypatch.setenv("EDITOR", "myeditor --wait")
        monkeypatch.setattr("tui_orchestrator.ui.editor.run_editor", opened.append)
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await pilot.press("o")
        assert opened and opened[0][:3] == ["myeditor", "--wait", "+3"]


async def test_plus_grows_the_pool_only_as_far_as_free_memory_holds(
    make_run_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_orchestrator.engine import resources

    runner = ScriptedRunner(hang={"web", "lib", "src-api"})
    app = make_run_app(runner, workers=2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: len(app.manager.running) == 2)
        # Room for one more Claude Code process (about 300 MB), not two.
        monkeypatch.setattr(resources, "available_memory", lambda: resources.PER_WORKER_BYTES + 1)
        await pilot.press("plus")
        assert app.manager.chunk_workers == 3
        await until(pilot, lambda: len(app.manager.running) == 3)
        monkeypatch.setattr(resources, "available_memory", lambda: 1)
        await pilot.press("plus")
        assert app.manager.chunk_workers == 3
        await pilot.pause(0.1)
        assert any("capped at 3" in n.message for n in app._notifications)
        await pilot.press("minus", "minus", "minus")
        assert app.manager.chunk_workers == 1
        await pilot.pause(0.1)
        assert any("the fewest" in n.message for n in app._notifications)
        await pilot.press("P")
        await until(pilot, lambda: not app.manager.running)


async def _run_and_quit_mid_run(make_run_app) -> None:
    """Start every chunk (they hang), quit with four at work, close the session."""
    runner = ScriptedRunner(hang={"web", "lib", "src-api", "src-auth", "scripts+src"})
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: len(app.manager.running) == 4)
        await pilot.press("q")
        await until(pilot, lambda: not app.manager.running)
        await pilot.pause(0.3)
    app.open_run.close()


async def test_quit_pauses_running_workers_and_the_next_start_offers_to_continue(
    make_run_app, shopfront
) -> None:
    await _run_and_quit_mid_run(make_run_app)
    saved = CheckpointStore(default_checkpoint_path(shopfront)).load()
    assert saved is not None
    paused = [c for c in saved.chunks if c.status is ChunkStatus.PAUSED]
    assert len(paused) == 4 and all(c.session_id for c in paused)
    runner2 = ScriptedRunner()
    again = make_run_app(runner2)
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(again.screen, PickerScreen))
        assert "Continue the run?" in str(again.screen.query_one("#dialog").border_title)
        await pilot.press("enter")
        await until(
            pilot,
            lambda: all(c.status is ChunkStatus.DONE for c in again.manager.checkpoint.chunks),
            tries=400,
        )
        resumed = [job for job in runner2.calls if job.resume]
        assert {job.session_id for job in resumed} >= {c.session_id for c in paused}


async def test_sigterm_quits_as_q_does_and_exits_130(make_run_app, shopfront) -> None:
    runner = ScriptedRunner(hang={"web", "lib", "src-api", "src-auth", "scripts+src"})
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: len(app.manager.running) == 4)
        app._signalled()  # what the loop's SIGTERM handler calls
        app._signalled()  # a second signal while quitting changes nothing
        await until(pilot, lambda: app.return_code is not None)
    app.open_run.close()
    assert app.return_code == 130
    saved = CheckpointStore(default_checkpoint_path(shopfront)).load()
    assert saved is not None
    paused = [c for c in saved.chunks if c.status is ChunkStatus.PAUSED]
    assert len(paused) == 4 and all(c.session_id for c in paused)


async def test_a_hang_up_saves_frees_the_lock_and_leaves_at_once(make_run_app, shopfront) -> None:
    """The terminal is gone: the run is saved as on q, then the process ends (exit 130)."""
    runner = ScriptedRunner(hang={"web", "lib", "src-api", "src-auth", "scripts+src"})
    app = make_run_app(runner)
    left: list[int] = []
    app.leave_now = left.append
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: len(app.manager.running) == 4)
        app._hung_up()  # what the loop's SIGHUP handler calls
        await until(pilot, lambda: left == [130])
        assert not (shopfront / ".claude-tui" / "lock").exists()
    saved = CheckpointStore(default_checkpoint_path(shopfront)).load()
    assert saved is not None
    paused = [c for c in saved.chunks if c.status is ChunkStatus.PAUSED]
    assert len(paused) == 4 and all(c.session_id for c in paused)


async def test_a_paused_chunk_of_an_earlier_session_shows_where_its_log_stopped(
    make_run_app, shopfront
) -> None:
    await _run_and_quit_mid_run(make_run_app)
    # What the CLI streamed for web before the quit (the real runner keeps it there).
    read = {"type": "tool_use", "id": "t1", "name": "Read",
            "input": {"file_path": str(shopfront / "web" / "api.ts")}}  # fmt: skip
    lines = [
        {"type": "assistant", "message": {"content": [{"type": "text", "text": "Looking at the API."}]}},
        {"type": "assistant", "message": {"content": [read]}},
    ]  # fmt: skip
    log = shopfront / ".claude-tui" / "logs" / "web.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    again = make_run_app(ScriptedRunner())
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(again.screen, PickerScreen))
        await pilot.press("down", "enter")  # Not now: paused chunks wait
        await until(pilot, lambda: not isinstance(again.screen, PickerScreen))
        await pilot.press("2")
        web = await _panel_of(pilot, "web")
        assert web.log_lines()[-2:] == ["Looking at the API.", "→ Read web/api.ts"]
        assert again.manager.state("web").status is ChunkStatus.PAUSED


class _FixedClock:
    def __call__(self) -> float:
        return 1000.0


@pytest.fixture
def finished_run_app(make_run_app, monkeypatch: pytest.MonkeyPatch):
    """A run that finished with a fixed clock: the same screen every time."""
    monkeypatch.setattr("tui_orchestrator.engine.pool.STAGGER_S", 0.0)
    monkeypatch.setattr("tui_orchestrator.engine.pool.LAUNCH_GAP_S", 0.0)

    def make() -> ClaudeTuiApp:
        app = make_run_app(ScriptedRunner(fail={"lib"}))
        app.manager.pool.clock = Clock(monotonic=_FixedClock())
        return app

    return make


async def _run_to_the_end(pilot) -> None:
    app = pilot.app
    await pilot.press("R")
    await until(pilot, lambda: not app.manager.active and app.run_started)
    await pilot.pause(1.2)  # one tick of the grid's clock: every panel drawn
    # Focus went to whichever panel appeared first, which depends on timing: fix it.
    await _focus(pilot, app.screen.ordered_panels()[0])
    app.clear_notifications()
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_workers_grid_after_a_run(finished_run_app, snap_compare, size) -> None:
    async def run_before(pilot) -> None:
        await _run_to_the_end(pilot)

    assert snap_compare(finished_run_app(), terminal_size=size, run_before=run_before)


def _mid_run_app(make_run_app, monkeypatch):
    """Two chunks that stop mid-review (web after 1 file, src-api after 2), lib failing,
    on a clock that stands still: the same frame every time."""
    monkeypatch.setattr("tui_orchestrator.engine.pool.STAGGER_S", 0.0)
    monkeypatch.setattr("tui_orchestrator.engine.pool.LAUNCH_GAP_S", 0.0)
    app = make_run_app(ScriptedRunner(hang_at={"web": 1, "src-api": 2}, fail={"lib"}))
    app.manager.pool.clock = Clock(monotonic=_FixedClock())
    return app


async def _to_mid_run(pilot, app) -> None:
    """Run until three chunks finished and the other two stopped where they hang."""
    await pilot.press("R")
    await until(
        pilot,
        lambda: (
            sum(c.status.finished for c in app.manager.checkpoint.chunks) == 3
            and len(app.manager.state("src-api").files_read) == 2
            and len(app.manager.state("web").files_read) == 1
        ),
    )


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_workers_grid_mid_run(make_run_app, snap_compare, monkeypatch, size) -> None:
    """Two chunks at work (progress, activity, log, figures) above three finished lines."""
    app = _mid_run_app(make_run_app, monkeypatch)

    async def run_before(pilot) -> None:
        await _to_mid_run(pilot, app)
        await pilot.pause(1.2)  # one tick of the grid's clock: every panel drawn
        await _focus(pilot, await _panel_of(pilot, "src-api"))
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_plan_view_mid_run(make_run_app, snap_compare, monkeypatch, size) -> None:
    """The chunk list in run order with each chunk's status (words, or marks at 80
    columns), and the line below saying what is left of the run."""
    app = _mid_run_app(make_run_app, monkeypatch)

    async def run_before(pilot) -> None:
        await _to_mid_run(pilot, app)
        await pilot.press("1")
        app.clear_notifications()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_issues_table(finished_run_app, snap_compare, size) -> None:
    async def run_before(pilot) -> None:
        await _run_to_the_end(pilot)
        await pilot.press("3")
        await pilot.pause(0.2)

    assert snap_compare(finished_run_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_finding_details(finished_run_app, snap_compare, size) -> None:
    async def run_before(pilot) -> None:
        await _run_to_the_end(pilot)
        await pilot.press("3")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await pilot.pause(0.3)

    assert snap_compare(finished_run_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_zoomed_worker(finished_run_app, snap_compare, size) -> None:
    async def run_before(pilot) -> None:
        await _run_to_the_end(pilot)
        await _focus(pilot, await _panel_of(pilot, "lib"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, ZoomScreen))
        await pilot.pause(0.3)

    assert snap_compare(finished_run_app(), terminal_size=size, run_before=run_before)


async def test_end_to_end_with_the_fake_claude(
    shopfront, fake_env, make_run_app, monkeypatch
) -> None:
    """The app runs the sample repository through the fake `claude` executable."""
    from tui_orchestrator.engine.runner import ClaudeRunner

    for key, value in fake_env.env.items():
        if key.startswith("FAKE_CLAUDE"):
            monkeypatch.setenv(key, value)
    runner = ClaudeRunner(fake_env.env["CLAUDE_TUI_CLAUDE_BIN"])
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: not app.manager.active and app.run_started, tries=1500)
        await pilot.press("3")
        await pilot.pause(0.3)
        table = app.screen.query_one("#issues-table")
        assert table.row_count == 16  # the sample repository's BUG markers
        titles = {f.title for f in app.screen._rows}
        assert "SQL built from request input" in titles
    saved = CheckpointStore(default_checkpoint_path(shopfront)).load()
    assert saved is not None and all(c.status is ChunkStatus.DONE for c in saved.chunks)
    assert sum(len(c.issues) for c in saved.chunks) == 16
    assert all(c.session_id for c in saved.chunks)


def test_the_empty_workers_view_says_where_earlier_runs_stand() -> None:
    from types import SimpleNamespace

    from tui_orchestrator.ui.screens.workers import PLACEHOLDER, placeholder_text

    def chunks(*statuses: ChunkStatus) -> list:
        return [SimpleNamespace(status=s) for s in statuses]

    assert placeholder_text(chunks(ChunkStatus.PENDING, ChunkStatus.PENDING)) == PLACEHOLDER
    text = placeholder_text(chunks(ChunkStatus.DONE, ChunkStatus.DONE, ChunkStatus.FAILED))
    assert "2 done, 1 failed of 3 chunks" in text and "P continues" not in text
    text = placeholder_text(chunks(ChunkStatus.DONE, ChunkStatus.PAUSED, ChunkStatus.PENDING))
    assert "1 done, 1 paused, 1 pending of 3 chunks" in text and "P continues the run" in text


async def test_the_totals_clock_skips_a_view_still_being_composed(make_run_app) -> None:
    """The 1 s totals tick once hit a view between its switch and its compose (a crash)."""
    app = make_run_app(ScriptedRunner(hang={"web"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.RUNNING)
        app.switch_mode("issues")  # the issues view's first showing: composed later
        app._tick_totals()
        await pilot.pause(0.1)
        assert app.current_mode == "issues"
        assert "running" in str(app.screen.query_one("StatusLine").render())
        app.manager.pause("web")
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.PAUSED)


async def test_a_panel_names_the_machine_a_remote_executor_placed_its_chunk_on(
    make_run_app,
) -> None:
    app = make_run_app(ScriptedRunner(hang={"web"}, hosts={"web": "10.0.0.7:40123"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(
            pilot,
            lambda: (
                app.manager.state("web").status is ChunkStatus.RUNNING
                and app.manager.state("web").host == "10.0.0.7:40123"
            ),
        )
        panel = await _panel_of(pilot, "web")
        await until(pilot, lambda: "on 10.0.0.7:40123" in str(panel.border_subtitle))
        # The log line comes with the next flush of the stream (every 50-100 ms), which
        # may be one frame after the subtitle read the chunk's state.
        await until(
            pilot, lambda: any("running on 10.0.0.7:40123" in line for line in panel.log_lines())
        )
        app.manager.pause("web")
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.PAUSED)


async def test_the_demo_backend_is_labelled_in_the_header_of_every_view(make_run_app) -> None:
    app = make_run_app(ScriptedRunner(), demo=True)
    async with app.run_test(size=(80, 24)) as pilot:
        for view in ("1", "2", "3"):
            await pilot.press(view)
            await pilot.pause(0.1)
            assert "DEMO" in str(app.screen.query_one("StatusLine").render()), view
        await pilot.press("2", "R")
        await until(pilot, lambda: not app.manager.active and app.run_started)
        await pilot.pause(0.2)
        assert "DEMO" in str(app.screen.query_one("StatusLine").render())


async def test_a_full_disk_is_named_in_the_header_until_the_checkpoint_is_saved_again(
    make_run_app,
) -> None:
    app = make_run_app(ScriptedRunner(hang={"web"}))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.press("R")
        manager = app.manager
        await until(pilot, lambda: manager.state("web").status is ChunkStatus.RUNNING)
        write_text, full = manager.store.write_text, True

        def write_or_fail(text: str) -> None:
            if full:
                raise OSError(errno.ENOSPC, "No space left on device")
            write_text(text)

        manager.store.write_text = write_or_fail
        manager.writer.retry_s = 0.05
        manager.writer.changed()
        status = app.screen.query_one("StatusLine")
        await until(pilot, lambda: "disk full: no new starts" in str(status.render()))
        full = False
        await until(pilot, lambda: "disk full" not in str(status.render()))
        manager.pause("web")
        await until(pilot, lambda: manager.state("web").status is ChunkStatus.PAUSED)


class _ClaudeGone(ScriptedRunner):
    """Claude Code disappears mid-run (removed, or a remote worker without it)."""

    async def run(self, job, emit):
        if job.chunk == "web":
            raise ClaudeNotFoundError("Claude Code executable not found: claude")
        return await super().run(job, emit)


async def test_a_claude_code_that_goes_missing_mid_run_is_shown_not_swallowed(
    make_run_app,
) -> None:
    app = make_run_app(_ClaudeGone())
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: app.run_started and not app.manager.active)
        status = app.screen.query_one("StatusLine")
        # A notice says why the run stopped, and the header keeps saying it.
        await until(
            pilot,
            lambda: any(
                n.severity == "error" and "Claude Code executable not found" in n.message
                for n in app._notifications
            ),
        )
        await until(
            pilot, lambda: "run stopped: Claude Code executable not found" in str(status.render())
        )
        # Nothing is lost: the chunk waits, resumable, for a Claude Code that is back.
        assert app.manager.state("web").status is ChunkStatus.PENDING
        assert app.manager.run_view().error.startswith("Claude Code executable not found")


async def test_the_whole_log_follows_a_new_attempt_and_the_end_of_the_chunk(
    make_run_app,
) -> None:
    """The zoomed log lost attempt 2's header and kept saying "running" after the end."""
    runner = ScriptedRunner(hang={"web"})
    app = make_run_app(runner, workers=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: app.manager.running == ["web"])
        await _focus(pilot, await _panel_of(pilot, "web"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ZoomScreen) and app.screen._loaded)
        zoom = app.screen
        log = zoom.query_one(Log)
        app.manager.pause("web")
        await until(pilot, lambda: app.manager.state("web").status is ChunkStatus.PAUSED)
        app.manager.resume("web")
        await until(pilot, lambda: any("attempt 2, resuming" in line for line in log.lines))
        shown = list(log.lines)
        header = next(i for i, line in enumerate(shown) if "attempt 2, resuming" in line)
        await until(pilot, lambda: len(log.lines) > header + 2)  # its first lines follow
        app.manager.cancel("web")
        await until(pilot, lambda: "── cancelled" in log.lines[header:])
        title = str(zoom.query_one("#zoom-title", Static).render())
        assert "web · cancelled" in title


def test_live_lines_join_the_file_read_without_a_gap_or_a_repeat() -> None:
    from tui_orchestrator.ui.screens.zoom import after_overlap

    assert after_overlap(["a", "b", "c"], ["b", "c", "d"]) == ["d"]  # the file had two
    assert after_overlap(["a", "b"], ["c", "d"]) == ["c", "d"]  # the file had none yet
    assert after_overlap(["a", "b"], ["a", "b"]) == []
    assert after_overlap([], ["x"]) == ["x"]


async def test_P_after_not_now_continues_the_run_and_P_again_pauses_it(
    make_run_app, shopfront
) -> None:
    """After "Not now", the first P paused every pending chunk too (109 paused, 0 running)."""
    await _run_and_quit_mid_run(make_run_app)  # 4 paused, 1 pending
    again = make_run_app(ScriptedRunner(hang={"web", "lib", "src-api", "src-auth", "scripts+src"}))
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(again.screen, PickerScreen))
        await pilot.press("down", "enter")  # Not now
        await until(pilot, lambda: not isinstance(again.screen, PickerScreen))
        await pilot.press("2", "P")
        await until(pilot, lambda: len(again.manager.running) == 4)
        assert again.manager.run_view().tally[ChunkStatus.PAUSED] == 0
        await pilot.press("P")
        await until(pilot, lambda: not again.manager.running)
        tally = again.manager.run_view().tally
        assert tally[ChunkStatus.PAUSED] == 5 and tally[ChunkStatus.PENDING] == 0
        await pilot.press("P")  # and back: the whole run continues
        await until(pilot, lambda: len(again.manager.running) == 4)
    again.open_run.close()


async def test_chunks_finished_in_an_earlier_run_can_be_opened_asked_and_reviewed_again(
    make_run_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart, "Earlier runs: 5 done" and then enter, a and r said "Focus a worker
    panel first": the finished chunks had no line to focus."""
    monkeypatch.setattr("tui_orchestrator.engine.pool.STAGGER_S", 0.0)
    monkeypatch.setattr("tui_orchestrator.engine.pool.LAUNCH_GAP_S", 0.0)
    first = make_run_app(ScriptedRunner(fail={"lib"}))
    async with first.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: first.run_started and not first.manager.active, tries=600)
        await pilot.press("q")
    first.open_run.close()

    again = make_run_app(ScriptedRunner())
    async with again.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: len(again.screen.ordered_panels()) == 5)
        placeholder = again.screen.query_one("#workers-placeholder", Static)
        assert "4 done, 1 failed of 5 chunks" in str(placeholder.render())
        assert "the lines below" in str(placeholder.render())
        web = _panel(again, "web")
        await _focus(pilot, web)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(again.screen, ZoomScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(again.screen, ZoomScreen))
        await _focus(pilot, _panel(again, "web"))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(again.screen, NameScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(again.screen, NameScreen))
        await _focus(pilot, _panel(again, "web"))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(again.screen, PickerScreen))
        assert "web" in str(again.screen.query_one("#dialog").border_title)
    again.open_run.close()
