"""The dialogs: a hint is read whole at any width, and an empty name says why nothing
happened."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Label

from tui_orchestrator.ui.screens.modals import NameScreen

from .conftest import until

HINT = (
    "A follow-up in this chunk's session; the answer appears in its log, and the cost is "
    "counted against the budget like every other process"
)


class _Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(NameScreen("Ask web", "", hint=HINT), self.answers.append)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
async def test_a_long_hint_wraps_inside_the_dialog(size: tuple[int, int]) -> None:
    app = _Host()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        hint = app.screen.query_one("#hint", Label)
        dialog = app.screen.query_one("#dialog")
        assert hint.size.height >= 2  # wrapped, where it was cut at the dialog's edge
        assert hint.region.right <= dialog.content_region.right


async def test_an_empty_name_says_why_nothing_happened() -> None:
    app = _Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, NameScreen) and app.answers == []
        assert any("cannot be empty" in n.message for n in app._notifications)
