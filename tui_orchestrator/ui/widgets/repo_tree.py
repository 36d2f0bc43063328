"""The repository as a lazy tree, each path coloured and tagged by its chunk.

A folder's children are built only when it is first expanded, so a 100,000-file
repository opens at once. Labels are drawn at render time from the current plan's tags,
so an edit or a theme change only repaints the visible lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on
from textual.widget import Widget
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui_orchestrator.engine.text import printable
from tui_orchestrator.ui.themes import CHUNK_COLOURS
from tui_orchestrator.ui.tree_model import Entry, Kind, PlanTags, RepoIndex, Tag, TagKind

CHUNK_CLASSES = tuple(f"repo-tree--chunk-{n}" for n in range(1, CHUNK_COLOURS + 1))
# Each chunk class takes its theme colour; the tree and the chunk table share the rules.
CHUNK_COLOUR_CSS = "".join(
    f"        & > .{name} {{ color: $chunk-{n}; }}\n" for n, name in enumerate(CHUNK_CLASSES, 1)
)


def chunk_class(position: int) -> str:
    """The component class (and so the theme colour) of the chunk at ``position``."""
    return CHUNK_CLASSES[position % CHUNK_COLOURS]


def foreground_style(widget: Widget, component: str) -> Style:
    """A component's text style and colour, without its background.

    The partial style alone cannot resolve colours such as ``$text-muted`` (``auto 60%``),
    which need the background they sit on; the full style can, so its colour is taken.
    """
    partial = widget.get_component_rich_style(component, partial=True)
    full = widget.get_component_rich_style(component)
    return partial + Style(color=full.color)


class RepoTree(Tree[Entry]):
    """Folders and files of the repository with their chunk, built on demand."""

    BINDING_GROUP_TITLE = "Repository tree"

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *CHUNK_CLASSES,
        "repo-tree--unassigned",
        "repo-tree--excluded",
        "repo-tree--mixed",
        "repo-tree--skipped",
        "repo-tree--empty",
        "repo-tree--tag",
    }

    DEFAULT_CSS = (
        """
    RepoTree {
"""
        + CHUNK_COLOUR_CSS
        + """        & > .repo-tree--unassigned { color: $text-warning; text-style: bold; }
        & > .repo-tree--excluded { color: $text-muted; text-style: strike; }
        & > .repo-tree--mixed { color: $text-muted; text-style: italic; }
        & > .repo-tree--skipped { color: $text-disabled; text-style: italic; }
        & > .repo-tree--empty { color: $text-disabled; }
        & > .repo-tree--tag { text-style: italic; }
    }
    """
    )

    def __init__(
        self,
        index: RepoIndex,
        tags: Callable[[], PlanTags],
        repo_name: str,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(Text(printable(repo_name)), Entry("", repo_name, Kind.FOLDER), id=id)
        self._index = index
        self._tags = tags
        self._loaded: set[int] = set()
        self._by_path: dict[str, TreeNode[Entry]] = {"": self.root}
        self.guide_depth = 3
        self.auto_expand = False

    def on_mount(self) -> None:
        self.load(self.root)
        self.root.expand()

    # Lazy children -------------------------------------------------------------------

    def load(self, node: TreeNode[Entry]) -> None:
        """Build the children of a folder node, once."""
        entry = node.data
        if entry is None or entry.kind != Kind.FOLDER or node.id in self._loaded:
            return
        self._loaded.add(node.id)
        by_path = self._by_path
        # TreeNode.add invalidates the whole tree for every child: with a folder of 5,000
        # files that alone costs more than the 200 ms budget of an expansion. Build the
        # nodes the way add() does, then invalidate once.
        add_node = self._add_node
        children = node._children
        for child in self._index.children(entry.path):
            added = add_node(node, Text(child.name), child)
            # Only real folders expand: a skipped folder stands for all below it.
            added._allow_expand = child.kind == Kind.FOLDER
            children.append(added)
            by_path[child.path] = added
        node._updates += 1
        self._invalidate()

    @on(Tree.NodeExpanded)
    def _load_on_expand(self, event: Tree.NodeExpanded[Entry]) -> None:
        # Folders opened through the API (expand_all, a click on the arrow) land here.
        self.load(event.node)

    def _toggle_node(self, node: TreeNode[Entry]) -> None:
        # Build the children before the folder opens, not when the NodeExpanded message
        # arrives: keys typed right after (space, down, down) must already see them.
        if not node.is_expanded:
            self.load(node)
        super()._toggle_node(node)

    def action_select_cursor(self) -> None:
        # Enter (or a click) opens a folder at once, for the same reason; the Tree's own
        # auto_expand would do it later, from the NodeSelected message.
        node = self.cursor_node
        if node is not None and node.allow_expand:
            self._toggle_node(node)
        super().action_select_cursor()

    def reveal(
        self, path: str, opened: set[TreeNode[Entry]] | None = None
    ) -> TreeNode[Entry] | None:
        """Expand the folders down to ``path`` and put the cursor on it; the folders it
        had to open are added to ``opened`` (a search closes them again as it moves on)."""
        path = path.strip("/")
        node = self.root
        self.load(node)
        node.expand()
        if path:
            parts = path.split("/")
            for depth in range(1, len(parts) + 1):
                found = self._by_path.get("/".join(parts[:depth]))
                if found is None:
                    return None
                node = found
                if depth < len(parts):
                    self.load(node)
                    if opened is not None and not node.is_expanded:
                        opened.add(node)
                    node.expand()
        # The cursor needs the node's line, which exists once the lines are rebuilt.
        _ = self._tree_lines
        self.move_cursor(node)
        return node

    def node_for(self, path: str) -> TreeNode[Entry] | None:
        return self._by_path.get(path.strip("/"))

    @property
    def selected_entry(self) -> Entry | None:
        node = self.cursor_node
        return None if node is None else node.data

    def restyle(self) -> None:
        """Repaint every label (the plan or the theme changed)."""
        self._invalidate()

    # Labels --------------------------------------------------------------------------

    def _tag_style(self, tag: Tag | None) -> Style:
        if tag is None:
            return foreground_style(self, "repo-tree--empty")
        if tag.kind == TagKind.CHUNK:
            return foreground_style(self, chunk_class(tag.position))
        return foreground_style(self, f"repo-tree--{tag.kind}")

    def _label_parts(self, entry: Entry) -> tuple[str, Style, str]:
        """The name, its style, and the tag text after it (a name's control characters
        made visible: a file may be called ``\\x1b[2J``)."""
        if entry.skipped:
            style = foreground_style(self, "repo-tree--skipped")
            name = printable(entry.name) + ("/" if entry.kind == Kind.SKIPPED_FOLDER else "")
            return name, style, printable(f"skipped: {entry.reason}")
        tag = self._tags().of(entry)
        name = printable(entry.name) + ("/" if entry.kind == Kind.FOLDER else "")
        if tag is None:
            return name, self._tag_style(None), "no file to review"
        return name, self._tag_style(tag), printable(tag.text)

    def render_label(self, node: TreeNode[Entry], base_style: Style, style: Style) -> Text:
        entry = node.data
        if entry is None:
            return super().render_label(node, base_style, style)
        name, name_style, tag = self._label_parts(entry)
        tag_style = name_style + self.get_component_rich_style("repo-tree--tag", partial=True)
        label = Text.assemble((name, name_style), ("  " + tag, tag_style))
        label.stylize(style)
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            return Text.assemble((icon, base_style), label)
        return label

    def get_label_width(self, node: TreeNode[Entry]) -> int:
        entry = node.data
        if entry is None:
            return super().get_label_width(node)
        name, _, tag = self._label_parts(entry)
        icon = len(self.ICON_NODE) if node.allow_expand else 0
        return icon + cell_len(name) + 2 + cell_len(tag)
