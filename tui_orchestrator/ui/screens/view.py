"""What every view shares: the tabs, the totals line, the footer, and the palette's commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import events, on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Tabs

from tui_orchestrator.ui.bridge import Batch
from tui_orchestrator.ui.commands import ViewCommands
from tui_orchestrator.ui.widgets.footer import Footer
from tui_orchestrator.ui.widgets.status_line import StatusLine
from tui_orchestrator.ui.widgets.view_tabs import ViewTabs

if TYPE_CHECKING:
    from tui_orchestrator.ui.app import ClaudeTuiApp


class ViewScreen(Screen[None]):
    """One of the three views (a mode of the app): tabs and totals on top, keys below."""

    VIEW: ClassVar[str] = ""
    TITLE_TEXT: ClassVar[str] = ""

    COMMANDS = {ViewCommands}

    _shown: tuple[int, str] = (-1, "")
    # A run batch came while another view was on screen: redraw the run's parts on resume.
    _run_stale = False

    @property
    def tui(self) -> ClaudeTuiApp:
        return cast("ClaudeTuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield ViewTabs(self.VIEW)
        yield StatusLine(id="totals")
        yield from self.compose_view()
        yield Footer(compact=True)

    def compose_view(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.tui.register_view(self)
        self.plan_changed()

    def on_screen_resume(self, _: events.ScreenResume) -> None:
        # The plan or the theme may have changed while this view was hidden.
        if self._shown != (self.tui.plan_version, self.app.theme):
            self.plan_changed()
        if self._run_stale:
            self._run_stale = False
            self.run_changed(None)

    def plan_changed(self, select: str | None = None) -> None:
        """The plan (or its figures) changed: show it. Views add their own parts."""
        self._shown = (self.tui.plan_version, self.app.theme)
        self.query_one(StatusLine).show_totals(self.tui)

    async def rebuild(self) -> None:
        """The repository has been read (behind the first frame): compose what waited for it."""

    def opened(self) -> None:
        """The plan is there and the keys are in: show it."""
        self.plan_changed()

    def opening_changed(self) -> None:
        """The opening got further: views that show it add their own parts."""

    def run_changed(self, batch: Batch | None) -> None:
        """The run moved (a batch of engine events): views add their own parts."""
        if not self.is_current and batch is not None:
            # Hidden views catch up when they are shown again (on_screen_resume).
            self._run_stale = True
            return
        if batch is None or batch.totals:
            self.show_totals()

    def show_totals(self) -> None:
        self.query_one(StatusLine).show_totals(self.tui)

    @on(Tabs.TabActivated)
    def _tab_clicked(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id and event.tab.id != self.VIEW:
            # Leave this tab highlighted: the view we switch to shows its own.
            event.tabs.active = self.VIEW
            self.tui.switch_view(event.tab.id)
