"""The screens read the engine through its read model (engine/views.py) and its public
methods, never through its working state or its wording (docs/engine.md)."""

from __future__ import annotations

import re
from pathlib import Path

import tui_orchestrator

UI = Path(tui_orchestrator.__file__).parent / "ui"

# What a screen must not touch: the manager's runtime records (they hold asyncio tasks),
# its checkpoint object, its private members, and engine prose tested as data.
FORBIDDEN = {
    "Runtime": re.compile(r"\bRuntime\b"),
    "manager.checkpoint": re.compile(r"manager\.checkpoint\b"),
    "runtime(": re.compile(r"\bruntime\("),
    ".runtime": re.compile(r"manager\.runtime\b|\.book\.runtime\b"),
    "a private manager member": re.compile(r"manager\._[a-z]"),
    "engine prose tested with startswith": re.compile(
        r"\b(detail|text|message|error|reason|save_fault|activity)\.(startswith|endswith)\("
    ),
}


def test_no_screen_reads_the_engines_working_state_or_parses_its_words() -> None:
    found = [
        f"{path.relative_to(UI.parent)}:{number}: {what}: {line.strip()}"
        for path in sorted(UI.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for what, pattern in FORBIDDEN.items()
        if pattern.search(line)
    ]
    assert found == []


def test_the_guard_sees_what_it_forbids() -> None:
    samples = [
        "from tui_orchestrator.engine.manager import Runtime",
        "chunks = manager.checkpoint.chunks",
        "rt = manager.runtime[name]",
        "manager._fatal",
        'if event.detail.startswith("backing off"):',
    ]
    for sample in samples:
        assert any(p.search(sample) for p in FORBIDDEN.values()), sample
