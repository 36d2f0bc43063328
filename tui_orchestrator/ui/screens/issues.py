"""The Issues view: every finding in one sortable, filterable table, live as chunks finish."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import ColumnKey

from tui_orchestrator.engine import report_file
from tui_orchestrator.engine.errors import ClaudeTuiError
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.wording import plural
from tui_orchestrator.ui.bridge import Batch
from tui_orchestrator.ui.editor import open_in_editor
from tui_orchestrator.ui.format import cut_left, cut_words, literal
from tui_orchestrator.ui.screens.finding import FindingScreen
from tui_orchestrator.ui.screens.modals import Choice, NameScreen, PickerScreen
from tui_orchestrator.ui.screens.view import ViewScreen

COLUMNS = ("severity", "location", "title", "category", "verdict", "chunk")
# Column widths on a narrow terminal: a title gets at least MIN_TITLE cells, a path at least
# MIN_LOCATION (cut at its start), a chunk's name at most MAX_CHUNK.
MIN_TITLE = 24
MIN_LOCATION = 20
# What they give way to when every column must fit (80 columns, five columns).
NARROW_TITLE = 16
NARROW_LOCATION = 16
MAX_CHUNK = 16
SEVERITY_STYLE = {
    Severity.CRITICAL: "bold $text-error",
    Severity.HIGH: "$text-error",
    Severity.MEDIUM: "$text-warning",
    Severity.LOW: "$text-accent",
    Severity.INFO: "$text-muted",
}
EXPORTS = {"json": "report.json", "sarif": "report.sarif", "markdown": "report.md"}
FILTER_HELP = (
    "words, sev:high (high+ = high or worse), cat:injection, conf:high, verdict:confirmed,"
    " state:new (against --baseline), diff:yes (--since), chunk:NAME, file:PATH · esc clears"
)
# A verdict in one mark where the word does not fit (80 columns): "pending" is a finding
# waiting for its verifier, "" one that is not verified.
VERDICT_MARK = {"confirmed": "✓", "refuted": "✗", "uncertain": "?", "pending": "…", "": ""}
# Sorted by verdict: what is real first, what was refuted last.
VERDICT_ORDER = ("confirmed", "uncertain", "pending", "", "refuted")
VERDICT_STYLE = {
    "confirmed": "$text-success",
    "refuted": "$text-muted",
    "uncertain": "$text-warning",
    "pending": "$text-muted",
    "": "",
}

_SORT_KEYS: dict[str, Callable[[Finding], tuple[object, ...]]] = {
    "severity": lambda f: (f.severity.rank, f.file, f.line, f.title),
    "location": lambda f: (f.file, f.line, f.severity.rank),
    "title": lambda f: (f.title.lower(), f.file, f.line),
    "category": lambda f: (f.category or "~", f.severity.rank, f.file, f.line),
    # (the verdict's sort key is made by the screen: it needs the run's verdicts)
    "chunk": lambda f: (f.chunk, f.severity.rank, f.file, f.line),
}
# A category in one word where the full one does not fit (80 columns).
SHORT_CATEGORY = {
    "injection": "inject", "path-traversal": "path", "auth": "auth", "crypto": "crypto",
    "secrets": "secret", "race-condition": "race", "resource-leak": "leak",
    "error-handling": "errors", "data-loss": "loss", "logic": "logic",
    "performance": "perf", "other": "other",
}  # fmt: skip


@dataclass(slots=True, frozen=True)
class IssueFilter:
    """A parsed filter: plain words match anywhere; ``key:value`` narrows one column.

    ``sev:high`` is that severity, ``sev:high+`` that one or worse; ``chunk:`` and
    ``file:`` match a part of a reporting chunk's name or of the path; ``cat:`` and
    ``conf:`` the start of the category and the confidence. Every term must match.
    """

    words: tuple[str, ...] = ()
    severities: frozenset[Severity] | None = None
    chunks: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    confidences: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()
    # The finding's verdict word (the run knows it; "" without a run).
    verdict_of: Callable[[Finding], str] | None = None
    # ``state:new``: its state against the baseline (``--baseline``; "" without one).
    states: tuple[str, ...] = ()
    state_of: Callable[[Finding], str] | None = None
    # ``diff:yes`` / ``diff:no``: on a line the change review's change touched, or not.
    in_diff: bool | None = None
    in_diff_of: Callable[[Finding], bool] | None = None

    @classmethod
    def parse(
        cls,
        text: str,
        verdict_of: Callable[[Finding], str] | None = None,
        state_of: Callable[[Finding], str] | None = None,
        in_diff_of: Callable[[Finding], bool] | None = None,
    ) -> IssueFilter:
        words: list[str] = []
        verdicts: list[str] = []
        states: list[str] = []
        in_diff: bool | None = None
        chunks: list[str] = []
        files: list[str] = []
        categories: list[str] = []
        confidences: list[str] = []
        severities: set[Severity] | None = None
        for term in text.lower().split():
            key, sep, value = term.partition(":")
            if sep and value and key in ("sev", "severity", "s"):
                at_least = value.endswith("+")
                wanted = {s for s in Severity if s.value.startswith(value.rstrip("+"))}
                if at_least and wanted:
                    worst = max(s.rank for s in wanted)
                    wanted = {s for s in Severity if s.rank <= worst}
                severities = wanted if severities is None else severities & wanted
            elif sep and value and key in ("chunk", "c"):
                chunks.append(value)
            elif sep and value and key in ("file", "f", "path"):
                files.append(value)
            elif sep and value and key in ("cat", "category"):
                categories.append(value)
            elif sep and value and key in ("conf", "confidence"):
                confidences.append(value)
            elif sep and value and key in ("verdict", "v"):
                verdicts.append(value)
            elif sep and value and key in ("state", "baseline", "b"):
                states.append(value)
            elif sep and value in ("yes", "y", "in", "no", "n", "out") and key == "diff":
                in_diff = value in ("yes", "y", "in")
            else:
                words.append(term)
        return cls(
            tuple(words),
            None if severities is None else frozenset(severities),
            tuple(chunks),
            tuple(files),
            tuple(categories),
            tuple(confidences),
            tuple(verdicts),
            verdict_of,
            tuple(states),
            state_of,
            in_diff,
            in_diff_of,
        )

    def __call__(self, finding: Finding) -> bool:
        if self.severities is not None and finding.severity not in self.severities:
            return False
        chunk, path = " ".join(finding.chunks or (finding.chunk,)).lower(), finding.file.lower()
        if not all(c in chunk for c in self.chunks) or not all(f in path for f in self.files):
            return False
        if not all(finding.category.startswith(c) for c in self.categories):
            return False
        if not all(finding.confidence.startswith(c) for c in self.confidences):
            return False
        if self.verdicts:
            verdict = self.verdict_of(finding) if self.verdict_of is not None else ""
            if not all(verdict.startswith(v) for v in self.verdicts):
                return False
        if self.states:
            state = self.state_of(finding) if self.state_of is not None else ""
            if not all(state.startswith(v) for v in self.states):
                return False
        if self.in_diff is not None:
            on_change = self.in_diff_of(finding) if self.in_diff_of is not None else True
            if on_change is not self.in_diff:
                return False
        text = f"{finding.severity.value} {path}:{finding.line} {finding.title.lower()} {chunk}"
        return all(word in text for word in self.words)


def matches(finding: Finding, query: str) -> bool:
    """Does the finding pass the filter typed after ``/``?"""
    return IssueFilter.parse(query)(finding)


def _identity(finding: Finding) -> tuple[str, int, str]:
    # The report's dedup key: one row per (file, line, title).
    return (finding.file, finding.line, finding.title)


def category_cell(category: str, width: int) -> str:
    """The category, or its one word where the column is narrow."""
    return category if len(category) <= width else SHORT_CATEGORY.get(category, category)[:width]


def verdict_cell(verdict: str, width: int) -> str:
    """The verdict, or its mark where the column is narrow."""
    return verdict if len(verdict) <= width else VERDICT_MARK.get(verdict, "?")


def chunk_cell(finding: Finding) -> str:
    """The chunk that reported it, and how many others did too: ``web +2``."""
    others = len(finding.chunks) - 1
    return f"{finding.chunk} +{others}" if others > 0 else finding.chunk


class FindingsTable(DataTable[object]):
    """The findings table; its ``enter`` (the table's own, so it wins) says what it does."""

    BINDING_GROUP_TITLE = "Issues table"

    BINDINGS = [
        Binding("enter", "select_cursor", "Details", tooltip="Show the finding with the code around it", id="issues.table.details"),
    ]  # fmt: skip


class IssuesScreen(ViewScreen):
    """Findings of every chunk, once each, live as chunks finish."""

    CSS_PATH = "issues.tcss"
    VIEW = "issues"
    TITLE_TEXT = "Issues"
    BINDING_GROUP_TITLE = "Issues view"

    BINDINGS = [
        Binding("slash", "filter", "Filter", tooltip="Filter by text, severity (sev:high+), chunk:NAME, verdict:, state:new (baseline) or diff:yes", id="issues.filter"),
        Binding("greater_than_sign", "sort", "Sort", key_display=">", tooltip="Sort by the next column (or click a column header)", id="issues.sort"),
        Binding("s", "suppress", "Suppress", tooltip="Suppress the finding: out of --fail-on, dismissed in SARIF (asks why)", id="issues.suppress"),
        Binding("S", "reverse", "Reverse", show=False, tooltip="Reverse the order of the rows", id="issues.reverse"),
        Binding("enter", "details", "Details", tooltip="Show the finding with the code around it", id="issues.details"),
        Binding("o", "open_editor", "Open", tooltip="Open the file at that line in $EDITOR", id="issues.open"),
        Binding("v", "verify", "Verify", tooltip="Have a fresh session verify the finding (again)", id="issues.verify"),
        Binding("E", "export", "Export", tooltip="Write the findings as JSON, SARIF or Markdown", id="issues.export"),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="Show every finding again", id="issues.clear"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.sort_column = "severity"
        self.sort_reverse = False
        self.query_text = ""
        self.rows: list[Finding] = []
        # Each finding's verdict word by fingerprint, as the rows were last filled.
        self._words: dict[str, str] = {}
        self._widths: tuple[int, ...] = ()

    # Older tests and tools read ``_rows``.
    @property
    def _rows(self) -> list[Finding]:
        return self.rows

    def compose_view(self) -> ComposeResult:
        with Vertical(id="issues-body"):
            yield Input(placeholder=FILTER_HELP, id="issues-filter", disabled=True)
            yield Static("No findings yet: they appear here as chunks finish.", id="issues-empty")
            table: DataTable[object] = FindingsTable(
                id="issues-table", cursor_type="row", zebra_stripes=True
            )
            for column in COLUMNS:
                table.add_column(column.capitalize(), key=column)
            yield table

    def on_mount(self) -> None:
        # (ViewScreen's own on_mount runs too: Textual calls the handler of every class.)
        self.query_one("#issues-filter").display = False
        self.run_changed(None)
        self.query_one(DataTable).focus()

    def findings(self) -> list[Finding]:
        manager = self.tui.manager
        if manager is None:
            return []
        words = self._words = manager.verdict_words()
        keep = IssueFilter.parse(
            self.query_text,
            lambda f: words.get(f.fingerprint, ""),
            manager.baseline_state,
            manager.in_diff,
        )
        found = manager.findings(keep)
        if self.sort_column == "verdict":
            order = VERDICT_ORDER
            return sorted(
                found,
                key=lambda f: (
                    order.index(words.get(f.fingerprint, "")),
                    f.severity.rank,
                    f.file,
                    f.line,
                ),
                reverse=self.sort_reverse,
            )
        return sorted(found, key=_SORT_KEYS[self.sort_column], reverse=self.sort_reverse)

    def _title_cell(self, finding: Finding, width: int) -> Text:
        """The title; a suppressed finding's dimmed, after a mark."""
        manager = self.tui.manager
        if manager is not None and finding.fingerprint in manager.suppressions:
            return Text(cut_words(printable(f"⊘ {finding.title}"), width), style="dim")
        return Text(cut_words(printable(finding.title), width))

    def _verdict(self, finding: Finding) -> str:
        """Its verdict word, as the table was last filled (``findings``)."""
        return self._words.get(finding.fingerprint, "")

    def run_changed(self, batch: Batch | None) -> None:
        super().run_changed(batch)
        if batch is not None and (not batch.findings or not self.is_current):
            # Only finished chunks bring findings; a hidden table is rebuilt when shown.
            return
        table = self.query_one(DataTable)
        selected = self._current(quiet=True)
        rows = self.findings()
        widths = self._column_widths(table, rows)
        shown = tuple(c for c, w in zip(COLUMNS, widths, strict=True) if w)
        if tuple(str(key.value) for key in table.columns) != shown:
            # The verdict column comes and goes with the verdicts (none while nothing is
            # verified): the table's columns are made again.
            table.clear(columns=True)
            for column in shown:
                table.add_column(column.capitalize(), key=column)
            self.rows = []
        relabelled = self._label_columns(table, widths)
        if (
            relabelled
            or rows != self.rows
            or table.row_count != len(rows)
            or widths != self._widths
        ):
            self.rows = rows
            self._widths = widths
            for key, width in zip(COLUMNS, widths, strict=True):
                if key in shown:
                    column = table.columns[ColumnKey(key)]
                    column.width, column.auto_width = width, False
            table.clear()
            location_w, title_w, category_w, verdict_w, chunk_w = widths[1:]
            for index, f in enumerate(rows):
                verdict = self._verdict(f)
                # A str cell is markup to the DataTable: the model's text goes in as Text.
                # Cut to its column: a title at a word's end, a path at its start.
                cells = {
                    "severity": Content.styled(f.severity.value, SEVERITY_STYLE[f.severity]),
                    "location": Text(cut_left(printable(f"{f.file}:{f.line}"), location_w)),
                    "title": self._title_cell(f, title_w),
                    "category": Text(category_cell(f.category, category_w)),
                    "verdict": Content.styled(
                        verdict_cell(verdict, verdict_w), VERDICT_STYLE[verdict]
                    ),
                    "chunk": Text(cut_words(printable(chunk_cell(f)), chunk_w)),
                }
                table.add_row(*(cells[c] for c in shown), key=str(index))
            if rows:
                # The cursor stays on the finding it was on, wherever that row went.
                keys = [_identity(f) for f in rows]
                wanted = _identity(selected) if selected is not None else None
                row = keys.index(wanted) if wanted in keys else 0
                table.move_cursor(row=row, animate=False)
        self._show_counts()

    def _column_widths(self, table: DataTable[object], rows: list[Finding]) -> tuple[int, ...]:
        """Columns that fit the table's width: severity and chunk stay narrow, a long path
        takes at most a third of the room (MIN_LOCATION cells at least), and the title what
        is left (its words cut with an ellipsis), so every column stays in sight at 80."""
        room = table.scrollable_content_region.width or max(0, self.size.width - 4)
        words = [self._verdict(f) for f in rows]
        columns = len(COLUMNS) if any(words) else len(COLUMNS) - 1
        room -= 2 * table.cell_padding * columns
        header = [len(c) + 2 for c in COLUMNS]  # the name and a sort arrow
        severity = max(header[0], *(len(f.severity.value) for f in rows), 0)
        location = max(header[1], *(cell_len(f"{f.file}:{f.line}") for f in rows), 0)
        chunk = min(MAX_CHUNK, max(header[4], *(cell_len(chunk_cell(f)) for f in rows), 0))
        title = max(header[2], *(cell_len(f.title) for f in rows), 0)
        category = max(len("Cat ↓"), *(len(f.category) for f in rows), 0)
        # (no column at all while nothing is verified: verification is off, or not begun)
        verdict = max(len("Verdict ↓"), *(len(w) for w in words), 0) if any(words) else 0
        # A path gets at most a third of the room (its file name and line stay); the title,
        # what a user reads first, the rest; on a narrow terminal a category takes one word
        # and a verdict one mark.
        location = min(location, max(MIN_LOCATION, room // 3))
        if room - severity - chunk - location - category - verdict < MIN_TITLE:
            short = (len(SHORT_CATEGORY.get(f.category, f.category)) for f in rows)
            category = max(len("Cat ↓"), *short, 0)
            verdict = len("Ver ↓") if verdict else 0
        title = min(title, max(MIN_TITLE, room - severity - chunk - location - category - verdict))
        # Still too wide: the path gives way first, then the title (never below a few words).
        over = severity + location + title + category + verdict + chunk - room
        if over > 0:
            cut = min(over, max(0, location - NARROW_LOCATION))
            location, over = location - cut, over - cut
        if over > 0:
            title = max(NARROW_TITLE, title - over)
        return (severity, location, title, category, verdict, chunk)

    def on_resize(self) -> None:
        # The columns fit the width: a new width refills the table.
        self.call_after_refresh(self.run_changed, None)

    def _show_counts(self) -> None:
        table = self.query_one(DataTable)
        empty = self.query_one("#issues-empty", Static)
        empty.display = not self.rows
        if self.query_text and not self.rows:
            empty.update(
                literal(f"No finding matches {self.query_text!r} (escape clears the filter)")
            )
        elif not self.rows:
            empty.update("No findings yet: they appear here as chunks finish.")
        arrow = "↑" if self.sort_reverse else "↓"
        title = plural(len(self.rows), "finding")
        if self.query_text:
            title += f" matching {self.query_text!r}"
        counts = Counter(self._words.values())
        said = [f"{counts[k]} {k}" for k in ("confirmed", "refuted", "uncertain", "pending")
                if counts.get(k)]  # fmt: skip
        manager = self.tui.manager
        if manager is not None and manager.baseline is not None:
            states = Counter(manager.baseline_state(f) for f in self.rows)
            said += [f"{states[k]} {k}" for k in ("new", "updated") if states.get(k)]
        if manager is not None and manager.change is not None:
            said.append(f"{sum(map(manager.in_diff, self.rows))} on changed lines")
        if said:
            title += " · " + " · ".join(said)
        table.border_title = literal(title)
        table.border_subtitle = f"by {self.sort_column} {arrow}"
        self._show_reporters()

    @on(DataTable.RowHighlighted, "#issues-table")
    def _row_moved(self) -> None:
        self._show_reporters()

    def _show_reporters(self) -> None:
        """Under the table: how many chunks reported the finding under the cursor (when
        more than one did), beside the sort order."""
        table = self.query_one(DataTable)
        arrow = "↑" if self.sort_reverse else "↓"
        subtitle = f"by {self.sort_column} {arrow}"
        current = self._current(quiet=True)
        if current is not None and len(current.chunks) > 1:
            subtitle = f"reported by {len(current.chunks)} chunks · {subtitle}"
        if table.border_subtitle != subtitle:
            table.border_subtitle = subtitle

    def _label_columns(self, table: DataTable[object], widths: tuple[int, ...]) -> bool:
        """The sorted column says so in its header, where the eye looks for it; True when a
        header changed (the table is then refilled, which draws the headers anew)."""
        arrow = "↑" if self.sort_reverse else "↓"
        changed = False
        width = dict(zip(COLUMNS, widths, strict=True))
        for key, column in table.columns.items():
            label = str(key.value).capitalize()
            if len(label) + 2 > width.get(str(key.value), len(label) + 2):
                label = label[:3]  # "Cat", "Ver": a narrow column keeps a short header
            if key.value == self.sort_column:
                label += f" {arrow}"
            if column.label.plain != label:
                column.label = Text(label)
                # (The width was measured for the old label: the arrow must fit.)
                column.content_width = max(column.content_width, column.label.cell_len)
                changed = True
        return changed

    def _current(self, quiet: bool = False) -> Finding | None:
        table = self.query_one(DataTable)
        rows = self.rows
        if not rows or table.cursor_row < 0 or table.cursor_row >= len(rows):
            if not quiet:
                self.notify("No finding selected", severity="warning")
            return None
        return rows[table.cursor_row]

    # Keys ------------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#issues-filter", Input)
        box.display = True
        box.disabled = False
        box.focus()

    @on(Input.Changed, "#issues-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value.strip()
        self.run_changed(None)

    @on(Input.Submitted, "#issues-filter")
    def _filter_done(self) -> None:
        box = self.query_one("#issues-filter", Input)
        if not box.value.strip():
            self.action_clear_filter()
            return
        self.query_one(DataTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#issues-filter", Input)
        box.value = ""
        box.display = False
        box.disabled = True
        self.query_text = ""
        self.run_changed(None)
        self.query_one(DataTable).focus()

    def action_sort(self) -> None:
        shown = [c for c, w in zip(COLUMNS, self._widths, strict=False) if w] or list(COLUMNS)
        at = shown.index(self.sort_column) if self.sort_column in shown else -1
        self.sort_column = shown[(at + 1) % len(shown)]  # (a column not shown is skipped)
        self.sort_reverse = False
        self.run_changed(None)

    def action_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self.run_changed(None)

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        # A second click on the same header reverses the order.
        self.sort_reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column = column
        self.run_changed(None)

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_details()

    def action_details(self) -> None:
        finding = self._current()
        if finding is not None:
            manager = self.tui.manager
            reason = manager.verdict_reason(finding) if manager is not None else ""
            verdict = manager.verdict(finding) if manager is not None else ""
            notes: list[str] = []
            if manager is not None and manager.baseline is not None:
                state = manager.baseline_state(finding)
                notes.append(
                    "new since the baseline" if state == "new" else f"{state} since the baseline"
                )
            if manager is not None and manager.change is not None:
                on_change = manager.in_diff(finding)
                notes.append("on a changed line" if on_change else "not on a changed line")
            self.app.push_screen(
                FindingScreen(
                    finding,
                    self.tui.editing.root,
                    verdict=verdict,
                    reason=reason,
                    notes=tuple(notes),
                )
            )

    @work(exclusive=True, group="suppress", exit_on_error=False)
    async def action_suppress(self) -> None:
        """The team decides not to act on the finding under the cursor: its reason goes to
        .claude-tui/suppressions.toml (commit it) with who decided."""
        finding = self._current()
        manager = self.tui.manager
        if finding is None or manager is None:
            return
        if not finding.fingerprint:
            self.notify("This finding has no fingerprint to suppress it by", severity="warning")
            return
        if finding.fingerprint in manager.suppressions:
            reason = manager.suppressions[finding.fingerprint].reason
            self.notify(printable(f"Suppressed already: {reason}"), markup=False)
            return
        reason = await self.app.push_screen_wait(
            NameScreen(
                f"Suppress {finding.file}:{finding.line}: why?",
                "",
                hint="Written to .claude-tui/suppressions.toml with your name: commit it",
            )
        )
        if not reason or not reason.strip():
            return
        try:
            entry = manager.suppress(finding.fingerprint, reason)
        except ClaudeTuiError as exc:
            self.notify(printable(str(exc)), severity="error", markup=False)
            return
        self.notify(
            printable(f"Suppressed {finding.file}:{finding.line} (by {entry.by})"), markup=False
        )
        self.rows = []  # the same rows, drawn anew (a title is marked now)
        self.run_changed(None)

    def action_verify(self) -> None:
        """A fresh session verifies the finding under the cursor, whatever its verdict."""
        finding = self._current()
        manager = self.tui.manager
        if finding is None or manager is None:
            return
        if not finding.fingerprint:
            self.notify("This finding has no fingerprint to keep a verdict by", severity="warning")
            return
        names = manager.verify({finding.fingerprint})
        if names:
            self.notify(printable(f"Verifying {finding.file}:{finding.line}"), markup=False)
        else:
            self.notify("It is being verified already", severity="warning")
        self.run_changed(None)

    def action_open_editor(self) -> None:
        finding = self._current()
        if finding is not None:
            open_in_editor(self.app, self.tui.editing.root, finding.file, finding.line)

    @work(exclusive=True, group="export", exit_on_error=False)
    async def action_export(self) -> None:
        manager = self.tui.manager
        if manager is None:
            self.notify("No run yet: nothing to export", severity="warning")
            return
        fmt = await self.app.push_screen_wait(
            PickerScreen(
                "Export the findings",
                [Choice(k, "Markdown" if k == "markdown" else k.upper(), f"→ .claude-tui/{v}")
                 for k, v in EXPORTS.items()],
            )
        )  # fmt: skip
        if fmt is None:
            return
        total = len(manager.findings())
        shown = len(self.findings())
        keep = None
        if self.query_text and shown != total:
            which = await self.app.push_screen_wait(
                PickerScreen(
                    "Export which findings?",
                    [Choice("shown", f"The {shown} shown", f"filter: {self.query_text}"),
                     Choice("all", f"All {total}", "every chunk's findings")],
                )
            )  # fmt: skip
            if which is None:
                return
            if which == "shown":
                keep = IssueFilter.parse(
                    self.query_text, manager.verdict, manager.baseline_state, manager.in_diff
                )
        where = await self.app.push_screen_wait(
            NameScreen(
                f"Export as {fmt}: where to?",
                f".claude-tui/{EXPORTS[fmt]}",
                hint="A path relative to the repository, or absolute",
            )
        )
        if where is None:
            return
        path = Path(where).expanduser()
        if not path.is_absolute():
            path = self.tui.editing.root / path
        text = manager.report(fmt, keep, self.query_text if keep is not None else "")
        try:
            root = self.tui.editing.root
            protected = [manager.store.path, *report_file.run_state_files(root)]
            report_file.check_report_target(path, protected, make_folders=True)
            # A file is written atomically and fsynced: not on the loop.
            await asyncio.to_thread(report_file.write_report, path, text)
        except (OSError, ClaudeTuiError) as exc:
            # The path is the user's typing and the reason may quote it: text, not markup.
            text = printable(f"Could not write {where}: {exc}")
            self.notify(text, severity="error", timeout=10, markup=False)
            return
        count = len(manager.findings(keep))
        self.notify(
            printable(
                f"Wrote {plural(count, 'finding')} to {self.tui.editing.relative(str(path))}"
            ),
            title="Export",
            timeout=6,
            markup=False,
        )
