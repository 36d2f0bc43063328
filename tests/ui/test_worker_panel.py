"""One worker panel on its own: rows stay rows, and the file count stays in sight."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui_orchestrator.engine.checkpoint import ChunkState, ChunkStatus
from tui_orchestrator.engine.views import Runtime, chunk_view
from tui_orchestrator.ui.widgets.worker_panel import WorkerPanel, panel_view


def test_a_multi_line_activity_or_error_is_one_row() -> None:
    state = ChunkState("c", ["a.py", "b.py"], status=ChunkStatus.RUNNING)
    view = panel_view(chunk_view(state, Runtime(activity="Bash cat <<EOF\nx\nEOF"), 3.0, 3))
    assert view.activity == "Bash cat <<EOF ⏎ x ⏎ EOF"
    failed = ChunkState("c", ["a.py"], status=ChunkStatus.FAILED, error="boom\ntrace")
    assert "\n" not in panel_view(chunk_view(failed, Runtime(), 0.0, 3)).label


class _One(App[None]):
    def compose(self) -> ComposeResult:
        yield WorkerPanel("c")


async def test_wide_characters_do_not_push_the_file_count_out() -> None:
    app = _One()
    async with app.run_test(size=(40, 16)) as pilot:
        panel = app.query_one(WorkerPanel)
        state = ChunkState("c", ["a.py", "b.py", "c.py"], status=ChunkStatus.RUNNING)
        # A label longer than the row ("running · resuming session"), an activity of wide
        # characters over two lines.
        runtime = Runtime(activity="レート制限のため待機中です\nしばらくお待ちください", resumed=True)
        panel.append([f"line {i}" for i in range(20)])
        panel.show(chunk_view(state, runtime, 1.0, 3))
        await pilot.pause()
        lines = [strip.text for strip in panel.render_lines(panel.region.reset_offset)]
        head, activity = lines[1], lines[3]
        assert head.rstrip().rstrip("│").rstrip().endswith("0/3 files")
        assert "レート制限" in activity and "⏎" in activity
        # Every log row shown is one of the newest lines, the newest at the bottom.
        assert "line 19" in lines[-2] and "line 12" in lines[4]


def test_a_running_panel_shows_its_spend_so_far_and_a_resume_is_no_new_try() -> None:
    state = ChunkState(
        "c", ["a.py"], status=ChunkStatus.RUNNING, attempts=2, resumes=1, session_id="abcdef0123"
    )
    runtime = Runtime(task=None, live_tokens=12_345, live_cost_usd=0.034)
    figures = panel_view(chunk_view(state, runtime, 0.0, 3)).figures
    assert "12.3k tok · ~$0.03 · try 1, resumed 1× · abcdef01" in figures
    # Once the result is in, the real cost, without the "~".
    state.cost_usd, state.input_tokens, state.status = 0.05, 12_000, ChunkStatus.DONE
    assert "12.0k tok · $0.05 · try 1, resumed 1×" in panel_view(
        chunk_view(state, Runtime(), 0.0, 3)
    ).figures
