"""The Workers view: a panel per chunk at work, and the keys that steer each worker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.events import Resize, ScreenResume
from textual.widgets import Static

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.views import ChunkView, Waiting
from tui_orchestrator.engine.wording import plural
from tui_orchestrator.ui.bridge import RECENT_LINES, Batch
from tui_orchestrator.ui.screens.modals import Choice, NameScreen, PickerScreen
from tui_orchestrator.ui.screens.view import ViewScreen
from tui_orchestrator.ui.screens.zoom import ZoomScreen, log_tail
from tui_orchestrator.ui.widgets.worker_panel import WorkerPanel

PLACEHOLDER = """\
[b]No run yet.[/b] Press [b]R[/b] to run every pending chunk of the plan.

Each chunk at work gets a panel here: its status, a progress bar (files read out of the \
chunk's files), the current activity, a log of the agent's text and tool calls, and its \
time, tokens, cost, attempts and session. [b]space[/b] pauses or resumes the focused one, \
[b]c[/b] cancels, [b]r[/b] retries, [b]a[/b] asks a follow-up, [b]enter[/b] zooms; \
[b]P[/b] pauses or resumes all, [b]+[/b]/[b]-[/b] change the number of workers.
"""

_EARLIER = """\
[b]No worker at work.[/b] Earlier runs of this checkpoint: {summary}.

[b]3[/b] shows their findings; [b]R[/b] runs the pending chunks{paused}. Each chunk at work \
gets a panel here; one that finishes folds into a line.
"""


_LINES_BELOW = """
The chunks that finished are the lines below: [b]enter[/b] opens a log, [b]a[/b] asks a \
follow-up in the chunk's session, [b]r[/b] reviews it again."""

# At most this many finished chunks of earlier runs get a line of their own.
EARLIER_LINES = 300


def placeholder_text(chunks: Sequence[ChunkView], *, lines: bool = False, hidden: int = 0) -> str:
    """What the view says when no chunk is at work: how to start, or where the
    checkpoint's earlier runs stand (``lines``: their finished chunks are listed below,
    ``hidden`` of them left out)."""
    counts = Counter(c.status for c in chunks)
    if counts[ChunkStatus.PENDING] == len(chunks):
        return PLACEHOLDER
    summary = ", ".join(
        f"{counts[status]} {status.value}"
        for status in (
            ChunkStatus.DONE,
            ChunkStatus.FAILED,
            ChunkStatus.CANCELLED,
            ChunkStatus.PAUSED,
            ChunkStatus.PENDING,
        )
        if counts[status]
    )
    paused = " (paused ones wait for you: P continues the run)"
    text = _EARLIER.format(
        summary=f"{summary} of {plural(len(chunks), 'chunk')}",
        paused=paused if counts[ChunkStatus.PAUSED] else "",
    )
    if lines:
        text += _LINES_BELOW
        if hidden:
            text += f" The first {EARLIER_LINES} are listed; the Issues view has every finding."
    return text


# A panel needs this many columns; the grid shows as many side by side as fit.
PANEL_WIDTH = 56
# Below this many rows the panels' logs shrink so two panels still fit at 80x24.
SHORT_HEIGHT = 32


# The footer shows `+` and `-` as one item: "+ - Workers".
WORKER_COUNT = Binding.Group("Workers")


class WorkersScreen(ViewScreen):
    """Live worker panels over the run's manager."""

    CSS_PATH = "workers.tcss"
    VIEW = "workers"
    TITLE_TEXT = "Workers"
    BINDING_GROUP_TITLE = "Workers view"

    BINDINGS = [
        Binding("space", "toggle_pause", "Pause", tooltip="Pause the focused worker (its session is kept), or resume it", id="workers.pause"),
        Binding("c", "cancel_chunk", "Cancel", tooltip="Cancel the focused worker's chunk (asks first)", id="workers.cancel"),
        Binding("r", "retry_chunk", "Retry", tooltip="Queue the focused chunk again, resuming its session (a done one: review it anew)", id="workers.retry"),
        Binding("a", "ask", "Ask", tooltip="Ask a follow-up question in the focused chunk's session", id="workers.ask"),
        Binding("enter", "zoom", "Zoom", tooltip="Show the focused worker's whole log", id="workers.zoom"),
        Binding("P", "pause_all", "Pause all", tooltip="Pause the whole run; when nothing runs, continue it (resume the paused chunks, run the pending ones)", id="workers.pause_all"),
        Binding("plus,equals_sign", "more_workers", "One more worker", tooltip="Run one more worker at once", id="workers.more", group=WORKER_COUNT),
        Binding("minus", "fewer_workers", "One worker fewer", tooltip="Run one worker fewer at once", id="workers.fewer", group=WORKER_COUNT),
        Binding("R", "app.run_all", "Run", show=False, tooltip="Run every pending chunk of the plan", id="workers.run_all"),
        Binding("down,j", "move('down')", "Next row", show=False, tooltip="Focus the panel below", id="workers.down"),
        Binding("up,k", "move('up')", "Previous row", show=False, tooltip="Focus the panel above", id="workers.up"),
        Binding("right,l", "move('right')", "Next panel", show=False, tooltip="Focus the next panel", id="workers.right"),
        Binding("left,h", "move('left')", "Previous panel", show=False, tooltip="Focus the previous panel", id="workers.left"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.panels: dict[str, WorkerPanel] = {}
        self.columns = 0  # set by the first Resize
        # Finished chunks of earlier runs given a line, and those left out past the cap.
        self._earlier_shown = 0
        self._earlier_hidden = 0

    def compose_view(self) -> ComposeResult:
        # A plain container that scrolls: the arrow keys belong to the view (panel focus).
        with Vertical(id="workers-body"):
            yield Static(PLACEHOLDER, id="workers-placeholder", classes="placeholder")
            yield Grid(id="workers-grid")
            # Finished chunks, one line each, below the ones at work.
            yield Vertical(id="workers-done")

    def on_mount(self) -> None:
        # (ViewScreen's own on_mount runs too: Textual calls the handler of every class.)
        self.set_interval(1.0, self._tick)
        # Panels scrolled into sight draw what they missed (only visible ones are drawn).
        body = self.query_one("#workers-body")
        self.watch(body, "scroll_y", lambda _: self.call_after_refresh(self._redraw), init=False)
        self.run_changed(None)

    @on(Resize)
    def _resized(self, event: Resize) -> None:
        columns = max(1, event.size.width // PANEL_WIDTH)
        self.set_class(event.size.height < SHORT_HEIGHT, "-short")
        if columns != self.columns:
            self.columns = columns
            self.query_one("#workers-grid", Grid).styles.grid_size_columns = columns

    @on(ScreenResume)
    def _focus_on_resume(self) -> None:
        self._focus_first()

    # Showing the run ---------------------------------------------------------------------

    def _visible(self, view: ChunkView) -> bool:
        """A panel for chunks that run, wait on a limit or retry, are paused, or finished
        (here or in an earlier run: a line below, to open its log, ask or review again)."""
        if view.status is ChunkStatus.PENDING:
            return view.waiting is not Waiting.NONE or view.at_work
        if view.status is ChunkStatus.PAUSED:
            # Paused before it ever started (P on a long queue): no panel for it.
            return view.started
        if view.finished and view.name not in self.tui.finished_here:
            # Of an earlier run: the first EARLIER_LINES of them (a line is a widget, and
            # ten thousand of them would slow every frame); the Issues view has them all.
            if self._earlier_shown >= EARLIER_LINES:
                self._earlier_hidden += 1
                return False
            self._earlier_shown += 1
        return True

    def run_changed(self, batch: Batch | None) -> None:
        super().run_changed(batch)
        manager = self.tui.manager
        placeholder = self.query_one("#workers-placeholder")
        if manager is None:
            placeholder.display = True
            return
        panels = self.panels
        names = batch.chunks if batch is not None else set(manager.names)
        new: list[WorkerPanel] = []
        order = self._plan_order()
        for name in names:
            if name in panels:
                continue
            try:
                view = manager.chunk_view(name)
            except KeyError:
                continue  # a chunk the plan no longer has
            if self._visible(view):
                panels[name] = panel = WorkerPanel(name)
                # Made after some of its lines went by (the view opened late, the chunk
                # was not shown yet): it starts with the recent ones.
                seed = self.tui.bridge.recent_lines(name)
                if batch is not None and name in batch.lines:
                    seed = seed[: max(0, len(seed) - len(batch.lines[name]))]  # come below
                elif not seed and (path := manager.log_path(name)) is not None:
                    # A chunk of an earlier session (paused, failed): its log file says
                    # where it stopped.
                    seed = log_tail(path, str(manager.root), RECENT_LINES)
                panel.append(seed)
                self._show(panel)  # drawn right from its first frame
                self._mount_in_order(panel, order)
                new.append(panel)
        if new:
            self._focus_first()
        # Said while nothing runs and no chunk ran here: where the earlier runs stand.
        at_work = any(not panel.finished for panel in panels.values())
        ran_here = not self.tui.finished_here.isdisjoint(panels)
        placeholder.display = not at_work and not ran_here
        if placeholder.display:
            views = manager.chunk_views()
            placeholder.update(
                placeholder_text(views, lines=bool(panels), hidden=self._earlier_hidden)
            )
        for name in names:
            panel = panels.get(name)
            if panel is not None:
                panel.stale = True
        if batch is not None:
            for name, lines in batch.lines.items():
                panel = panels.get(name)
                if panel is not None:
                    panel.append(lines)
        if self.is_current or batch is None:
            # A hidden grid only queues (bounded); it redraws when shown again.
            self._redraw(new)

    def _redraw(self, new: list[WorkerPanel] | None = None) -> None:
        """Redraw the stale panels that are in sight; the others wait until they are.

        A panel is drawn at least once, and whenever its chunk finishes (it collapses to a
        line, which moves the others), whether in sight or not.
        """
        manager = self.tui.manager
        if manager is None:
            return
        done = self.query_one("#workers-done")
        moved: list[WorkerPanel] = []
        for panel in list(self.panels.values()):
            if not panel.stale:
                continue
            if not panel.is_mounted:
                # Mounting: drawn when it says it is ready. (Calling back here until it
                # was spun the screen's queue and could starve the mount it waited on.)
                continue
            try:
                finished = manager.chunk_view(panel.chunk).finished
            except KeyError:
                continue
            if finished != (panel.parent is done):
                moved.append(panel)  # drawn in its new place, not here first
            elif panel.on_screen or panel.view is None or finished != panel.finished:
                self._show(panel)
                panel.flush()
                panel.stale = not (panel.on_screen or panel.finished)
        if moved:
            order = self._plan_order()
            for panel in moved:
                self._move(panel, order)
        if new or moved:
            # New or moved panels move the others: draw the ones now in sight.
            self.call_after_refresh(self._redraw)

    @on(WorkerPanel.Ready)
    def _panel_ready(self) -> None:
        self.call_after_refresh(self._redraw)

    @on(events.Resize)
    def _scrolled_or_resized(self) -> None:
        self.call_after_refresh(self._redraw)

    def _show(self, panel: WorkerPanel) -> None:
        manager = self.tui.manager
        assert manager is not None
        try:
            panel.show(manager.chunk_view(panel.chunk))
        except KeyError:
            return  # a chunk the plan no longer has

    def _plan_order(self) -> dict[str, int]:
        manager = self.tui.manager
        names = manager.names if manager is not None else []
        return {name: i for i, name in enumerate(names)}

    def _mount_in_order(self, panel: WorkerPanel, order: dict[str, int]) -> None:
        """Chunks at work in the grid, finished ones in the list below; each in plan order."""
        container = self.query_one("#workers-done" if panel.finished else "#workers-grid")
        last = len(order)
        place = order.get(panel.chunk, last)
        before = next(
            (
                child
                for child in container.children
                if isinstance(child, WorkerPanel) and order.get(child.chunk, last) > place
            ),
            None,
        )
        container.mount(panel, before=before)

    def _move(self, panel: WorkerPanel, order: dict[str, int]) -> None:
        """A chunk finished (or runs again): its panel changes place, its log goes along."""
        fresh = WorkerPanel(panel.chunk)
        fresh.lines = panel.lines  # (an open log, "-open", stays behind: the chunk moved on)
        self._show(fresh)
        had_focus = self.focused is panel
        self.panels[panel.chunk] = fresh
        panel.remove()
        self._mount_in_order(fresh, order)
        if had_focus:
            neighbour = self.focused  # where Textual moved focus when the panel went

            def refocus() -> None:
                if self.focused is neighbour and self.panels.get(fresh.chunk) is fresh:
                    fresh.focus(scroll_visible=False)

            self.call_after_refresh(refocus)

    def _focus_first(self) -> None:
        if self.is_current and self.focused is None:
            ordered = self.ordered_panels()
            if ordered:
                ordered[0].focus(scroll_visible=False)

    def ordered_panels(self) -> list[WorkerPanel]:
        """Panels as shown: the grid's, then the finished list's."""
        return [
            w
            for container in (self.query_one("#workers-grid"), self.query_one("#workers-done"))
            for w in container.children
            if isinstance(w, WorkerPanel) and w.is_mounted and self.panels.get(w.chunk) is w
        ]

    def _tick(self) -> None:
        # Elapsed times and "backing off Ns" move with the clock, not with events.
        if self.tui.manager is None or not self.is_current:
            return
        for panel in self.panels.values():
            panel.stale = True
        self._redraw()

    # Keys ------------------------------------------------------------------------------

    def _focused_chunk(self) -> str | None:
        node = self.focused
        while node is not None and not isinstance(node, WorkerPanel):
            node = node.parent  # type: ignore[assignment]
        if node is None:
            self.notify("Focus a worker panel first (tab, or click it)", severity="warning")
            return None
        return node.chunk

    def action_move(self, direction: str) -> None:
        panels = self.ordered_panels()
        if not panels:
            return
        current = self.focused if isinstance(self.focused, WorkerPanel) else None
        if current is None or current not in panels:
            panels[0].focus()
            return
        index = panels.index(current)
        if direction in ("left", "right"):
            step = 1 if direction == "right" else -1
            panels[max(0, min(len(panels) - 1, index + step))].focus()
            return
        here = current.region
        if direction == "down":
            below = [p for p in panels if p.region.y > here.y]
            if below:
                top = min(p.region.y for p in below)
                row = [p for p in below if p.region.y == top]
                min(row, key=lambda p: abs(p.region.x - here.x)).focus()
        else:
            above = [p for p in panels if p.region.y < here.y]
            if above:
                bottom = max(p.region.y for p in above)
                row = [p for p in above if p.region.y == bottom]
                min(row, key=lambda p: abs(p.region.x - here.x)).focus()

    def action_toggle_pause(self) -> None:
        manager = self.tui.manager
        name = self._focused_chunk()
        if manager is None or name is None:
            return
        state = manager.chunk_view(name)
        if state.status is ChunkStatus.PAUSED:
            manager.resume(name)
            self.tui.ensure_running()
            self.notify(f"{name}: resumed", timeout=3)
        elif state.status in (ChunkStatus.RUNNING, ChunkStatus.PENDING):
            manager.pause(name)
            self.notify(f"{name}: paused (session kept)", timeout=3)
        elif state.status is ChunkStatus.DONE:
            self.notify(f"{name} is done: nothing to pause (r reviews it again)")
        else:
            self.notify(f"{name} is {state.status.value}: r runs it again", severity="warning")
        self.run_changed(Batch(chunks={name}))

    @work(exclusive=True, group="confirm-cancel", exit_on_error=False)
    async def action_cancel_chunk(self) -> None:
        manager = self.tui.manager
        name = self._focused_chunk()
        if manager is None or name is None:
            return
        status = manager.chunk_view(name).status
        if status.finished:
            self.notify(f"{name} is {status.value} already", severity="warning")
            return
        choice = await self.app.push_screen_wait(
            PickerScreen(
                f"Cancel {name}?",
                [Choice("yes", "Cancel it", "the process ends; r runs it again later"),
                 Choice("no", "Keep it")],
                highlight="no",
            )
        )  # fmt: skip
        if choice == "yes":
            manager.cancel(name)
            self.notify(f"{name}: cancelled", timeout=3)

    @work(exclusive=True, group="confirm-retry", exit_on_error=False)
    async def action_retry_chunk(self) -> None:
        manager = self.tui.manager
        name = self._focused_chunk()
        if manager is None or name is None:
            return
        state = manager.chunk_view(name)
        if state.status is ChunkStatus.DONE:
            choice = await self.app.push_screen_wait(
                PickerScreen(
                    f"Review {name} again?",
                    [Choice("yes", "Review it again", "a fresh session; its findings are "
                            "replaced when it finishes"),
                     Choice("no", "Keep it as it is")],
                    highlight="yes",  # what the key asked for
                )
            )  # fmt: skip
            if choice == "yes" and manager.chunk_view(name).status is ChunkStatus.DONE:
                manager.review_again(name)
                self.tui.ensure_running()
                self.notify(f"{name}: queued for a new review", timeout=3)
                self.run_changed(Batch(chunks={name}))
            return
        if state.status not in (ChunkStatus.FAILED, ChunkStatus.CANCELLED, ChunkStatus.PAUSED):
            self.notify(f"{name} is {state.status.value}: nothing to retry", severity="warning")
            return
        resuming = " (resuming its session)" if state.session_id else ""
        manager.retry(name)
        self.tui.ensure_running()
        self.notify(f"{name}: queued again{resuming}", timeout=3)
        self.run_changed(Batch(chunks={name}))

    @work(group="ask", exit_on_error=False)
    async def action_ask(self) -> None:
        manager = self.tui.manager
        name = self._focused_chunk()
        if manager is None or name is None:
            return
        if not manager.chunk_view(name).session_id:
            self.notify(f"{name} has no session yet: run it first", severity="warning")
            return
        question = await self.app.push_screen_wait(
            NameScreen(
                f"Ask {name}",
                "",
                hint="A follow-up in this chunk's session; the answer appears in its log",
            )
        )
        if not question:
            return
        panel = self.panels.get(name)
        if panel is not None and panel.finished:
            # A finished chunk's log opens under its line, so the answer can be read.
            panel.add_class("-open")
        self.notify(f"Asking {name}…", timeout=3)
        answer = await manager.ask(name, question)
        self.notify(answer[:300], title=f"{name} answers", timeout=15, markup=False)

    def action_zoom(self) -> None:
        name = self._focused_chunk()
        if name is not None and self.tui.manager is not None:
            panel = self.panels.get(name)
            self.app.push_screen(ZoomScreen(name, panel.log_lines() if panel else []))

    def action_pause_all(self) -> None:
        manager = self.tui.manager
        if manager is None:
            return
        # While the run goes, P pauses it (the chunks at work and those waiting their
        # turn); when nothing goes, P continues it: the paused chunks resume and the
        # pending ones run. The help, the footer and the "Continue?" dialog say the same.
        tally = manager.run_view().tally
        paused, pending = tally[ChunkStatus.PAUSED], tally[ChunkStatus.PENDING]
        if manager.running or (manager.active and pending):
            manager.pause_all()
            self.notify("Every worker paused (sessions kept): P continues the run", timeout=3)
        elif paused or pending:
            manager.resume_all()
            self.tui.ensure_running()
            said = []
            if paused:
                said.append(f"{plural(paused, 'paused chunk')} resumed")
            if pending:
                said.append(f"{plural(pending, 'pending chunk')} to run")
            self.notify("Run continued: " + ", ".join(said), timeout=3)
        else:
            self.notify("Nothing runs, nothing waits: r reviews a chunk again", severity="warning")
        self.run_changed(None)

    def action_more_workers(self) -> None:
        self.tui.change_workers(+1)

    def action_fewer_workers(self) -> None:
        self.tui.change_workers(-1)
