"""One worker's panel: status, progress, activity, the tail of its log, and its figures.

A chunk that finished collapses to one line (class ``-finished``); a question asked of a
finished chunk opens its log under that line again (class ``-open``) so the answer shows.

The panel is a single widget that draws its own lines, at a height fixed by its CSS: a
grid of sixty-four panels is sixty-four widgets for the layout to place, not six hundred,
and a new log line or a moved progress bar repaints the panel without a relayout (a
relayout of the whole grid on every update is what made the first version lag behind the
keyboard with many workers streaming). Its log is the tail of a ring buffer; the zoomed
view (``enter``) reads the whole stream from disk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.views import ChunkView, Waiting
from tui_orchestrator.engine.wording import format_cost, format_count, format_seconds, plural
from tui_orchestrator.ui.format import literal

# The log lines a panel keeps (the zoomed view reads the whole stream from disk).
LOG_LINES = 300
# Lines above the log: status, progress bar, activity.
HEAD_LINES = 3

_STATUS_STYLE = {
    ChunkStatus.PENDING: "$text-muted",
    ChunkStatus.RUNNING: "bold $text-accent",
    ChunkStatus.PAUSED: "bold $text-warning",
    ChunkStatus.DONE: "bold $text-success",
    ChunkStatus.FAILED: "bold $text-error",
    ChunkStatus.CANCELLED: "bold $text-muted",
}
_MARK = {
    ChunkStatus.DONE: "✓",
    ChunkStatus.FAILED: "✗",
    ChunkStatus.CANCELLED: "■",
}


def status_label(view: ChunkView) -> str:
    """ "running", "backing off 12s", "retrying 2/3", "queued", "done" …"""
    if view.status is ChunkStatus.PENDING:
        return view.detail or "queued"
    if view.status is ChunkStatus.RUNNING and view.resumed:
        return "running · resuming session"
    if view.status is ChunkStatus.FAILED and view.error:
        return f"failed: {view.error}"
    return view.status.value


def status_style(view: ChunkView) -> str:
    if view.status is ChunkStatus.PENDING and view.waiting in (Waiting.BACKOFF, Waiting.RETRY):
        return "bold $text-warning"
    return _STATUS_STYLE[view.status]


@dataclass(slots=True, frozen=True)
class PanelView:
    """Everything a panel shows, so an update that changes nothing costs nothing."""

    status: ChunkStatus
    label: str
    style: str
    read: int
    files: int
    activity: str
    figures: str
    finished: bool
    issues: int
    verdicts: str = ""  # a verification's, instead of its issues


def one_line(text: str) -> str:
    """A panel row is one line: a multi-line activity (a heredoc) or error is joined; the
    model's and the CLI's words keep no control character."""
    joined = " ⏎ ".join(text.splitlines()) if "\n" in text or "\r" in text else text
    return printable(joined)


def panel_view(view: ChunkView) -> PanelView:
    tries = f"try {view.tries}"
    if view.resumes:
        tries += f", resumed {view.resumes}×"
    parts = [
        format_seconds(view.elapsed_s),
        f"{format_count(view.tokens)} tok",
        # "~": the running attempt's spend at list prices, until its result says.
        ("~" if view.cost_estimated else "") + format_cost(view.cost_usd),
        tries,
        view.session_id[:8] if view.session_id else "no session",
    ]
    if view.host:
        parts.append(f"on {view.host}")
    activity = one_line(view.activity)
    if not activity and view.status is ChunkStatus.PAUSED:
        activity = "paused: space resumes (session kept)"
    return PanelView(
        status=view.status,
        label=one_line(status_label(view)),
        style=status_style(view),
        read=view.files_read,
        files=view.files,
        activity=activity,
        # The session id and the host come from the worker too.
        figures=printable(" · ".join(parts)),
        finished=view.finished,
        issues=view.issues,
        verdicts=view.verdicts,
    )


def progress_bar(read: int, files: int, width: int) -> Content:
    """A bar of ``width`` cells, in the look of Textual's ProgressBar."""
    if width <= 0:
        return Content("")
    done = read >= files > 0
    filled = width if done else (width * read) // max(1, files)
    style = "$success" if done else "$primary"
    rest = width - filled
    return Content.assemble(
        ("━" * filled, style),
        ("╺" + "━" * (rest - 1) if rest else "", "$foreground 15%"),
    )


