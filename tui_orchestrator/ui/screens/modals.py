"""Small dialogs: pick one item from a filtered list, or type a name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_orchestrator.engine.text import printable
from tui_orchestrator.ui.format import literal


@dataclass(slots=True, frozen=True)
class Choice:
    """One item of a picker: the value returned, its label, and a dim note after it."""

    value: str
    label: str
    note: str = ""


class PickerScreen(ModalScreen[str | None]):
    """Choose one of a list; typing filters a list of more than two. Returns the value, or
    None on escape."""

    CSS_PATH = "modals.tcss"

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            tooltip="Close without choosing",
            id="picker.cancel",
        ),
        Binding(
            "down",
            "cursor_down",
            "Next",
            show=False,
            tooltip="Highlight the next item",
            id="picker.next",
        ),
        Binding(
            "up",
            "cursor_up",
            "Previous",
            show=False,
            tooltip="Highlight the previous item",
            id="picker.previous",
        ),
    ]

    def __init__(
        self,
        title: str,
        choices: Sequence[Choice],
        *,
        highlight: str | None = None,
        placeholder: str = "type to filter",
        body: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self._title = title
        self._choices = list(choices)
        self._highlight = highlight
        self._placeholder = placeholder
        self._body = list(body)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="picker") as dialog:
            # Titles name chunks and paths ("Move x[/y].py to which chunk?"): never markup.
            dialog.border_title = literal(self._title)
            dialog.border_subtitle = "enter choose · esc cancel"
            if self._body:
                # File and chunk names: shown as they are, never read as markup.
                with VerticalScroll(id="body"):
                    yield Static(Text("\n".join(self._body)), id="body-text")
            if self.filtered:
                yield Input(placeholder=self._placeholder, id="filter")
            yield OptionList(id="choices")

    @property
    def filtered(self) -> bool:
        """A list to search gets a typing box; a yes-or-no question does not."""
        return len(self._choices) > 2

    def on_mount(self) -> None:
        # Typing filters and enter chooses, whatever else (a long body) could take focus.
        if self.filtered:
            self.query_one("#filter", Input).focus()
        else:
            self.query_one(OptionList).focus()
        self._fill("")
        if self._highlight is not None:
            options = self.query_one(OptionList)
            try:
                options.highlighted = options.get_option_index(self._highlight)
            except Exception:
                pass

    def _fill(self, text: str) -> None:
        options = self.query_one(OptionList)
        needle = text.strip().lower()
        width = max((cell_len(choice.label) for choice in self._choices), default=0)
        options.clear_options()
        options.add_options(
            Option(
                Content.assemble(
                    printable(choice.label),
                    " " * (width - cell_len(choice.label) + 2),
                    (printable(choice.note), "dim"),
                ),
                id=choice.value,
            )
            for choice in self._choices
            if needle in choice.label.lower() or needle in choice.note.lower()
        )
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _submit(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            self.app.bell()
            return
        self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


class NameScreen(ModalScreen[str | None]):
    """Type a name (for a new or renamed chunk). Returns it, or None on escape."""

    CSS_PATH = "modals.tcss"

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            tooltip="Close without changing anything",
            id="name.cancel",
        ),
    ]

    def __init__(self, title: str, value: str, *, hint: str = "") -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="name") as dialog:
            dialog.border_title = literal(self._title)
            dialog.border_subtitle = "enter ok · esc cancel"
            yield Input(self._value, id="name", select_on_focus=True)
            if self._hint:
                yield Label(literal(self._hint), id="hint")

    @on(Input.Submitted, "#name")
    def _submit(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.app.bell()
            self.notify("It cannot be empty: type a name, or esc to cancel", severity="warning")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
