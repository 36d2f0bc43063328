"""The Plan view: the repository tree on the left, the chunk list on the right.

Every key here turns into one engine edit (``engine.edits``) applied through the app, which
keeps the undo history, saves the plan file and redraws the views. Nothing here decides
how a plan changes; it only works out what the user pointed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Static, Tree
from textual.widgets.tree import TreeNode

from tui_orchestrator.engine import edits
from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.estimate import PlanFigures, seconds_left
from tui_orchestrator.engine.partition import STRATEGIES
from tui_orchestrator.engine.plan import Plan, slug, unique_name
from tui_orchestrator.engine.views import ChunkView
from tui_orchestrator.engine.wording import agree, format_seconds, plural
from tui_orchestrator.ui.bridge import Batch
from tui_orchestrator.ui.format import literal
from tui_orchestrator.ui.screens.modals import Choice, NameScreen, PickerScreen
from tui_orchestrator.ui.screens.view import ViewScreen
from tui_orchestrator.ui.tree_model import Entry, Kind, TagKind
from tui_orchestrator.ui.widgets.chunk_table import ChunkTable, run_status
from tui_orchestrator.ui.widgets.repo_tree import RepoTree

if TYPE_CHECKING:
    from tui_orchestrator.ui.app import ClaudeTuiApp

STRATEGY_NOTES = {
    "directory": "by folder: big folders split, tiny ones merged",
    "balanced": "even estimated work per chunk, longest first",
    "filetype": "files of one language together",
    "equal": "the same number of files in each chunk",
}


@dataclass(slots=True, frozen=True)
class Selection:
    """What an edit applies to: repo-relative paths, how to name them, and their chunk."""

    paths: tuple[str, ...]
    label: str
    chunk: str | None = None


# The share of a chunk's predicted time its report takes, once every file is read.
REPORT_SHARE = 0.05

SEARCH_HELP = "Search files, folders and chunks by name · enter: next match · esc: close"

# The split picker's value for "in half" (no file path can hold a NUL).
IN_HALF = "\0half"


class PlanPanes(Horizontal):
    """The tree and the chunk list; while the repository is read, what is coming instead."""

    def compose(self) -> ComposeResult:
        app = cast("ClaudeTuiApp", self.app)
        if not app.plan_read:
            with Vertical(id="tree-pane") as pane:
                pane.border_title = "Repository"
                yield Static(opening_text(app), id="opening")
            with Vertical(id="chunk-pane") as pane:
                pane.border_title = "Chunks"
                yield Static(
                    Content.from_markup(
                        "[$text-muted]The chunks of the plan show here once every file is read.[/]"
                    ),
                    id="opening-chunks",
                )
            return
        editing = app.editing
        with Vertical(id="tree-pane") as pane:
            pane.border_title = "Repository"
            yield RepoTree(editing.index, lambda: app.editing.tags, editing.repo_name, id="tree")
        with Vertical(id="chunk-pane") as pane:
            pane.border_title = "Chunks"
            yield ChunkTable(id="chunks")
            yield Static(id="makespan")


def opening_text(app: ClaudeTuiApp) -> Content:
    """What the tree pane says while the repository is read."""
    return Content.assemble(
        (f"Reading {app.repo_name}/", "bold"),
        "\n",
        (f"{app.opening_step}…", "$text-muted italic"),
        "\n\n",
        ("q quits; the plan keys work once the tree is here.", "$text-muted"),
    )


class PlanScreen(ViewScreen):
    """Edit the plan: move, split, join, create, rename, exclude, delete, re-balance."""

    CSS_PATH = "plan.tcss"
    VIEW = "plan"
    TITLE_TEXT = "Plan"
    BINDING_GROUP_TITLE = "Plan view"
    AUTO_FOCUS = "#tree"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    # The opening's step last shown (while the repository is read).
    _opening_shown = ""

    BINDINGS = [
        Binding(
            "m",
            "move",
            "Move",
            tooltip="Move the selected file or folder (or the selected chunk's files) to a chunk",
            id="plan.move",
        ),
        Binding(
            "s",
            "split",
            "Split",
            tooltip="Split the selected chunk: in half, or where a file of it starts the second part",
            id="plan.split",
        ),
        Binding(
            "p",
            "priority",
            "Priority",
            show=False,
            tooltip="Set the selected chunk's priority (higher runs first; 0: longest first)",
            id="plan.priority",
        ),
        Binding(
            "j",
            "join",
            "Join",
            tooltip="Join another chunk into the selected chunk",
            id="plan.join",
        ),
        Binding(
            "n",
            "new_chunk",
            "New",
            tooltip="Make a new chunk of the selected file or folder",
            id="plan.new",
        ),
        Binding(
            "e",
            "rename",
            "Rename",
            show=False,
            tooltip="Rename the selected chunk",
            id="plan.rename",
        ),
        Binding(
            "x",
            "exclude",
            "Exclude",
            tooltip="Exclude the selected file or folder from review, or include it again",
            id="plan.exclude",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            show=False,
            tooltip="Delete the selected chunk; its files become unassigned",
            id="plan.delete",
        ),
        Binding(
            "b",
            "rebalance",
            "Balance",
            tooltip="Re-partition the selected folder (the whole repository at the root) "
            "with a strategy",
            id="plan.rebalance",
        ),
        Binding(
            "ctrl+z",
            "undo",
            "Undo",
            show=False,
            tooltip="Undo the last edit of the plan",
            id="plan.undo",
        ),
        Binding(
            "ctrl+y",
            "redo",
            "Redo",
            show=False,
            tooltip="Redo the edit just undone",
            id="plan.redo",
        ),
        Binding(
            "R",
            "app.run_all",
            "Run",
            tooltip="Run every pending chunk",
            id="plan.run_all",
        ),
        Binding(
            "slash",
            "search",
            "Search",
            tooltip="Find files, folders and chunks by name (enter: the next match)",
            id="plan.search",
        ),
        Binding(
            "escape",
            "close_search",
            "Close search",
            show=False,
            tooltip="Close the search, staying at the match",
            id="plan.close_search",
        ),
    ]

    # What the search found: tree paths, then chunk names; the one shown.
    _matches: tuple[list[str], list[str]] = ([], [])
    _match = -1
    # The folders the search opened (it closes them as it moves on).
    _opened: set[TreeNode[Entry]]

    def compose_view(self) -> ComposeResult:
        with Horizontal(id="plan-search-bar"):
            yield Input(placeholder=SEARCH_HELP, id="plan-search")
            yield Static(id="plan-search-count")
        yield PlanPanes(id="panes")

    def opening_changed(self) -> None:
        step = self.tui.opening_step
        if step != self._opening_shown:
            self._opening_shown = step
            self.query_one("#opening", Static).update(opening_text(self.tui))

    async def rebuild(self) -> None:
        await self.query_one(PlanPanes).recompose()

    def opened(self) -> None:
        super().opened()
        self.tree.focus()

    @property
    def tree(self) -> RepoTree:
        return self.query_one("#tree", RepoTree)

    @property
    def table(self) -> ChunkTable:
        return self.query_one("#chunks", ChunkTable)

    # Showing the plan ----------------------------------------------------------------

    def plan_changed(self, select: str | None = None) -> None:
        super().plan_changed(select)
        if not self.tui.opened:
            return
        editing = self.tui.editing
        figures = editing.figures
        views = self._run_views()
        self.table.show(figures, select, self._run_status(views))
        self.tree.restyle()
        self.query_one("#chunk-pane").border_title = f"Chunks ({len(figures.chunks)})"
        self.query_one("#makespan", Static).update(self._makespan_line(views))
        self._show_selection()
        self.refresh_bindings()

    def run_changed(self, batch: Batch | None) -> None:
        super().run_changed(batch)
        if not self.tui.opened or not self.is_current:
            return  # a hidden view catches up when shown (ViewScreen)
        if batch is not None and not batch.chunks:
            return  # no chunk moved: status and time left are as they were
        views = self._run_views()  # (built once for both: thousands of chunks, 5 times a second)
        self.table.show_status(self._run_status(views))
        self.query_one("#makespan", Static).update(self._makespan_line(views))

    def _run_views(self) -> list[ChunkView] | None:
        """Where each chunk of the run stands; None before any run."""
        manager = self.tui.manager
        if manager is None or not self.tui.run_started:
            return None
        return manager.chunk_views()

    def _run_status(self, views: list[ChunkView] | None) -> dict[str, str] | None:
        return None if views is None else {view.name: run_status(view) for view in views}

    def _makespan_line(self, views: list[ChunkView] | None) -> Content:
        editing = self.tui.editing
        figures = editing.figures
        if views is not None:
            return self._left_line(figures, views)
        ratio = figures.makespan_s / figures.lower_bound_s if figures.lower_bound_s else 1.0
        parts: list[str | tuple[str, str]] = [
            ("Predicted ", "$text-muted"),
            (format_seconds(figures.makespan_s), "bold $text-primary"),
            (f" with {plural(figures.chunk_workers, 'worker')}", "$text-muted"),
            (" · lower bound ", "$text-muted"),
            format_seconds(figures.lower_bound_s),
            (f" (×{ratio:.2f})", "$text-muted"),
            (" · one worker ", "$text-muted"),
            format_seconds(figures.sequential_s),
        ]
        if not editing.lines_ready:
            parts.append((" · counting lines…", "$text-muted italic"))
        return Content.assemble(*parts)

    def _left_line(self, figures: PlanFigures, views: list[ChunkView]) -> Content:
        """During and after a run: what is left of it, predicted as the plan was (a
        running chunk by the share of its files it has still to read)."""
        left: dict[str, float] = {}
        for view in views:
            if view.status is ChunkStatus.RUNNING:
                # Its files still to read; a little for the report once all are read.
                unread = 1.0 - view.files_read / max(1, view.files)
                left[view.name] = max(unread, REPORT_SHARE)
            elif view.status not in (ChunkStatus.PENDING, ChunkStatus.PAUSED):
                left[view.name] = 0.0  # done, or failed or cancelled until retried
        seconds = seconds_left(figures, left, figures.chunk_workers)
        done = sum(view.status is ChunkStatus.DONE for view in views)
        parts: list[str | tuple[str, str]] = [
            (f"{done} of {plural(len(views), 'chunk')} done", "$text-muted"),
        ]
        if seconds > 0:
            parts += [
                (" · left ", "$text-muted"),
                (f"~{format_seconds(seconds)}", "bold $text-primary"),
                (f" with {plural(figures.chunk_workers, 'worker')}", "$text-muted"),
            ]
        parts += [(" · whole plan ", "$text-muted"), format_seconds(figures.makespan_s)]
        return Content.assemble(*parts)

    def _show_selection(self) -> None:
        entry = self._cursor_entry()
        editing = self.tui.editing
        pane = self.query_one("#tree-pane")
        name = f"{editing.repo_name}/" if entry.path == "" else self._label_of(entry)
        # A file's name is the repository's: never markup ("x[/y].py" raised MarkupError).
        if entry.skipped:
            pane.border_subtitle = literal(f"{name} · skipped")
            return
        tag = editing.tags.of(entry)
        count = 1 if entry.kind == Kind.FILE else editing.index.file_count(entry.path)
        what = "no file" if tag is None else tag.text
        pane.border_subtitle = literal(f"{name} · {plural(count, 'file')} · {what}")

    @on(Tree.NodeHighlighted, "#tree")
    def _tree_moved(self, event: Tree.NodeHighlighted[Entry]) -> None:
        entry = event.node.data
        if entry is not None and not entry.skipped:
            tag = self.tui.editing.tags.of(entry)
            if tag is not None and tag.kind == TagKind.CHUNK:
                self.table.select_chunk(tag.chunk)
        self._show_selection()

    @on(ChunkTable.Selected, "#chunks")
    def _chunk_chosen(self, event: ChunkTable.Selected) -> None:
        # Show where the chosen chunk's files are.
        name = event.name
        plan = self.tui.editing.plan
        if name and plan.has_chunk(name):
            self.tree.reveal(plan.chunk(name).files[0])

    # Search ----------------------------------------------------------------------------

    def action_search(self) -> None:
        if not self.tui.opened:
            return
        self._opened = set()
        self.add_class("-searching")
        self.query_one("#plan-search", Input).focus()

    @on(Input.Changed, "#plan-search")
    def _search_changed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        needle = text.casefold()
        chunks = [name for name in self.table.names if needle and needle in name.casefold()]
        self._matches = (self.tui.editing.index.search(text), chunks)
        self._match = -1
        self._next_match()

    @on(Input.Submitted, "#plan-search")
    def _search_next(self) -> None:
        self._next_match()

    def _next_match(self) -> None:
        """Step to the next match: a file or folder in the tree (the chunk list follows to
        its chunk), then a chunk in the list (the tree shows its first file)."""
        paths, chunks = self._matches
        count = self.query_one("#plan-search-count", Static)
        total = len(paths) + len(chunks)
        if not total:
            empty = not self.query_one("#plan-search", Input).value.strip()
            count.update("" if empty else "no match")
            return
        self._match = (self._match + 1) % total
        if self._match < len(paths):
            path = paths[self._match]
        else:
            name = chunks[self._match - len(paths)]
            self.table.select_chunk(name)
            path = self.tui.editing.plan.chunk(name).files[0]
        node = self.tree.reveal(path, self._opened)
        # Folders the search opened on its way close again unless they hold this match.
        keep = set()
        while node is not None:
            keep.add(node)
            node = node.parent
        for folder in self._opened - keep:
            folder.collapse()
        self._opened &= keep
        where = (
            f"{len(paths):,} {agree(len(paths), 'file or folder', 'files or folders')}, "
            f"{plural(len(chunks), 'chunk')}"
        )
        count.update(f"{self._match + 1} of {total} ({where})")

    def action_close_search(self) -> None:
        box = self.query_one("#plan-search", Input)
        self.remove_class("-searching")
        box.value = ""
        self.tree.focus()

    # What the user points at ---------------------------------------------------------

    def _cursor_entry(self) -> Entry:
        entry = self.tree.selected_entry
        return entry if entry is not None else self.tree.root.data or Entry("", "", Kind.FOLDER)

    def _label_of(self, entry: Entry) -> str:
        if entry.path == "":
            return f"{self.tui.editing.repo_name}/ (the whole repository)"
        return entry.path + ("/" if entry.kind in (Kind.FOLDER, Kind.SKIPPED_FOLDER) else "")

    def _tree_selection(self) -> Selection | None:
        """The file or folder under the tree's cursor; None (with a message) when skipped."""
        entry = self._cursor_entry()
        if entry.skipped:
            self.notify(
                f"{entry.path} is skipped by discovery ({entry.reason}), so it is not in the plan",
                title="Not in the plan",
                severity="warning",
            )
            return None
        tag = self.tui.editing.tags.of(entry)
        chunk = tag.chunk if tag is not None and tag.kind == TagKind.CHUNK else None
        return Selection((entry.path,), self._label_of(entry), chunk)

    def _move_selection(self) -> Selection | None:
        """The chunk list's chunk when it has the focus, else the tree's selection."""
        if self.focused is self.table:
            name = self._selected_chunk()
            if name is None:
                return None
            files = self.tui.editing.plan.chunk(name).files
            return Selection(files, f"chunk {name} ({plural(len(files), 'file')})", name)
        return self._tree_selection()

    def _selected_chunk(self) -> str | None:
        name = self.table.selected_chunk
        if name is None:
            self.notify(
                "There is no chunk: n makes one from the tree's selection", severity="warning"
            )
        return name

    def _file_count(self, paths: tuple[str, ...]) -> int:
        return len(edits.expand(self.tui.editing.plan, paths))

    # Edits ---------------------------------------------------------------------------

    def action_move(self) -> None:
        selection = self._move_selection()
        if selection is None:
            return
        plan = self.tui.editing.plan
        choices = [
            Choice(c.name, c.name, plural(len(c.files), "file"))
            for c in plan.chunks
            if c.name != selection.chunk
        ]
        if not choices:
            self.notify("No other chunk to move to: n makes a new one", severity="warning")
            return

        def moved(target: str | None) -> None:
            if target:
                self.tui.apply_edit(
                    lambda p: edits.move(p, selection.paths, target),
                    f"Moved {selection.label} to {target}",
                    select=target,
                )

        self.app.push_screen(PickerScreen(f"Move {selection.label} to", choices), moved)

    def action_split(self) -> None:
        name = self._selected_chunk()
        if name is None:
            return
        files = self.tui.editing.plan.chunk(name).files
        if len(files) < 2:
            self.notify(f"{name} has one file: nothing to split", severity="warning")
            return
        half = (len(files) + 1) // 2  # as edits.split does
        choices = [Choice(IN_HALF, "In half", f"{half} + {plural(len(files) - half, 'file')}")] + [
            Choice(path, f"At {path}", f"{index} + {len(files) - index}")
            for index, path in enumerate(files[1:], start=1)
        ]

        def chosen(at: str | None) -> None:
            if at is None:
                return

            def split(plan: Plan) -> Plan:
                return edits.split(plan, name, None if at == IN_HALF else at)

            if self.tui.apply_edit(split, "", select=name, label=f"split {name}"):
                names = self.tui.editing.plan.names
                second = names[names.index(name) + 1]
                where = "" if at == IN_HALF else f" at {at}"
                self.notify(f"Split {name}{where} into {name} and {second}", title="Plan")

        self.app.push_screen(
            PickerScreen(f"Split {name}: where does the second part start?", choices), chosen
        )

    def action_priority(self) -> None:
        name = self._selected_chunk()
        if name is None:
            return
        current = self.tui.editing.plan.chunk(name).priority

        def entered(text: str | None) -> None:
            if text is None:
                return
            try:
                priority = int(text)
            except ValueError:
                self.notify(f"A priority is a whole number, not {text!r}", severity="error")
                return
            self.tui.apply_edit(
                lambda p: edits.set_priority(p, name, priority),
                f"{name}: priority {priority}" + (" (longest first)" if priority == 0 else ""),
                select=name,
            )

        self.app.push_screen(
            NameScreen(
                f"Priority of {name}",
                str(current),
                hint="Higher runs first; equal ones longest first. 0 is the default.",
            ),
            entered,
        )

    def action_join(self) -> None:
        name = self._selected_chunk()
        if name is None:
            return
        plan = self.tui.editing.plan
        choices = [
            Choice(c.name, c.name, plural(len(c.files), "file"))
            for c in plan.chunks
            if c.name != name
        ]
        if not choices:
            self.notify(f"{name} is the only chunk: nothing to join", severity="warning")
            return

        def joined(other: str | None) -> None:
            if other:
                self.tui.apply_edit(
                    lambda p: edits.merge(p, name, other),
                    f"Joined {other} into {name}",
                    select=name,
                )

        self.app.push_screen(PickerScreen(f"Join which chunk into {name}?", choices), joined)

    def action_new_chunk(self) -> None:
        selection = self._tree_selection()
        if selection is None:
            return
        plan = self.tui.editing.plan
        count = self._file_count(selection.paths)
        if not count:
            self.notify(f"No file of the plan under {selection.label}", severity="warning")
            return
        base = slug(selection.paths[0] or self.tui.editing.repo_name)
        default = unique_name(base, set(plan.names))

        def created(name: str | None) -> None:
            if name:
                self.tui.apply_edit(
                    lambda p: edits.create(p, name, selection.paths),
                    f"New chunk {name} with {plural(count, 'file')}",
                    select=name,
                )

        self.app.push_screen(
            NameScreen(
                f"New chunk from {selection.label}",
                default,
                hint=f"{plural(count, 'file')} {agree(count, 'moves', 'move')} into it. Letters, digits, '.', '_', '+', '-'.",
            ),
            created,
        )

    def action_rename(self) -> None:
        name = self._selected_chunk()
        if name is None:
            return

        def renamed(new: str | None) -> None:
            if new and new != name:
                self.tui.apply_edit(
                    lambda p: edits.rename(p, name, new), f"Renamed {name} to {new}", select=new
                )

        self.app.push_screen(NameScreen(f"Rename chunk {name}", name), renamed)

    def action_exclude(self) -> None:
        selection = self._tree_selection()
        if selection is None:
            return
        before = len(self.tui.editing.plan.excluded)
        chunks_before = self.tui.editing.plan.names
        toggle = lambda p: edits.toggle_exclude(p, selection.paths)  # noqa: E731
        if self.tui.apply_edit(toggle, "", label=f"exclude or include {selection.label}"):
            after = len(self.tui.editing.plan.excluded)
            if after > before:
                message = f"Excluded {selection.label} ({plural(after - before, 'file')})"
            else:
                message = f"Included {selection.label} again ({plural(before - after, 'file')}, unassigned)"
            remaining = set(self.tui.editing.plan.names)
            gone = [name for name in chunks_before if name not in remaining]
            if gone:
                # Its last file went: the chunk goes too, which ctrl+z brings back.
                message += (
                    f"; {agree(len(gone), 'chunk', 'chunks')} {', '.join(gone)} had no file "
                    "left and went too (ctrl+z undoes)"
                )
            self.notify(message, title="Plan", markup=False)

    def action_delete(self) -> None:
        name = self._selected_chunk()
        if name is None:
            return
        count = len(self.tui.editing.plan.chunk(name).files)
        self.tui.apply_edit(
            lambda p: edits.delete(p, name),
            f"Deleted chunk {name}: its {plural(count, 'file')} {agree(count, 'is', 'are')} unassigned (ctrl+z undoes)",
            label=f"delete {name}",
        )

    def action_rebalance(self) -> None:
        entry = self._cursor_entry()
        folder = entry.path if entry.kind == Kind.FOLDER else entry.path.rpartition("/")[0]
        where = "the whole repository" if folder == "" else f"{folder}/"
        editing = self.tui.editing
        choices = [Choice(name, name, STRATEGY_NOTES.get(name, "")) for name in STRATEGIES]

        def rebalanced(strategy: str | None) -> None:
            if not strategy:
                return
            before = set(editing.plan.names)
            if self.tui.apply_edit(
                lambda p: edits.rebalance(p, editing.sizes, strategy, editing.limits, folder),
                "",
                label=f"re-balance {where} with {strategy}",
            ):
                fresh = [n for n in editing.plan.names if n not in before]
                self.notify(
                    f"Re-balanced {where} with {strategy}: {plural(len(fresh), 'new chunk')}",
                    title="Plan",
                )
                if fresh:
                    self.table.select_chunk(fresh[0])

        self.app.push_screen(
            PickerScreen(f"Re-balance {where} with", choices, highlight=editing.plan.strategy),
            rebalanced,
        )

    def action_undo(self) -> None:
        self.tui.undo()

    def action_redo(self) -> None:
        self.tui.redo()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.tui.opened:
            return False  # no plan to edit yet: the footer shows none of its keys
        # Shown dimmed in the footer when there is nothing to undo or redo.
        history = self.tui.editing.history
        if action == "undo":
            return True if history.can_undo else None
        if action == "redo":
            return True if history.can_redo else None
        if action == "close_search":
            return self.has_class("-searching")
        return True
