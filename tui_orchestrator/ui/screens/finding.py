"""One finding in full: its description and the code around its line, highlighted."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.highlight import highlight
from textual.screen import ModalScreen
from textual.widgets import Static

from tui_orchestrator.engine.findings import Finding
from tui_orchestrator.engine.text import printable
from tui_orchestrator.ui.editor import open_in_editor
from tui_orchestrator.ui.format import literal
from tui_orchestrator.ui.widgets.footer import Footer

CONTEXT_LINES = 8
# Files above this are not highlighted whole (the lexer's time grows with the file).
HIGHLIGHT_LIMIT = 512 * 1024


def code_around(root: Path, finding: Finding, context: int = CONTEXT_LINES) -> Content:
    """The lines around the finding, numbered, highlighted with the theme's colours, the
    finding's line marked. Reads the file: call it from a thread."""
    path = root / finding.file
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        return literal(f"(cannot read {finding.file}: {reason})")
    # The repository's file may hold escapes too: shown, never sent to the terminal.
    text = printable(text, lines=True, tabs=True)
    lines = text.splitlines()
    if not lines:
        return Content("(the file is empty)")
    line = min(max(1, finding.line), len(lines))
    start, end = max(1, line - context), min(len(lines), line + context)
    if len(text) <= HIGHLIGHT_LIMIT:
        # The whole file, so a string or comment opened above the excerpt still lexes right.
        shown = highlight(text, path=finding.file).split("\n")[start - 1 : end]
    else:
        shown = [Content(source) for source in lines[start - 1 : end]]
    width = len(str(end))
    out: list[Content] = []
    for number, source in enumerate(shown, start=start):
        here = number == line
        gutter = Content.styled(
            f"{'❱' if here else ' '} {number:>{width}} ",
            "bold $text-warning" if here else "$text-muted",
        )
        row = gutter + source.expand_tabs(4)
        out.append(row.stylize("on $warning 15%") if here else row)
    return Content("\n").join(out)


class FindingScreen(ModalScreen[None]):
    """A finding's title, place, description and code."""

    CSS_PATH = "finding.tcss"

    BINDINGS = [
        Binding("escape,enter,q", "close", "Back", tooltip="Back to the table", id="finding.close"),
        Binding("o", "open_editor", "Open in $EDITOR", tooltip="Open the file at this line in $EDITOR", id="finding.open"),
    ]  # fmt: skip

    def __init__(
        self,
        finding: Finding,
        root: Path,
        verdict: str = "",
        reason: str = "",
        notes: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.finding = finding
        self.root = root
        # The verifier's verdict and its reason ("" when not verified).
        self.verdict = verdict
        self.reason = reason
        # More of what the run knows of it ("new since the baseline", "on a changed line").
        self.notes = notes

    def compose(self) -> ComposeResult:
        f = self.finding
        with VerticalScroll(id="finding") as box:
            box.border_title = literal(f"{f.severity.value.upper()} · {f.title}")
            box.border_subtitle = "o open in $EDITOR · esc back"
            meta = [f"{f.file}:{f.line}", f"chunk {f.chunk}"]
            if len(f.chunks) > 1:
                meta[1] = f"reported by {len(f.chunks)} chunks: {', '.join(f.chunks)}"
            if f.category:
                meta.append(f.category)
            if f.confidence:
                meta.append(f"{f.confidence} confidence")
            if self.verdict:
                meta.append(
                    self.verdict if self.verdict == "pending" else f"{self.verdict} by a verifier"
                )
            meta += self.notes
            yield Static(literal(" · ".join(meta)), classes="meta")
            if self.reason:
                yield Static(Content(f"Verifier: {printable(self.reason)}"), classes="verdict")
            description = printable(f.description or "(no description)", lines=True, tabs=True)
            yield Static(description, classes="description", markup=False)
            if f.evidence:
                evidence = printable(f.evidence, lines=True, tabs=True)
                # (printable above: the lines stay, no control character does)
                yield Static(Content("Evidence:\n" + evidence), classes="evidence")
            yield Static("…", id="code")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.add_class(f"-{self.finding.severity.value}")
        self._load_code()

    @work(thread=True, exclusive=True, group="finding-code", exit_on_error=False)
    def _load_code(self) -> None:
        code = code_around(self.root, self.finding)
        self.app.call_from_thread(self.query_one("#code", Static).update, code)

    def action_open_editor(self) -> None:
        open_in_editor(self.app, self.root, self.finding.file, self.finding.line)

    def action_close(self) -> None:
        self.dismiss()
