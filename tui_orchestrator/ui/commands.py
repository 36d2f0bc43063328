"""Command palette providers: the current view's actions, by name.

The commands are read from the active bindings, so the palette, the footer and the help
screen always agree, and a key remapped with ``App.set_keymap`` shows its new key here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

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
        return commands

    async def _run(self, node: DOMNode, action: str) -> None:
        await self.app.run_action(action, node)

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
