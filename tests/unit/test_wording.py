"""Counts read as a person writes them: "1 finding", "2 findings", never "1 findings" or
"finding(s)", in every view, note and report (engine/wording.py)."""

from __future__ import annotations

import re
from pathlib import Path

from tui_orchestrator.engine.checkpoint import Checkpoint
from tui_orchestrator.engine.run_setup import left_out_notes
from tui_orchestrator.engine.wording import agree, plural

PACKAGE = Path(__file__).resolve().parents[2] / "tui_orchestrator"


def test_plural_and_agree() -> None:
    assert [plural(n, "file") for n in (0, 1, 2, 12_000)] == [
        "0 files",
        "1 file",
        "2 files",
        "12,000 files",
    ]
    assert [agree(n, "is", "are") for n in (1, 2)] == ["is", "are"]


def test_no_text_of_the_package_hedges_a_plural_with_parentheses() -> None:
    hedged = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "sample_repo" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"[a-z]\(s\)", line)
    ]
    assert hedged == []


def test_one_left_out_file_is_said_in_the_singular() -> None:
    checkpoint = Checkpoint(repo="/r", chunks=[], unassigned=["a.py"])
    assert left_out_notes(checkpoint)[0].startswith("1 file is in no chunk and not reviewed")
    checkpoint.unassigned.append("b.py")
    assert left_out_notes(checkpoint)[0].startswith("2 files are in no chunk and not reviewed")
