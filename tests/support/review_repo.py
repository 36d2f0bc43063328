"""Small repositories with BUG markers, and prompts in the engine's contract, for tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

# Two files, three findings: (path, line, severity, title).
DEFAULT_FILES: dict[str, str] = {
    "src/app.py": (
        "import os\n"
        "\n"
        "def run(cmd):\n"
        "    # BUG(critical): shell command built from user input\n"
        "    os.system(cmd)\n"
        "\n"
        "def add(a, b):\n"
        "    return a + b  # BUG(low): no type checks\n"
    ),
    "lib/util.go": ("package lib\n\n// BUG(medium): error ignored\nfunc F() {}\n"),
}
DEFAULT_FINDINGS: set[tuple[str, int, str, str]] = {
    ("src/app.py", 4, "critical", "shell command built from user input"),
    ("src/app.py", 8, "low", "no type checks"),
    ("lib/util.go", 3, "medium", "error ignored"),
}


def make_review_repo(root: Path, files: dict[str, str] | None = None, git: bool = True) -> Path:
    """Write ``files`` (relative path -> text) under ``root``; a git repo unless git=False."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in (DEFAULT_FILES if files is None else files).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if git:
        subprocess.run(
            ["git", "init", "-q"],
            cwd=root,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return root


def review_prompt(root: Path | str, files: list[str], *, left: bool = False) -> str:
    """A prompt of the form the engine sends (the scripted model and the fake parse it)."""
    header = "Files left to review" if left else "Files to review"
    lines = [
        "You are reviewing part of a repository. Read each file and report real problems.",
        f"Repository root: {root}",
        f"{header} ({len(files)}):",
        *[f"- {f}" for f in files],
        "",
        "Report every finding through the StructuredOutput tool.",
    ]
    return "\n".join(lines) + "\n"


def finding_keys(findings: list[dict], root: Path | str) -> set[tuple[str, int, str, str]]:
    """(relative path, line, severity, title) of absolute-path findings under ``root``."""
    prefix = str(root).rstrip("/") + "/"
    out = set()
    for f in findings:
        path = f["file"]
        rel = path[len(prefix) :] if path.startswith(prefix) else path
        out.add((rel, f["line"], f["severity"], f["title"]))
    return out
