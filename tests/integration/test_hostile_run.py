"""`claude-tui run` on a terminal against a fake `claude` whose every word is hostile: the
live progress, the summary and the reports show it as text, findings outside the repository
are dropped, and bad numbers count 0."""

from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.conftest import FakeEnv, load_checkpoint, run_cli
from tests.support.hostile import CORPUS, FILE_NAMES, LONG, MIXED_TITLE, outside_paths, unsafe
from tests.support.review_repo import make_review_repo


def _on_a_terminal(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run claude-tui with stderr on a pseudo-terminal (so Rich draws its live progress);
    returns the exit code and everything the terminal received."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {**env, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the last writer closed the terminal
                    break
                if not data:
                    break
                received += data
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, received.decode("utf-8", "replace")


def test_a_hostile_worker_is_shown_and_reported_as_text(tmp_path: Path, fake_env: FakeEnv) -> None:
    root = tmp_path / "repo"
    files = {name: f"x = 1\n# BUG(high): {name} {MIXED_TITLE}\n" for name in FILE_NAMES}
    files["ok.py"] = "# BUG(low): [/] plain \x1b[2J title\r\ny = 2\n"
    make_review_repo(root, files, git=False)
    hostile = {
        "texts": [*CORPUS, MIXED_TITLE],
        "tool_uses": [
            {"name": "Grep", "input": {"pattern": "[/x]"}},
            {"name": "Glob", "input": {"pattern": "\x1b[2J[bold]x\x1b]0;pwn\x07\u202e"}},
            {"name": "Read", "input": {"file_path": "/etc/passwd"}},
            {"name": "Grep", "input": {"pattern": LONG}},
        ],
        "pause": 0.25,
        "findings": [
            {"file": path, "line": 1, "severity": "critical", "title": f"outside {i}",
             "description": ""}
            for i, path in enumerate(outside_paths(str(root)))
        ],
        "result": {"total_cost_usd": float("nan"), "num_turns": float("inf")},
        "usage": {"input_tokens": -5, "output_tokens": float("inf")},
    }  # fmt: skip
    script = tmp_path / "hostile.json"
    script.write_text(json.dumps(hostile), encoding="utf-8")  # NaN, Infinity: as a CLI may
    env = {**fake_env.env, "FAKE_CLAUDE_MODE": "hostile", "FAKE_CLAUDE_HOSTILE": str(script)}

    code, shown = _on_a_terminal(
        ["run", str(root), "--workers", "2", "--max-files-per-chunk", "4",
         "--max-budget-usd", "5"],
        env,
    )  # fmt: skip

    assert code == 0, shown
    assert "Traceback" not in shown and "MarkupError" not in shown
    # The live progress showed the model's pattern as it is, and obeyed none of its escapes
    # (Rich's own cursor codes aside).
    assert "Searching [/x]" in shown
    for escape in ("\x1b[2J", "\x1b]0;", "\x9b", "\x07", "\u202e"):
        assert escape not in shown, repr(escape)
    assert "- Cost: $0.00 of a $5.00 budget" in shown and "nan" not in shown.lower()

    report_text = (root / ".claude-tui" / "report.json").read_text(encoding="utf-8")

    def no_constant(name: str) -> object:
        raise AssertionError(f"{name} in report.json")

    report = json.loads(report_text, parse_constant=no_constant)
    assert unsafe(report_text, allow="\n") == []
    assert report["totals"]["cost_usd"] == 0.0
    assert {i["file"] for i in report["issues"]} == {*FILE_NAMES, "ok.py"}
    assert all(unsafe(i["title"]) == [] for i in report["issues"])
    assert any(i["title"] == "[/] plain \u241b[2J title" for i in report["issues"])

    # Dropped where they came in, and the chunk's log says how many.
    checkpoint = load_checkpoint(root)
    kept = {i["file"] for c in checkpoint["chunks"] for i in c.get("issues", [])}
    assert kept == {*FILE_NAMES, "ok.py"}
    assert all(c["input_tokens"] == 0 and c["output_tokens"] == 0 for c in checkpoint["chunks"])
    notes = [
        json.loads(line)
        for log in (root / ".claude-tui" / "logs").glob("*.jsonl")
        for line in log.read_text(encoding="utf-8").splitlines()
        if '"outside_repo"' in line
    ]
    dropped = len(outside_paths(str(root)))
    assert notes and all(n["outside_repo"] == dropped for n in notes)

    markdown = tmp_path / "report.md"
    done = run_cli("report", str(root / ".claude-tui" / "checkpoint.toml"), "--out", str(markdown))
    assert done.returncode == 0, done.stderr
    text = markdown.read_text(encoding="utf-8")
    assert unsafe(text, allow="\n") == []
    assert "/etc/passwd" not in text and "x[/y].py" in text and "[/] plain" in text
