"""The chunk list: one row per chunk with its figures, in the order a run starts them
(priority first, then the larger), and each chunk's run status once a run exists.

A Line-API widget that draws only the rows on screen: a 100,000-file repository has some
10,000 chunks, which Textual's DataTable (it measures every cell up front) takes seconds
to fill. Here filling costs one string format per cell and nothing is measured.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.estimate import ChunkFigures, PlanFigures, run_order
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.views import ChunkView, Waiting
from tui_orchestrator.engine.wording import format_bytes, format_cost, format_count
from tui_orchestrator.ui.widgets.repo_tree import (
    CHUNK_CLASSES,
    CHUNK_COLOUR_CSS,
    chunk_class,
    foreground_style,
)

# Bytes last: on a narrow terminal it is the column that scrolls out of sight.
HEADERS = ("chunk", "files", "lines", "~tokens", "~cost", "bytes")
STATUS_HEADER = "status"
# A run status as one cell, where its word does not fit (at 80 columns).
STATUS_MARK = {
    "done": "✓",
    "running": "▶",
    "failed": "✗",
    "cancelled": "■",
    "paused": "‖",
    "waiting": "…",
    "pending": "·",
}
# Two spaces between columns; one when that is what it takes to fit the width.
GAPS = (2, 1)
# Longer names are cut with an ellipsis: the numbers matter more than a name's tail. On a
# narrow terminal names give way down to MIN_NAME_WIDTH before a number column does.
MAX_NAME_WIDTH = 40
MIN_NAME_WIDTH = 8


_STATUS_CLASS = {
    "done": "chunk-table--done",
    "running": "chunk-table--running",
    "failed": "chunk-table--failed",
    "paused": "chunk-table--waiting",
    "waiting": "chunk-table--waiting",
}


def run_status(view: ChunkView) -> str:
    """A chunk's run status in the list: done, running, failed, paused, cancelled,
    waiting (a limit, a retry) or pending."""
    if view.status is ChunkStatus.PENDING:
        return "waiting" if view.waiting not in (Waiting.NONE, Waiting.QUEUED) else "pending"
    return view.status.value


def name_cell(row: ChunkFigures) -> str:
    """The chunk's name, and its priority when it has one (``web ↑2``: runs before others)."""
    name = printable(row.name)
    if row.priority > 0:
        return f"{name} ↑{row.priority}"
    if row.priority < 0:
        return f"{name} ↓{-row.priority}"
    return name


def _cells(row: ChunkFigures) -> tuple[str, str, str, str, str]:
    lines = "…" if row.lines is None else format_count(row.lines)
    return (
        str(row.files),
        lines,
        format_count(row.tokens),
        format_cost(row.cost_usd),
        format_bytes(row.bytes),
    )


