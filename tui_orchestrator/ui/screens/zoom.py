"""A worker's whole log: its raw stream file read back as readable lines, then live lines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import aiofiles
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Log, Static

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.events import ChunkFinished
from tui_orchestrator.engine.stream_facts import LogKind, stored_lines
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.wording import plural
from tui_orchestrator.ui.format import log_prefix
from tui_orchestrator.ui.widgets.footer import Footer

if TYPE_CHECKING:
    from tui_orchestrator.ui.app import ClaudeTuiApp

# The zoomed log is a ring buffer too, only a larger one.
ZOOM_LINES = 5000


def readable(line: str, root: str = "") -> list[str]:
    """One raw stream-json line as the lines a person wants to read (paths repo-relative),
    in the words the live panel uses (engine/stream_facts.py). Whatever the line holds (a
    worker wrote it), the lines come back as plain text with no control character."""
    said = stored_lines(line, Path(root) if root else None)
    return [printable(log_prefix(s.kind) + s.text) for s in said]


def after_overlap(shown: list[str], live: list[str]) -> list[str]:
    """The ``live`` lines that ``shown`` does not end with already (a file read while the
    same lines also arrived live)."""
    for size in range(min(len(shown), len(live)), 0, -1):
        if shown[-size:] == live[:size]:
            return live[size:]
    return live


# How much of a log's end is read to seed a panel (a few dozen lines, whatever their size).
TAIL_BYTES = 64 * 1024


def log_tail(path: Path, root: str, count: int) -> list[str]:
    """The last ``count`` readable lines of a chunk's raw log (none when there is no log).

    Reads only the file's end, so it costs the same for a log of any length.
    """
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    raw = data.decode("utf-8", "replace").splitlines()
    if size > TAIL_BYTES:
        raw = raw[1:]  # the first line read is cut
    lines: list[str] = []
    for line in raw:
        lines += readable(line, root)
    return lines[-count:]


class ZoomScreen(ModalScreen[None]):
    """The full log of one chunk, following it live."""

    CSS_PATH = "zoom.tcss"

    BINDINGS = [
        Binding("escape,enter,q", "close", "Back", tooltip="Back to the worker grid", id="zoom.close"),
        Binding("end,G", "follow", "Follow", tooltip="Jump to the newest line and follow the log", id="zoom.follow"),
    ]  # fmt: skip

    def __init__(self, chunk: str, fallback: list[str] | None = None) -> None:
        super().__init__()
        self.chunk = chunk
        # The panel's lines, shown when the chunk has no log file (a backend without one).
        self.fallback = list(fallback or [])
        self._loaded = False
        # Live lines that came while the file was being read: kept, never dropped (the file
        # may not hold them yet), and joined to its end without repeating what it holds.
        self._pending: list[str] = []

    @property
    def tui(self) -> ClaudeTuiApp:
        return cast("ClaudeTuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(f"{self.chunk} · full log", id="zoom-title", markup=False)
        yield Log(max_lines=ZOOM_LINES, auto_scroll=True, id="zoom-log")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.tui.zoomed = self
        self.show_title()
        # The status moves on while the log is open (backing off, resumed, done).
        self.set_interval(0.5, self.show_title)
        self._load()

    def show_title(self) -> None:
        manager = self.tui.manager
        if manager is None:
            return
        view = manager.chunk_view(self.chunk)
        status = view.status.value
        if view.error and view.error != status:
            status += f": {view.error}"
        title = f"{self.chunk} · {status} · {plural(view.files, 'file')}"
        if view.session_id:
            title += f" · session {view.session_id}"
        self.query_one("#zoom-title", Static).update(printable(title))

    def on_unmount(self) -> None:
        if self.tui.zoomed is self:
            self.tui.zoomed = None

    @work(exclusive=True, group="zoom-load", exit_on_error=False)
    async def _load(self) -> None:
        manager = self.tui.manager
        log = self.query_one(Log)
        path: Path | None = None
        if manager is not None:
            path = manager.log_path(self.chunk)
        lines: list[str] = []
        if path is not None and path.exists():
            root = str(manager.root) if manager is not None else ""
            # aiofiles keeps a large log's read off the event loop.
            async with aiofiles.open(path, encoding="utf-8", errors="replace") as handle:
                async for raw in handle:
                    lines += readable(raw, root)
                    if len(lines) > 2 * ZOOM_LINES:
                        del lines[:-ZOOM_LINES]
        else:
            lines = self.fallback or ["(no log yet)"]
        lines += after_overlap(lines, self._pending)
        self._pending = []
        log.write_lines(lines[-ZOOM_LINES:])
        self._loaded = True

    def append(self, lines: list[str]) -> None:
        """Live lines from the bridge (the app calls this after each batch)."""
        shown = [printable(line) for line in lines]
        if not self._loaded:
            self._pending += shown
            return
        self.query_one(Log).write_lines(shown)

    def ended(self, event: ChunkFinished) -> None:
        """The chunk ended: its end line, and the title says so at once."""
        if event.status is ChunkStatus.DONE:
            ended = f"done · {plural(len(event.findings), 'finding')}"
        else:
            ended = event.status.value
            if event.error and event.error != ended:
                ended += f": {event.error}"
        self.append([log_prefix(LogKind.META) + ended])
        self.show_title()

    def action_follow(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = True
        log.scroll_end(animate=False)

    def action_close(self) -> None:
        self.dismiss()
