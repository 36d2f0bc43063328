"""The prompts: every file named, what a resumed session is told, the root of a remote copy."""

from __future__ import annotations

import re
from pathlib import Path

from tui_orchestrator.engine.prompt import (
    DEFAULT_INSTRUCTIONS,
    first_prompt,
    resume_prompt,
    with_root,
)

ROOT = Path("/home/dev/shop")


def _listed(prompt: str, heading: str) -> list[str]:
    block = prompt.split(heading, 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^- (.+)$", block, re.MULTILINE)


def test_the_first_prompt_names_every_file_of_the_chunk_under_the_root() -> None:
    files = ["src/a.py", "src/b c.py", "web/ünï.ts"]
    prompt = first_prompt(DEFAULT_INSTRUCTIONS, ROOT, files)
    assert prompt.startswith(DEFAULT_INSTRUCTIONS)
    assert f"Repository root: {ROOT}\n" in prompt
    assert _listed(prompt, "Files to review (3):") == files
    assert '{"findings": [...]}' in prompt


def test_a_resumed_session_gets_the_files_left_and_asks_for_every_finding() -> None:
    prompt = resume_prompt(ROOT, ["src/b.py"])
    assert _listed(prompt, "Files left to review (1):") == ["src/b.py"]
    assert "ALL files of this review" in prompt
    # A kill can land between a read shown on stdout and its save in the session: the
    # agent is told to read again whatever its conversation lacks.
    assert "read it again" in prompt


def test_a_resumed_session_with_nothing_left_goes_straight_to_reporting() -> None:
    prompt = resume_prompt(ROOT, [])
    assert "Files left to review (0):" in prompt
    assert "report the findings now" in prompt


def test_a_remote_copy_renames_only_the_engine_root_line() -> None:
    custom = "Check Repository root: handling in the docs.\nRepository root: /elsewhere"
    prompt = first_prompt(custom, ROOT, ["a.py"])
    moved = with_root(prompt, "/tmp/work/shop")
    assert moved.count("Repository root: /tmp/work/shop") == 1
    assert "Check Repository root: handling in the docs." in moved
    assert "Repository root: /elsewhere" in moved
