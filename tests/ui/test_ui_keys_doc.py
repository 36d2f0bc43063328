"""The README's key list, the help screen and the bindings say the same.

The README block between ``<!-- keys:start -->`` and ``<!-- keys:end -->`` is what the
bindings give; ``UPDATE_README_KEYS=1`` makes this test rewrite it after a key changes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from textual.widgets import Label

from tests.ui.test_ui_plan_keys import SIZE, settle
from tui_orchestrator.ui.screens.help import HelpScreen, binding_sections, keys_markdown

README = Path(__file__).resolve().parents[2] / "README.md"
START = "<!-- keys:start -->"
END = "<!-- keys:end -->"
VIEWS = {"1": "Plan view", "2": "Workers view", "3": "Issues view"}


async def test_the_readme_lists_every_key_of_every_view_as_the_bindings_have_them(make_app):
    app = make_app()
    blocks: list[str] = []
    everywhere = ""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, title in VIEWS.items():
            await pilot.press(key)
            await settle(pilot)
            sections = binding_sections(app.screen)
            own = [s for s in sections if s.title != "Everywhere"]
            everywhere = keys_markdown("Everywhere", [s for s in sections if s.title == "Everywhere"])
            blocks.append(keys_markdown(title, own))
    expected = "\n".join([*blocks, everywhere])
    text = README.read_text(encoding="utf-8")
    found = re.search(f"{START}\n(.*?){END}", text, re.DOTALL)
    assert found is not None, f"README.md has no {START} … {END} block"
    if os.environ.get("UPDATE_README_KEYS") == "1":
        text = text.replace(found.group(0), f"{START}\n{expected}{END}")
        README.write_text(text, encoding="utf-8")
        return
    assert found.group(1) == expected, (
        "README.md's key list differs from the bindings; "
        "UPDATE_README_KEYS=1 pytest tests/ui/test_ui_keys_doc.py rewrites it"
    )


async def test_the_help_screen_shows_every_binding_of_the_view(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in VIEWS:
            await pilot.press(key)
            await settle(pilot)
            sections = binding_sections(app.screen)
            await pilot.press("question_mark")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            shown = [str(label.render()) for label in app.screen.query(Label)]
            for section in sections:
                assert section.title in shown
                for row in section.rows:
                    assert " ".join(row.keys) in shown and row.description in shown, row
            await pilot.press("escape")
            await settle(pilot)
