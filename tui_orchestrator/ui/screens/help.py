"""The help screen: every key of the current view, read from the bindings themselves."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label


@dataclass(slots=True)
class KeyRow:
    action: str
    keys: list[str]
    description: str
    tooltip: str
    # claude-tui's own key (its binding has an id), not one a Textual widget brings.
    own: bool = False


@dataclass(slots=True)
class KeySection:
    title: str
    rows: list[KeyRow] = field(default_factory=list)


def _title_of(node: DOMNode) -> str:
    """The section's title as a user names the part: "Issues table", never a class name
    (a widget without a title of its own reads "Findings table", not "FindingsTable")."""
    if node.BINDING_GROUP_TITLE:
        return node.BINDING_GROUP_TITLE
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", type(node).__name__)
    return " ".join(words).capitalize()


def binding_sections(screen: Screen) -> list[KeySection]:
    """The bindings a user can press on ``screen``: the view's own, then each of its
    focusable widgets' (whether focused or not), then the app's; one row per action."""
    app = screen.app
    nodes: list[DOMNode] = [screen]
    seen_types: set[type] = set()
    for widget in screen.focus_chain:
        if type(widget) not in seen_types:
            seen_types.add(type(widget))
            nodes.append(widget)
    nodes.append(app)
    sections = []
    for node in nodes:
        section = KeySection(_title_of(node))
        by_action: dict[str, KeyRow] = {}
        # The keys as the user's keymap (App.set_keymap) has them, as Textual's own
        # binding chain applies it.
        bindings_map = node._bindings.copy()
        if app._keymap:
            bindings_map.apply_keymap(app._keymap)
        for key, bindings in bindings_map.key_to_bindings.items():
            for binding in bindings:
                if binding.system or not binding.description:
                    continue
                shown = app.get_key_display(Binding(key, binding.action))
                row = by_action.get(binding.action)
                if row is None:
                    row = by_action[binding.action] = KeyRow(
                        binding.action, [], binding.description, binding.tooltip,
                        own=bool(binding.id),
                    )  # fmt: skip
                    section.rows.append(row)
                if shown not in row.keys:
                    row.keys.append(shown)
        # The node's own keys (they carry an id) before the ones it inherits from Textual.
        own = {binding.action for _, binding in bindings_map if binding.id}
        section.rows.sort(key=lambda row: row.action not in own)
        if section.rows:
            sections.append(section)
    return sections


def keys_markdown(title: str, sections: list[KeySection]) -> str:
    """claude-tui's own keys of one view as the README lists them (a test keeps the two
    the same: tests/ui/test_ui_keys_doc.py)."""
    lines = [f"#### {title}", "", "| keys | what it does |", "|---|---|"]
    for section in sections:
        for row in section.rows:
            if row.own:
                keys = " ".join(f"`{key}`" for key in row.keys).replace("|", "\\|")
                line = f"| {keys} | {row.tooltip or row.description} |"
                if line not in lines:  # a key the view and its table both bind
                    lines.append(line)
    return "\n".join(lines) + "\n"


class HelpScreen(ModalScreen[None]):
    """Lists every key of the view underneath, grouped by where it works."""

    CSS_PATH = "help.tcss"

    BINDINGS = [
        Binding(
            "escape,q,question_mark,f1",
            "close",
            "Close",
            tooltip="Close the help",
            id="help.close",
        ),
    ]

    def __init__(self, view: Screen, view_title: str) -> None:
        super().__init__()
        self._sections = binding_sections(view)
        self._view_title = view_title

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog") as dialog:
            dialog.border_title = f"Keys · {self._view_title}"
            dialog.border_subtitle = "esc close · ctrl+p runs any of these by name"
            with VerticalScroll(id="help-body"):
                for section in self._sections:
                    yield Label(section.title, classes="section-title", markup=False)
                    with Grid(classes="keys"):
                        for row in section.rows:
                            yield Label(" ".join(row.keys), classes="key", markup=False)
                            yield Label(row.description, classes="description", markup=False)
                            yield Label(row.tooltip, classes="tooltip", markup=False)
                yield Label(
                    f"Times (a usage limit's reset) are local time: {time.strftime('%Z')}, "
                    f"UTC{time.strftime('%z')}.",
                    classes="section-title",
                    markup=False,
                )

    def action_close(self) -> None:
        self.dismiss(None)