class ChunkTable(ScrollView, can_focus=True):
    """Chunks with files, lines, estimated tokens and cost, and bytes; the cursor row is
    the selected chunk."""

    BINDING_GROUP_TITLE = "Chunk list"

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False, tooltip="Previous chunk", id="chunks.up"),
        Binding("down", "cursor_down", "Down", show=False, tooltip="Next chunk", id="chunks.down"),
        Binding(
            "pageup", "page_up", "Page up", show=False, tooltip="A page of chunks up",
            id="chunks.page_up",
        ),
        Binding(
            "pagedown", "page_down", "Page down", show=False, tooltip="A page of chunks down",
            id="chunks.page_down",
        ),
        Binding("home", "first", "First", show=False, tooltip="First chunk", id="chunks.first"),
        Binding("end", "last", "Last", show=False, tooltip="Last chunk", id="chunks.last"),
        Binding(
            "enter", "select", "Show files", show=False,
            tooltip="Show the chunk's first file in the repository tree", id="chunks.select",
        ),
    ]  # fmt: skip

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *CHUNK_CLASSES,
        "chunk-table--header",
        "chunk-table--cursor",
        "chunk-table--hover",
        "chunk-table--odd",
        "chunk-table--done",
        "chunk-table--running",
        "chunk-table--failed",
        "chunk-table--waiting",
    }

    DEFAULT_CSS = (
        """
    ChunkTable {
        background: $surface;
"""
        + CHUNK_COLOUR_CSS
        + """        & > .chunk-table--header { background: $panel; color: $foreground; text-style: bold; }
        & > .chunk-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .chunk-table--hover { background: $block-hover-background; }
        & > .chunk-table--odd { background: $foreground 4%; }
        & > .chunk-table--done { color: $text-success; }
        & > .chunk-table--running { color: $text-accent; text-style: bold; }
        & > .chunk-table--failed { color: $text-error; }
        & > .chunk-table--waiting { color: $text-warning; }
        &:focus {
            background-tint: $foreground 5%;
            & > .chunk-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
    }
    """
    )

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    hover: reactive[int] = reactive(-1, repaint=False)

    class Selected(Message):
        """A chunk was chosen (enter or a click)."""

        def __init__(self, table: ChunkTable, name: str) -> None:
            super().__init__()
            self.table = table
            self.name = name

        @property
        def control(self) -> ChunkTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[ChunkFigures] = []
        self._cells: list[tuple[str, ...]] = []
        self._index: dict[str, int] = {}
        # Each row's place in the plan: its colour, the same as its files' in the tree.
        self._positions: list[int] = []
        # Chunk -> its run status ("done", "running" ...); None before any run.
        self._status: dict[str, str] | None = None
        self._status_width = 0
        self._widths: list[int] = [len(h) for h in HEADERS]
        # The name column's width before a narrow terminal takes from it.
        self._name_width = len(HEADERS[0])
        self._gap = GAPS[0]

    # Data ------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def names(self) -> list[str]:
        return [row.name for row in self._rows]

    @property
    def selected_chunk(self) -> str | None:
        """The name of the chunk under the cursor."""
        if not self._rows:
            return None
        return self._rows[min(max(self.cursor, 0), len(self._rows) - 1)].name

    def select_chunk(self, name: str) -> None:
        index = self._index.get(name)
        if index is not None and index != self.cursor:
            self.cursor = index

    def show(
        self,
        figures: PlanFigures,
        select: str | None = None,
        status: dict[str, str] | None = None,
    ) -> None:
        """Show ``figures`` in run order, keeping the cursor on the same chunk (or
        ``select``); ``status``: each chunk's run status, once a run exists."""
        keep = select or self.selected_chunk
        old = self.cursor
        place = {row.name: i for i, row in enumerate(figures.chunks)}
        self._rows = run_order(figures.chunks)
        self._positions = [place[row.name] for row in self._rows]
        self._cells = [_cells(row) for row in self._rows]
        self._index = {row.name: i for i, row in enumerate(self._rows)}
        widths = [len(h) for h in HEADERS]
        widths[0] = min(
            MAX_NAME_WIDTH, max([widths[0], *(cell_len(name_cell(r)) for r in self._rows)])
        )
        for cells in self._cells:
            for column, text in enumerate(cells, start=1):
                if len(text) > widths[column]:
                    widths[column] = len(text)
        self._name_width = widths[0]
        self._widths = widths
        self._status = None
        self.show_status(status)
        if keep is not None and keep in self._index:
            self.cursor = self._index[keep]
        elif self._rows:
            # The chunk went away (deleted, joined): stay where the user was.
            self.cursor = min(max(old, 0), len(self._rows) - 1)
        else:
            self.cursor = 0
        self.refresh()

    def show_status(self, status: dict[str, str] | None) -> None:
        """Each chunk's run status (a run moved); None hides the column."""
        if status == self._status:
            return
        self._status = None if status is None else dict(status)
        self._fit()
        self.refresh()

    def status_of(self, name: str) -> str:
        return "" if self._status is None else self._status.get(name, "")

    # Cursor and scrolling --------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return min(max(value, 0), max(len(self._rows) - 1, 0))

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_row(new)
        self.refresh()

    def watch_hover(self) -> None:
        self.refresh()

    def _scroll_to_row(self, row: int) -> None:
        # Line 0 of the view is the header: data row r sits on virtual line r + 1.
        height = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def _fit(self) -> None:
        """Fit the columns to the width: narrower gaps first, then shorter names; only
        then do the last columns (bytes first) scroll out of sight."""
        available = self.scrollable_content_region.width
        widths = self._widths
        status = self._status
        # The status in words ("running"), or as a mark ("▶") where words do not fit.
        words = 0 if status is None else max([len(STATUS_HEADER), *map(len, status.values())])
        for status_width in (words, 1) if words else (0,):
            widths[0] = self._name_width
            columns = len(widths) + (1 if status_width else 0)
            rest = sum(widths[1:]) + status_width
            for gap in GAPS:
                total = widths[0] + rest + gap * (columns - 1) + 2
                if total <= available:
                    break
            if total > available:
                widths[0] = max(min(MIN_NAME_WIDTH, widths[0]), widths[0] - (total - available))
                total = widths[0] + rest + gap * (columns - 1) + 2
            if total <= available:
                break
        self._status_width = status_width
        self._gap = gap
        self.virtual_size = Size(total, len(self._rows) + 1)

    def on_resize(self, _: events.Resize) -> None:
        self._fit()
        self._scroll_to_row(self.cursor)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_page_up(self) -> None:
        self.cursor -= self._page()

    def action_page_down(self) -> None:
        self.cursor += self._page()

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self._rows) - 1

    def action_select(self) -> None:
        name = self.selected_chunk
        if name is not None:
            self.post_message(self.Selected(self, name))

    def _row_at(self, event: events.MouseEvent) -> int:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return -1
        row = round(self.scroll_y) + offset.y - 1
        return row if 0 <= row < len(self._rows) else -1

    def on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        if row >= 0:
            self.cursor = row
            self.action_select()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self.hover = self._row_at(event)

    def on_leave(self, _: events.Leave) -> None:
        self.hover = -1

    # Drawing ---------------------------------------------------------------------------

    def _full(self, component: str) -> Style:
        # The full style: its colours are blended with what lies below (alpha, "auto").
        return self.get_component_rich_style(component)

    def _line_text(self, cells: tuple[str, ...]) -> str:
        widths = self._widths
        parts = [text.rjust(width) for text, width in zip(cells, widths[1:], strict=True)]
        return (" " * self._gap).join(parts)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = round(self.scroll_x)
        base = self.rich_style
        name_width = self._widths[0]
        gap = " " * self._gap
        if y == 0:
            style = base + self._full("chunk-table--header")
            header = gap.join(
                h.rjust(w) for h, w in zip(HEADERS[1:], self._widths[1:], strict=True)
            )
            status = ""
            if self._status_width:
                status = (STATUS_HEADER if self._status_width > 1 else " ").ljust(
                    self._status_width
                ) + gap
            segments = [
                Segment(" " + HEADERS[0].ljust(name_width) + gap + status + header + " ", style)
            ]
            return Strip(segments).crop(scroll_x, scroll_x + width).extend_cell_length(width, style)
        row = round(self.scroll_y) + y - 1
        if row >= len(self._rows):
            return Strip.blank(width, base)
        figures = self._rows[row]
        style = base
        if row % 2:
            style += Style(bgcolor=self._full("chunk-table--odd").bgcolor)
        if row == self.hover:
            style += Style(bgcolor=self._full("chunk-table--hover").bgcolor)
        if row == self.cursor:
            style += self._full("chunk-table--cursor")
            name_style = style
        else:
            name_style = style + foreground_style(self, chunk_class(self._positions[row]))
        name = name_cell(figures)
        if cell_len(name) > name_width:
            name = set_cell_size(name, name_width - 1) + "…"
        segments = [
            Segment(" ", style),
            Segment(name + " " * (name_width - cell_len(name)), name_style),
            Segment(gap, style),
        ]
        if self._status_width:
            status = self.status_of(figures.name)
            status_style = style
            if row != self.cursor and status in _STATUS_CLASS:
                status_style = style + foreground_style(self, _STATUS_CLASS[status])
            shown = status if self._status_width > 1 else STATUS_MARK.get(status, " ")
            segments.append(Segment(shown.ljust(self._status_width) + gap, status_style))
        segments.append(Segment(self._line_text(self._cells[row]) + " ", style))
        return Strip(segments).crop(scroll_x, scroll_x + width).extend_cell_length(width, style)
