"""The claude-tui app: three views over one editable plan.

The app owns the ``EditablePlan`` (the plan under edit and its history). Views call
``apply_edit``/``undo``/``redo``; the app saves the plan file after each change (one
writer, off the event loop, the newest plan wins) and tells every view to redraw.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.notifications import Notification, Notify, SeverityLevel
from textual.screen import ModalScreen
from textual.theme import Theme
from textual.worker import Worker, WorkerState, get_current_worker

from tui_orchestrator.engine.backends import grow_within_memory
from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.config import save_user_setting
from tui_orchestrator.engine.errors import ClaudeTuiError, PlanError
from tui_orchestrator.engine.events import ChunkFinished, ChunkStarted, Event, RunEnd
from tui_orchestrator.engine.exit_codes import EXIT_INTERRUPTED
from tui_orchestrator.engine.manager import Manager
from tui_orchestrator.engine.open_run import OpenRun
from tui_orchestrator.engine.plan import Plan, reconcile, save_plan_file
from tui_orchestrator.engine.project import Project
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.views import RunSummary
from tui_orchestrator.engine.wording import agree, plural
from tui_orchestrator.ui.bridge import FLUSH_S, RunBridge
from tui_orchestrator.ui.editable_plan import EditablePlan
from tui_orchestrator.ui.opening import Opened, Opening, OpeningStopped
from tui_orchestrator.ui.screens.help import HelpScreen
from tui_orchestrator.ui.screens.issues import IssuesScreen
from tui_orchestrator.ui.screens.modals import Choice, PickerScreen
from tui_orchestrator.ui.screens.plan import PlanScreen
from tui_orchestrator.ui.screens.view import ViewScreen
from tui_orchestrator.ui.screens.workers import WorkersScreen
from tui_orchestrator.ui.themes import DEFAULT_THEME, load_themes, with_chunk_colours

# Worker groups, named so tests and the failure handler can tell them apart.
OPEN_GROUP = "open-repository"
SAVE_GROUP = "save-plan"
LINES_GROUP = "count-lines"
THEME_GROUP = "save-theme"
# How often the opening's progress is shown.
OPENING_TICK_S = 0.1


class ClaudeTuiApp(App[int]):
    """Plan, Workers and Issues views over one repository's plan."""

    # Beside this module even for subclasses (Textual resolves a bare name from the subclass).
    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "claude-tui"
    BINDING_GROUP_TITLE = "Everywhere"

    MODES = {"plan": PlanScreen, "workers": WorkersScreen, "issues": IssuesScreen}
    DEFAULT_MODE = "plan"

    BINDINGS = [
        Binding(
            "1",
            "switch_view('plan')",
            "Plan",
            show=False,
            tooltip="Show the plan: repository tree and chunk list",
            id="view.plan",
        ),
        Binding(
            "2",
            "switch_view('workers')",
            "Workers",
            show=False,
            tooltip="Show the worker panels of the run",
            id="view.workers",
        ),
        Binding(
            "3",
            "switch_view('issues')",
            "Issues",
            show=False,
            tooltip="Show the findings of every chunk",
            id="view.issues",
        ),
        Binding(
            "question_mark,f1",
            "help",
            "Help",
            tooltip="List every key of this view",
            id="app.help",
        ),
        Binding(
            "ctrl+t",
            "next_theme",
            "Next theme",
            show=False,
            tooltip="Switch to the next theme (the palette's Theme command lists them all)",
            id="app.theme",
        ),
        Binding(
            "q",
            "quit_app",
            "Quit",
            tooltip="Save the plan and quit",
            id="app.quit",
        ),
    ]

    def __init__(
        self,
        project: Project | None = None,
        run: OpenRun | None = None,
        demo: bool = False,
        *,
        opening: Opening | None = None,
    ) -> None:
        """Open ``project`` (already read), or draw at once and read ``opening`` behind it."""
        super().__init__()
        if (project is None) == (opening is None):
            raise TypeError("give the project or its opening, one of the two")
        self.opening = opening
        # The repository is read: project, session and run are held (and PlanPanes shows them).
        self.plan_read = False
        # ... and the views show it: keys and views that need the plan work from now on.
        self.opened = False
        self.project: Project
        self.editing: EditablePlan
        # How far the opening got, written by its thread and shown by the status line.
        self.opening_step = "reading the repository"
        # A ClaudeTuiError that stopped the opening: the command line reports it.
        self.open_error: Exception | None = None
        # The run: None only in tests of the plan editor alone.
        self.open_run: OpenRun | None = None
        self.manager: Manager | None = None
        # DEMO is shown whenever the simulated backend runs, however it was chosen.
        self.demo = demo or (opening is not None and opening.demo)
        self.bridge = RunBridge(self._engine_notice, self._rate_limit_notice)
        # The one rate-limit notice on screen: a burst updates it (see _rate_limit_notice).
        self._rate_toast: Notification | None = None
        # Chunks that finished while the app was open keep their (collapsed) panel.
        self.finished_here: set[str] = set()
        self.zoomed = None
        self.run_started = False
        self.plan_version = 0
        self._views: dict[str, ViewScreen] = {}
        self._pending_save: Plan | None = None
        self._saving = False
        self._quit_unsaved = False
        # 0 for a quit; 130 when a signal asked for it (as `claude-tui run` does).
        self._exit_code = 0
        self._hanging_up = False
        # How a hang-up ends the process (tests replace it).
        self.leave_now: Callable[[int], object] = os._exit
        # The plan file holds this plan already (None: nothing saved yet).
        self._saved_plan: Plan | None = None
        loaded = load_themes()
        for theme in loaded.themes:
            self.register_theme(theme)
        self.bundled_themes = loaded.names
        self._startup_notes: list[tuple[str, str]] = [(p, "warning") for p in loaded.problems]
        config = project.config if project is not None else opening.config  # type: ignore[union-attr]
        wanted = config.theme
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
            self.theme = fallback
            self._startup_notes.append(
                (f"Theme {wanted!r} is not known; using {fallback}", "warning")
            )
        self._persisted_theme = self.theme
        if project is not None:
            self._hold_opened(project, EditablePlan(project), run)
            self.opened = True

    def _hold_opened(self, project: Project, editing: EditablePlan, run: OpenRun | None) -> None:
        """The repository is read: hold its project, editable plan and open run."""
        self.project = project
        self.editing = editing
        self.open_run = run
        self.manager = run.manager if run is not None else None
        self.plan_read = True
        if run is not None and run.runner.backend == "demo":
            self.demo = True
        self.run_started = bool(run is not None and run.resumed)
        if self.manager is not None:
            self.manager.on_event = self._engine_event
        if project.plan_path.is_file():
            # The plan file holds the user's plan: only an edit of theirs rewrites it (a
            # resumed run's plan, or one they chose to keep over the file, never does).
            self._saved_plan = project.plan

    @property
    def repo_name(self) -> str:
        root = self.project.root if self.opened else self.opening.root  # type: ignore[union-attr]
        return printable(root.name)

    # Start-up --------------------------------------------------------------------------

    def warn_at_start(self, message: str) -> None:
        """A warning shown once the screen is up (e.g. workers capped to free memory)."""
        self._startup_notes.append((message, "warning"))

    def on_mount(self) -> None:
        self._quit_on_signals()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        for message, severity in self._startup_notes:
            self.notify(message, severity=severity, timeout=8)  # type: ignore[arg-type]
        if self.opened:
            self._start()
        else:
            # At once, beside the first frame: the thread waits on the disk most of the time.
            self._open_in_background()
            self._opening_timer = self.set_interval(OPENING_TICK_S, self._show_opening_step)

    def _start(self) -> None:
        """The repository is read: count lines, follow the run, offer to continue it."""
        for note in self.project.notes:
            self.notify(self.editing.relative(note), timeout=8)
        # Lines mean reading every file: only once the first frame is on screen.
        self.call_after_refresh(self._count_lines)
        if self.manager is not None:
            self.set_interval(FLUSH_S, self._flush_run)
            self.set_interval(1.0, self._tick_totals)
            if self.open_run is not None:
                for note in self.open_run.notes:
                    self.notify(self.editing.relative(note), timeout=8)
            self.call_after_refresh(self._offer_to_continue)

    # Opening behind the first frame ----------------------------------------------------

    @work(thread=True, exclusive=True, group=OPEN_GROUP, exit_on_error=False)
    def _open_in_background(self) -> Opened | None:
        """Read the repository (in a thread); the loop takes the result when the worker ends
        (``on_worker_state_changed``), so nothing here waits on a loop that may be gone."""
        assert self.opening is not None
        worker = get_current_worker()

        def progress(step: str) -> None:
            if worker.is_cancelled:
                raise OpeningStopped
            self.opening_step = step

        try:
            project, run = self.opening.open(progress)
            progress("indexing the tree")
            return Opened(project, EditablePlan(project), run)
        except OpeningStopped:
            return None

    def _opening_ended(self, worker: Worker[Opened | None]) -> None:
        if worker.is_cancelled:
            return  # the app is quitting: whatever the thread found is not wanted
        if worker.state == WorkerState.ERROR:
            # Bad input (ClaudeTuiError) becomes one line and exit 2 at the command line;
            # anything else is a bug, raised there whole.
            self.open_error = worker.error if isinstance(worker.error, Exception) else None
            self.exit(return_code=2)
        elif worker.state == WorkerState.SUCCESS and worker.result is not None:
            self.call_later(self._opened_now, worker.result)

    def _show_opening_step(self) -> None:
        screen = self.screen
        if isinstance(screen, ViewScreen):
            with contextlib.suppress(NoMatches):
                screen.show_totals()
                screen.opening_changed()

    async def _opened_now(self, opened: Opened) -> None:
        """The repository is read: rebuild what waited for it, then let the keys in."""
        self._opening_timer.stop()
        self._hold_opened(opened.project, opened.editing, opened.run)
        views = list(self._views.values())
        for view in views:
            await view.rebuild()
        # Only now: a key pressed while the new tree was mounting finds no tree.
        self.opened = True
        for view in views:
            view.opened()
        self._start()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification as plain text, whatever a caller asks for.

        Messages carry paths, chunk errors, exceptions and a model's answers; parsed as
        markup, a ``[/]`` in them raised MarkupError. (Widget.notify passes ``markup=True``
        by default, so the flag cannot be trusted to be deliberate.)
        """
        del markup
        super().notify(
            printable(message, lines=True, tabs=True),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def get_css_variables(self) -> dict[str, str]:
        variables = with_chunk_colours(super().get_css_variables())
        self.theme_variables = variables
        return variables

    def register_view(self, view: ViewScreen) -> None:
        self._views[view.VIEW] = view

    @work(thread=True, exclusive=True, group=LINES_GROUP, exit_on_error=False)
    def _count_lines(self) -> None:
        worker = get_current_worker()
        if self.editing.count_lines(lambda: worker.is_cancelled):
            self.call_from_thread(self._figures_changed)

    def _figures_changed(self) -> None:
        self.plan_version += 1
        for view in self._views.values():
            view.plan_changed()

    # Plan edits ------------------------------------------------------------------------

    def apply_edit(
        self,
        edit: Callable[[Plan], Plan],
        message: str,
        *,
        select: str | None = None,
        label: str = "",
    ) -> bool:
        """Apply an engine edit; show its PlanError as an error, never raise it.

        ``label`` names the edit for "Undone: …" (``message`` when not given)."""
        try:
            changed = self.editing.apply(edit, label or message)
        except PlanError as exc:
            self.notify(str(exc), title="Not possible", severity="error")
            return False
        if not changed:
            self.notify("The plan is unchanged", severity="warning")
            return False
        self._plan_changed(select)
        if message:
            self.notify(message, title="Plan")
        return True

    def undo(self) -> None:
        label = self.editing.history.undo_label
        if self.editing.undo():
            self._plan_changed()
            self.notify(f"Undone: {label}" if label else "Undone", title="Plan", markup=False)
        else:
            self.notify("Nothing to undo", severity="warning")

    def redo(self) -> None:
        label = self.editing.history.redo_label
        if self.editing.redo():
            self._plan_changed()
            self.notify(f"Redone: {label}" if label else "Redone", title="Plan", markup=False)
        else:
            self.notify("Nothing to redo", severity="warning")

    def _plan_changed(self, select: str | None = None) -> None:
        self.plan_version += 1
        self.save_plan()
        for view in self._views.values():
            view.plan_changed(select)

    def save_plan(self) -> None:
        """Save the current plan soon; a burst of edits costs one write per edit at most."""
        self._pending_save = self.editing.plan
        if not self._saving:
            self._saving = True
            self._save_loop()

    @work(group=SAVE_GROUP, exit_on_error=False)
    async def _save_loop(self) -> None:
        # One writer: the newest plan is written last, whatever the timing of the threads.
        try:
            while self._pending_save is not None:
                plan, self._pending_save = self._pending_save, None
                try:
                    await asyncio.to_thread(save_plan_file, plan, self.editing.plan_path)
                except (OSError, ClaudeTuiError) as exc:
                    self.notify(f"Could not save the plan: {exc}", severity="error", timeout=10)
                else:
                    self._saved_plan = plan
        finally:
            self._saving = False

    async def flush_plan(self) -> None:
        """Wait until the plan file holds the current plan."""
        if not self.opened:
            return  # nothing read yet, so nothing edited
        for worker in list(self.workers):
            if worker.group == SAVE_GROUP:
                await worker.wait()
        if self._saved_plan is not self.editing.plan:
            await asyncio.to_thread(save_plan_file, self.editing.plan, self.editing.plan_path)
            self._saved_plan = self.editing.plan

    # The run ---------------------------------------------------------------------------

    def _engine_event(self, event: Event) -> None:
        if isinstance(event, ChunkStarted | ChunkFinished):
            self.finished_here.add(event.chunk)
        self.bridge.handle(event)
        zoomed = self.zoomed
        if isinstance(event, ChunkFinished) and zoomed is not None and event.chunk == zoomed.chunk:
            self._flush_run()  # the lines before the end come first
            zoomed.ended(event)

    def _engine_notice(self, text: str, level: str) -> None:
        severity = {"information": "information", "warning": "warning"}.get(level, "error")
        self.notify(self.editing.relative(text), severity=severity, timeout=6)  # type: ignore[arg-type]

    def _rate_limit_notice(self, text: str) -> None:
        """Show the burst's words in place of the last rate-limit notice: many workers
        limited at once make one notice that updates, not a stack of toasts."""
        if self._rate_toast is not None:
            # Textual offers no public way to drop one notification (only all of them).
            self._unnotify(self._rate_toast, refresh=False)
        self._rate_toast = Notification(
            self.editing.relative(text), severity="warning", timeout=8, markup=False
        )
        self.post_message(Notify(self._rate_toast))

    def _flush_run(self) -> None:
        batch = self.bridge.take()
        if not batch:
            return
        # Hidden views only note what changed and catch up when shown (ViewScreen).
        for view in self._views.values():
            try:
                view.run_changed(batch)
            except NoMatches:
                # A view being composed or torn down (at quit) has nothing to update yet.
                continue
        if self.zoomed is not None and self.zoomed.chunk in batch.lines:
            self.zoomed.append(list(batch.lines[self.zoomed.chunk]))

    def _tick_totals(self) -> None:
        # The ETA and a rate limit's countdown move with the clock, not with events.
        try:
            screen = self.screen
        except ScreenStackError:
            return  # the app is closing: its screens are gone before its timers
        if self.manager is not None and self.manager.active and isinstance(screen, ViewScreen):
            try:
                screen.show_totals()
            except NoMatches:
                pass  # a view still being composed: it shows the totals once mounted

    @work(exclusive=True, group="offer-continue", exit_on_error=False)
    async def _offer_to_continue(self) -> None:
        manager = self.manager
        if manager is None or self.open_run is None or not self.open_run.resumed:
            return
        await self._ask_about_plan_file()
        tally = manager.run_view().tally
        paused = tally[ChunkStatus.PAUSED]
        pending = tally[ChunkStatus.PENDING]
        failed = tally[ChunkStatus.FAILED] + tally[ChunkStatus.CANCELLED]
        if failed and not (paused or pending):
            self.notify(
                f"{plural(failed, 'chunk')} failed or {agree(failed, 'was', 'were')} cancelled last time: "
                "r on the Workers view "
                "runs one again",
                title="Run",
                timeout=8,
            )
        if not (paused or pending):
            return
        choice = await self.push_screen_wait(
            PickerScreen(
                f"Continue the run? {tally[ChunkStatus.DONE]} of {plural(tally.total, 'chunk')} done",
                [Choice("go", "Continue now", f"resume {paused} paused, run {pending} pending"),
                 Choice("later", "Not now", "nothing runs until you say: P continues it all, space one chunk")],
            )
        )  # fmt: skip
        if choice == "go":
            manager.resume_all()
            self.ensure_running()
            self.switch_view("workers")

    async def _ask_about_plan_file(self) -> None:
        """The plan file differs from the run's checkpoint: show how, and let the user pick."""
        assert self.open_run is not None
        change = self.open_run.plan_change
        if change is None:
            return
        source = self.editing.relative(change.source)
        choice = await self.push_screen_wait(
            PickerScreen(
                f"{source} differs from the run",
                [Choice("apply", f"Follow {source}",
                        "changed chunks are reviewed again, the others keep their findings"),
                 Choice("keep", "Keep the run's plan", f"{source} is left as it is")],
                body=[change.diff.summary(), "", *change.diff.lines()],
                highlight="keep",
            )
        )  # fmt: skip
        if choice != "apply":
            self.open_run.keep_run_plan()
            self.notify(f"Kept the run's plan; {source} is unchanged", title="Plan", timeout=6)
            return
        notes = self.open_run.apply_plan_change()
        assert self.manager is not None
        try:
            # The user's choice is written at once, not left to a write a quit could cut.
            await self.manager.writer.write_now()
        except OSError as exc:
            self.notify(f"Could not write the checkpoint: {exc}", severity="error", timeout=10)
        plan, _ = reconcile(self.open_run.plan(), self.project.discovery.paths)
        # The plan view shows what runs now; the file already says it, so nothing is written.
        self.editing.apply(lambda _: plan)
        self._saved_plan = self.editing.plan
        self.plan_version += 1
        for view in self._views.values():
            view.plan_changed()
        for note in notes:
            self.notify(self.editing.relative(note), title="Plan", timeout=8)

    def ensure_running(self) -> None:
        """Start the run loop when there is work and it is not running."""
        if self.manager is not None and not self.manager.active:
            self.run_started = True
            # Started here, at once (so a second call sees it active); followed by a worker
            # of its own, so whatever ends it is seen, not lost in a dropped task.
            loop = self.manager.start()
            self.run_worker(self._follow_run(loop), group="run", exit_on_error=False)

    async def _follow_run(self, loop: asyncio.Task[RunSummary]) -> None:
        """Wait for the run loop; a run that could not go on (Claude Code gone, the
        checkpoint unwritable) stays on screen: a notice (the bridge) and the status line."""
        summary = await asyncio.shield(loop)
        screen = self.screen
        if summary.reason is RunEnd.ERROR and isinstance(screen, ViewScreen):
            with contextlib.suppress(NoMatches):
                screen.show_totals()

    def change_workers(self, delta: int) -> None:
        manager = self.manager
        if manager is None:
            return
        target = max(1, manager.chunk_workers + delta)
        if target == manager.chunk_workers:
            self.notify("1 worker: the fewest there can be", timeout=2)
            return
        if delta > 0:
            target, warning = grow_within_memory(manager.runner, target, len(manager.running))
            if warning:
                self.notify(warning, severity="warning", timeout=6)
            if target <= manager.chunk_workers:
                return
        manager.set_chunk_workers(target)
        self.notify(plural(manager.chunk_workers, "worker"), timeout=2)
        # The totals in sight show it at once; the rest follows the pool's event like any
        # other (redrawing every view here made `-` the slowest key under 64 workers).
        screen = self.screen
        if isinstance(screen, ViewScreen):
            screen.show_totals()

    # Actions ---------------------------------------------------------------------------

    def switch_view(self, view: str) -> None:
        if not self.opened and view != "plan":
            self.notify("The repository is still being read", severity="warning", timeout=2)
            return
        if view in self.MODES and view != self.current_mode:
            self.switch_mode(view)

    def action_switch_view(self, view: str) -> None:
        self.switch_view(view)

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, ViewScreen):
            self.push_screen(HelpScreen(screen, f"{screen.TITLE_TEXT} view"))

    def action_next_theme(self) -> None:
        names = self.bundled_themes or sorted(self.available_themes)
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=3)

    def action_run_all(self) -> None:
        """Run every pending chunk of the plan as it is now (edits since apply to the run)."""
        if not self.opened:
            return
        if self.manager is None or self.open_run is None:
            self.notify(
                "The run engine is not connected: nothing was started",
                title="Run",
                severity="warning",
            )
            return
        if self.manager.running:
            self.notify("The run is going: space resumes a paused chunk", severity="warning")
            return
        for note in self.open_run.apply_plan(self.editing.plan):
            self.notify(note, title="Run", timeout=5)
        pending = self.manager.run_view().tally[ChunkStatus.PENDING]
        to_verify = self.manager.verdict_counts().get("pending", 0)
        if not pending and to_verify:
            # Every chunk is reviewed: the findings still without a verdict are judged.
            self.notify(f"Verifying {plural(to_verify, 'finding')}", title="Run", timeout=4)
            self.ensure_running()
            self.switch_view("workers")
            return
        if not pending:
            self.notify(
                "No pending chunk: every chunk is done, paused or failed", severity="warning"
            )
            return
        label = " (DEMO: simulated agents)" if self.demo else ""
        self.notify(f"Running {plural(pending, 'chunk')}{label}", title="Run", timeout=4)
        self.ensure_running()
        self.switch_view("workers")

    def _quit_on_signals(self) -> None:
        """SIGTERM quits as `q` does (exit 130); SIGHUP (the terminal went away) saves the
        same way and leaves at once. Either way running workers are paused with their
        sessions kept and the checkpoint written."""
        if sys.platform == "win32":
            return  # Windows' event loop takes no signal handlers (and has no SIGHUP)
        loop = asyncio.get_running_loop()
        for sig, handler in ((signal.SIGTERM, self._signalled), (signal.SIGHUP, self._hung_up)):
            try:
                loop.add_signal_handler(sig, handler)
            except RuntimeError:
                return  # not the main thread: the app is driven by a test's loop

    def _signalled(self) -> None:
        if self._exit_code != EXIT_INTERRUPTED:
            self._exit_code = EXIT_INTERRUPTED
            self.run_worker(self.action_quit(), group="signal-quit", exit_on_error=False)

    def _hung_up(self) -> None:
        if not self._hanging_up:
            self._hanging_up = True
            self.run_worker(self._save_and_leave_now(), group="hang-up", exit_on_error=False)

    async def _save_and_leave_now(self) -> None:
        """Pause the workers, write the checkpoint and the plan, free the lock, and end the
        process: Textual's own shutdown would wait forever on a terminal that is gone."""
        self.workers.cancel_group(self, OPEN_GROUP)
        try:
            await self._pause_workers()
            with contextlib.suppress(OSError, ClaudeTuiError):
                await self.flush_plan()
            await self._close_runner()
        finally:
            if self.open_run is not None:
                self.open_run.close()
            elif self.opening is not None:
                self.opening.abandon()
            self.leave_now(EXIT_INTERRUPTED)

    async def action_quit_app(self) -> None:
        """Save the plan, then leave."""
        await self.action_quit()

    async def action_quit(self) -> None:
        """Save the plan, then leave (ctrl+q and the palette's Quit come here, even over a
        dialog)."""
        # A quit while the repository is read stops the reading too.
        self.workers.cancel_group(self, OPEN_GROUP)
        await self._pause_workers()
        try:
            await self.flush_plan()
        except (OSError, ClaudeTuiError) as exc:
            if not self._quit_unsaved:
                # Never lose edits silently; a second quit means the user accepts it.
                self._quit_unsaved = True
                self.notify(
                    f"Could not save the plan: {exc}. Quit again to leave without saving.",
                    severity="error",
                    timeout=10,
                )
                return
        await self._close_runner()
        self.exit(return_code=self._exit_code)

    async def _pause_workers(self) -> None:
        """Running workers are paused, not lost: their sessions are in the checkpoint."""
        manager = self.manager
        if manager is not None and (manager.active or manager.running):
            if manager.running:
                self.notify(f"Pausing {plural(len(manager.running), 'worker')}…", timeout=3)
            await manager.stop()

    async def _close_runner(self) -> None:
        """A remote executor holds a connection (the Dask scheduler's) on this loop."""
        if self.open_run is not None:
            await self.open_run.runner.aclose()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Over a dialog the number keys and q belong to the dialog (or do nothing). The
        # palette is no such dialog: it offers them (its typing box takes the keys).
        over_dialog = isinstance(self.screen, ModalScreen) and not isinstance(
            self.screen, CommandPalette
        )
        if over_dialog and action in ("switch_view", "quit_app", "help"):
            return False
        # Nothing to run before the plan is there.
        return self.opened or action != "run_all"

    # Themes and failures ---------------------------------------------------------------

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name == self._persisted_theme:
            return
        self._persisted_theme = theme.name
        self.run_worker(
            lambda: save_user_setting("theme", theme.name),
            name=f"save theme {theme.name}",
            group=THEME_GROUP,
            thread=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == OPEN_GROUP:
            self._opening_ended(event.worker)
            return
        if event.state == WorkerState.ERROR:
            self.notify(
                f"{event.worker.name or event.worker.group} failed: {event.worker.error}",
                title="Error",
                severity="error",
                timeout=10,
            )
