"""The key bar at the bottom of every screen: Textual's Footer, without its slow leak.

Textual's Footer (8.2) rebuilds its keys whenever the active bindings change (a focus move,
a view switch), and each new key binds to the footer's ``compact`` reactive. The footer
keeps a watcher per key it ever built, and only drops those of removed keys when
``compact`` itself changes, which it never does here: in a stretch of switching views and
moving focus, that is thousands of dead keys and hundreds of megabytes (measured by
``benchmarks/bench_ui_stream.py``: 536 MB after 10 minutes). Nudging the reactive after each
rebuild lets Textual prune them.
"""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter

# Narrower than this, the screen's own keys need the room of the palette's key on the right
# (it is in the help screen, `?`, and works all the same).
PALETTE_KEY_MIN_WIDTH = 100


class Footer(TextualFooter):
    """Textual's Footer; dead keys' watchers are dropped after each rebuild, and the
    palette's key is left out on a narrow terminal, where it covered the last keys."""

    def on_resize(self) -> None:
        wanted = self.app.size.width >= PALETTE_KEY_MIN_WIDTH
        if wanted != self.show_command_palette:
            self.show_command_palette = wanted
            self.call_after_refresh(self.recompose)

    async def recompose(self) -> None:
        self.show_command_palette = self.app.size.width >= PALETTE_KEY_MIN_WIDTH
        await super().recompose()
        # Re-announcing `compact` makes Textual forget the watchers of closed keys.
        self.mutate_reactive(TextualFooter.compact)
