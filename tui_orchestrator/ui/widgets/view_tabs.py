"""The row of view tabs (Plan, Workers, Issues): click one, or press 1, 2, 3."""

from __future__ import annotations

from textual.widgets import Tab, Tabs

VIEWS: tuple[tuple[str, str], ...] = (
    ("plan", "Plan"),
    ("workers", "Workers"),
    ("issues", "Issues"),
)


class ViewTabs(Tabs, can_focus=False):
    """Tabs naming the views with their number keys; the app switches on activation.

    Not focusable: the number keys switch views, and tab moves between the panes.
    """

    def __init__(self, active: str) -> None:
        super().__init__(
            *(Tab(f"{number} {title}", id=view) for number, (view, title) in enumerate(VIEWS, 1)),
            active=active,
        )
