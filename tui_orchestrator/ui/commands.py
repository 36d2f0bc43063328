"""Command palette providers: every action of every view, by name.

The current view's and the app's commands are read from the active bindings, so the
palette, the footer and the help screen always agree, and a key remapped with
``App.set_keymap`` shows its new key here. The other views' own actions come from their
bindings too, named with their view ("Export · Issues view"): choosing one shows that view
and runs it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.markup import escape
from textual.types import IgnoreReturnCallbackType

# Not worth a palette entry: opening the palette from the palette, for one.
_SKIPPED_ACTIONS = frozenset({"command_palette", "app.command_palette"})


@dataclass(slots=True, frozen=True)
class ViewCommand:
    title: str
    help: str
    run: IgnoreReturnCallbackType


class ViewCommands(Provider):
    """Every action of the view the palette was opened on, and the app-wide ones."""

    def _commands(self) -> list[ViewCommand]:
        screen = self.screen
        app = self.app
        commands: list[ViewCommand] = []
        seen: set[tuple[int, str]] = set()
        for active in screen.active_bindings.values():
            binding, node = active.binding, active.node
            # Cursor keys of the tree or the table are not commands; the view's and app's are.
            if node is not screen and node is not app:
                continue
            # Our actions carry an id (Textual's own, such as focus-next, do not).
            if binding.id is None or binding.system or not active.enabled:
                continue
            if binding.action in _SKIPPED_ACTIONS or (id(node), binding.action) in seen:
                continue
            seen.add((id(node), binding.action))
            key = app.get_key_display(binding)
            commands.append(
                ViewCommand(
                    binding.description,
                    # The palette reads help as markup.
                    escape(f"{binding.tooltip} · key {key}" if binding.tooltip else f"key {key}"),
                    partial(self._run, node, binding.action),
                )
            )
        commands += self._other_views()
        return commands

    def _other_views(self) -> list[ViewCommand]:
        """The own actions of the views the palette was not opened on."""
        app = self.app
        here = getattr(self.screen, "VIEW", None)
        modes = getattr(app, "MODES", {})
        commands: list[ViewCommand] = []
        for mode, view in modes.items():
            if mode == here or not isinstance(view, type):
                continue
            name = f"{getattr(view, 'TITLE_TEXT', mode)} view"
            for binding in view.BINDINGS:
                if not isinstance(binding, Binding) or binding.id is None or binding.system:
                    continue
                if binding.action.startswith("app."):
                    continue  # the app's own are offered once, above
                key = app.get_key_display(binding)
                about = f"{binding.tooltip} · key {key} there" if binding.tooltip else f"key {key}"
                commands.append(
                    ViewCommand(
                        f"{binding.description} · {name}",
                        escape(about),
                        partial(self._run_in_view, mode, binding.action),
                    )
                )
        return commands

    async def _run(self, node: DOMNode, action: str) -> None:
        await self.app.run_action(action, node)

    async def _run_in_view(self, mode: str, action: str) -> None:
        """Show the view, then run its action there (as its key would)."""
        app = self.app
        switch = getattr(app, "switch_view", None)
        if switch is None:
            return
        switch(mode)
        if app.current_mode == mode:  # (not before the repository is read)
            await app.run_action(action, app.screen)

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            # Match the tooltip too: "undo" finds Undo, "folder" finds Move and Exclude.
            score = max(matcher.match(command.title), matcher.match(command.help) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
