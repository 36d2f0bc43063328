"""Snapshots of the app at 120x40 and 80x24 (update with ``pytest --snapshot-update``).

Deterministic by construction: the bundled sample repository copied to a fixed folder
name, a test config folder, line counts finished before the shot, no clock on screen and
the text cursor's blinking stopped.
"""

from __future__ import annotations

import time

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]


async def _steady(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    for screen in pilot.app.screen_stack:
        for field in screen.query(Input):
            field.cursor_blink = False
    await pilot.pause()


async def _palette_ready(pilot: Pilot) -> None:
    palette = pilot.app.screen
    for _ in range(100):
        await pilot.pause(0.02)
        if not palette._show_busy:
            break
    await _steady(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_plan_view(snap_compare, make_app, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=_steady)


@pytest.mark.parametrize("size", SIZES)
def test_plan_view_with_a_folder_open(snap_compare, make_app, size):
    async def open_src(pilot: Pilot) -> None:
        await _steady(pilot)
        pilot.app.screen.tree.reveal("src/auth/session.py")
        await _steady(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_src)


@pytest.mark.parametrize("size", SIZES)
def test_plan_view_second_theme(snap_compare, make_app, size):
    assert snap_compare(make_app(theme="claude-tui-light"), terminal_size=size, run_before=_steady)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, make_app, size):
    async def open_help(pilot: Pilot) -> None:
        await _steady(pilot)
        await pilot.press("question_mark")
        await _steady(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_help)


@pytest.mark.parametrize("size", SIZES)
def test_palette(snap_compare, make_app, size):
    async def open_palette(pilot: Pilot) -> None:
        await _steady(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"chunk")
        await _palette_ready(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_palette)


@pytest.mark.parametrize("size", SIZES)
def test_move_picker(snap_compare, make_app, size):
    async def open_picker(pilot: Pilot) -> None:
        await _steady(pilot)
        pilot.app.screen.tree.reveal("src/auth")
        await pilot.press("m")
        await _steady(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_picker)


@pytest.mark.parametrize("size", SIZES)
def test_workers_view(snap_compare, make_app, size):
    assert snap_compare(make_app(), terminal_size=size, press=["2"], run_before=_steady)


@pytest.mark.parametrize("size", SIZES)
def test_plan_view_while_the_repository_is_read(snap_compare, shopfront, size):
    """The first frame on a big repository: the plan view, saying how far the reading got."""
    from tui_orchestrator.ui.app import ClaudeTuiApp
    from tui_orchestrator.ui.opening import Opening

    from .conftest import TEST_CONFIG

    def reading(progress):  # type: ignore[no-untyped-def]
        # Held at one step until the app quits (progress raises then).
        while True:
            progress("49,152 of 98,304 files read")
            time.sleep(0.01)

    async def first_frame(pilot: Pilot) -> None:
        for _ in range(100):
            await pilot.pause(0.02)
            if "49,152" in str(pilot.app.screen.query_one("#totals").render()):
                break
        else:
            raise AssertionError("the opening's step never showed")
        await pilot.pause()

    app = ClaudeTuiApp(opening=Opening(shopfront, TEST_CONFIG, reading))
    assert snap_compare(app, terminal_size=size, run_before=first_frame)
