"""At 80 columns the header keeps what a user watches: done, issues, cost and ETA."""

from __future__ import annotations

import time

from tests.ui.conftest import until
from tests.ui.scripted import ScriptedRunner
from tui_orchestrator.ui.widgets.status_line import StatusLine

NARROW = (80, 24)


async def test_a_rate_limit_at_80_columns_leaves_issues_cost_and_eta_in_sight(
    make_run_app,
) -> None:
    runner = ScriptedRunner(hang={"lib"}, fail={"scripts+src"})
    app = make_run_app(runner, max_budget_usd=5.0)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("R")
        settled = {"web", "src-api", "src-auth", "scripts+src"}
        await until(
            pilot, lambda: all(app.manager.state(n).status.finished for n in settled), tries=400
        )
        # A limit pauses the pool for two minutes (as a 429 with retry-after would).
        app.manager.pool.on_limit(time.monotonic(), 120.0, running=1)
        app.screen.show_totals()
        await pilot.pause()
        line = app.screen.query_one(StatusLine)
        header = str(line.render())
        assert len(header) <= line.content_region.width, header  # nothing cut off the end
        for words in ("3/5 done", "1 failed", "limited ", "8 issues", "$0.03/$5.00"):
            assert words in header, (words, header)
        assert "ETA " in header, header
        # At 160 columns there is room for the whole sentence and the workers.
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        wide = str(app.screen.query_one(StatusLine).render())
        assert "rate limited: pool paused " in wide and "1 running" in wide, wide
        assert "$0.03 of $5.00 budget" in wide, wide


async def test_at_80_columns_the_chunk_list_keeps_every_number_column_and_marks_status(
    make_run_app,
) -> None:
    from tui_orchestrator.ui.widgets.chunk_table import ChunkTable

    runner = ScriptedRunner(fail={"lib"})
    app = make_run_app(runner)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: not app.manager.active and app.run_started, tries=400)
        await pilot.press("1")
        await pilot.pause(0.3)
        table = app.screen.query_one(ChunkTable)
        lines = [strip.text for strip in table.render_lines(table.region.reset_offset)]
        header = lines[0]
        assert header.rstrip().endswith("bytes"), header  # the last column whole
        rows = {line.split()[0]: line for line in lines[1:6]}
        assert "✗" in next(line for name, line in rows.items() if name.startswith("lib"))
        assert "✓" in next(line for name, line in rows.items() if name.startswith("web"))
        # Wide enough, the status takes its word.
        await pilot.resize_terminal(160, 48)
        await pilot.pause(0.3)
        wide = [strip.text for strip in table.render_lines(table.region.reset_offset)]
        assert "status" in wide[0] and any("failed" in line for line in wide)


async def test_at_80_columns_every_views_key_bar_ends_with_help_and_quit(make_run_app) -> None:
    from textual.widgets._footer import FooterKey

    app = make_run_app(ScriptedRunner())
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: not app.manager.active and app.run_started, tries=400)
        for view in "123":
            await pilot.press(view)
            await pilot.pause(0.3)
            keys = {key.action: key for key in app.screen.query(FooterKey)}
            for action in ("help", "quit_app"):
                assert keys[action].region.right <= NARROW[0], (view, action)
                assert keys[action].region.width > 0, (view, action)


async def test_the_header_counts_down_a_usage_limit_in_local_time(make_run_app) -> None:
    from tui_orchestrator.engine.usage_limit import UsageLimit, local_clock

    app = make_run_app(ScriptedRunner(), max_usage_wait_s=60.0)
    # The app waits however long a reset takes (a headless run stops past the setting).
    assert app.manager.pool.max_usage_wait_s is None
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: not app.manager.active and app.run_started, tries=400)
        reset = (int(time.time()) // 60 + 73) * 60  # on a minute: 1h12m-1h13m away
        app.manager.pool.on_usage_limit(UsageLimit(reset, "five_hour"), time.monotonic())
        app.screen.show_totals()
        await pilot.pause()
        header = str(app.screen.query_one(StatusLine).render())
        clock = local_clock(reset)  # ("Mon 00:01" when the reset is past midnight)
        assert f"usage limit (five-hour) · resets {clock} (in 1h1" in header, header
        # At 80 columns it keeps its essentials: the wait and the figures.
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        narrow = str(app.screen.query_one(StatusLine).render())
        assert "usage limit 1h1" in narrow and "issues" in narrow, narrow