class WorkerPanel(Widget, can_focus=True):
    """A chunk at work, or one line once it finished."""

    BINDING_GROUP_TITLE = "Worker panel"

    DEFAULT_CSS = """
    WorkerPanel {
        height: 13;  /* border 2 + head 3 + log 8 */
        border: round $border-blurred;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        background: $surface;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    WorkerPanel:focus {
        border: round $primary;
        border-title-color: $text-primary;
    }
    WorkerPanel.-finished { border: none; height: 1; }
    WorkerPanel.-finished:focus { background: $primary 20%; }
    WorkerPanel.-finished.-open { height: 7; }
    """

    def __init__(self, chunk: str) -> None:
        super().__init__()
        self.chunk = chunk
        self.border_title = literal(chunk)
        self.lines: deque[str] = deque(maxlen=LOG_LINES)
        # Set when the panel must be redrawn; the screen redraws only panels in sight.
        self.stale = True
        self.view: PanelView | None = None

    class Ready(Message):
        """The panel is in the DOM: its screen can lay it out and draw it."""

    def on_mount(self) -> None:
        self.post_message(self.Ready())

    @property
    def on_screen(self) -> bool:
        """Only panels the user can see are redrawn; the others catch up when shown."""
        return self.is_mounted and self.screen.can_view_partial(self)

    @property
    def finished(self) -> bool:
        return self.view is not None and self.view.finished

    def show(self, chunk: ChunkView) -> None:
        """Show the chunk as it is (a no-op when nothing visible changed)."""
        view = panel_view(chunk)
        if view == self.view:
            return
        self.view = view
        self.set_class(view.finished, "-finished")
        subtitle = literal("" if view.finished else view.figures)
        if self.border_subtitle != subtitle.markup:
            self.border_subtitle = subtitle
        self.refresh()

    def append(self, lines: Iterable[str]) -> None:
        """Add log lines; ``flush`` shows them (only panels on screen are drawn)."""
        self.lines.extend(printable(line, tabs=True).expandtabs(4) for line in lines)

    def flush(self) -> None:
        self.refresh()

    def log_lines(self) -> list[str]:
        """The lines the panel's log holds (for tests and the zoomed view's start)."""
        return list(self.lines)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # The grid sizes an auto row by its widgets' content: the CSS height is the answer,
        # with no render to measure it.
        height = self.styles.height
        if height is not None and height.is_cells:
            return max(0, int(height.value) - self.styles.gutter.height)
        return super().get_content_height(container, viewport, width)

    def render(self) -> Content:
        view = self.view
        if view is None:
            return Content("")
        height = self.content_size.height
        if view.finished:
            rows = [self._summary(view)]
        else:
            rows = [self._head(view), self._bar(view), Content.styled(view.activity, "$text-muted")]
        tail = max(0, height - len(rows))
        if tail:
            last = list(islice(reversed(self.lines), tail))
            rows.extend(Content(line) for line in reversed(last))
        return Content("\n").join(rows)

    def _head(self, view: PanelView) -> Content:
        count = Content.styled(f" {view.read}/{plural(view.files, 'file')}", "$text-muted")
        width = max(0, self.content_size.width - count.cell_length)
        label = Content.styled(view.label, view.style).truncate(width, ellipsis=True, pad=True)
        return Content.assemble(label, count)

    def _bar(self, view: PanelView) -> Content:
        return progress_bar(view.read, view.files, self.content_size.width)

    def _summary(self, view: PanelView) -> Content:
        issues = view.verdicts or plural(view.issues, "issue")
        return Content.assemble(
            (f"{_MARK.get(view.status, '·')} ", view.style),
            (self.chunk, "bold"),
            "  ",
            (view.label, view.style),
            (f" · {plural(view.files, 'file')} · {issues} · {view.figures}", "$text-muted"),
        )
