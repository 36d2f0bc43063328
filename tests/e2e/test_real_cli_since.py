"""A change review (`--since`) through the real Claude Code CLI and the scripted server.

The server logs which files each conversation's prompt named: a change review must name
exactly the files the branch changed (committed, staged, unstaged, untracked, renamed),
never a deleted, ignored or unchanged one, and mark each finding ``in_diff``
(docs/change-review.md).
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import load_report, run_cli
from tests.support.git import git
from tests.support.marks import NEEDS_REAL_CLI
from tests.support.messages_api import ScriptedMessagesServer
from tests.support.real_cli import find_claude_bin, real_cli_env
from tests.support.review_repo import make_review_repo

CLAUDE_BIN = find_claude_bin()

pytestmark = NEEDS_REAL_CLI

FILES = {
    "src/edited.py": "def e():\n    return 1\n\n\ndef f():\n    return 2\n",
    "src/staged.py": "def s():\n    return 1\n",
    "src/unstaged.py": "def u():\n    return 1\n",
    "src/old_name.py": "def r():\n    return 1\n",
    "src/gone.py": "def g():\n    return 1\n",
    "src/untouched.py": "def t():\n    eval(x)  # BUG(critical): eval of input\n",
}


def test_a_change_review_names_exactly_the_changed_files(tmp_path: Path) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    git(repo, "checkout", "-q", "-b", "main")
    (repo / ".gitignore").write_text("ignored.py\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    # The base moves on after the branch is cut: none of that is the branch's.
    git(repo, "checkout", "-q", "main")
    (repo / "src" / "untouched.py").write_text("def t():\n    return 0\n")
    git(repo, "commit", "-qam", "main moves on")
    git(repo, "checkout", "-q", "feature")
    (repo / "src" / "edited.py").write_text(
        FILES["src/edited.py"].replace("return 2", "return run(c)  # BUG(high): command from input")
    )
    git(repo, "mv", "src/old_name.py", "src/new_name.py")
    git(repo, "rm", "-q", "src/gone.py")
    git(repo, "commit", "-qam", "feature")
    (repo / "src" / "staged.py").write_text("def s():\n    return 2  # BUG(low): off the diff?\n")
    git(repo, "add", "src/staged.py")
    (repo / "src" / "unstaged.py").write_text("def u():\n    return 2\n")
    (repo / "src" / "brand_new.py").write_text("def n():\n    pass\n")
    (repo / "ignored.py").write_text("def i():\n    pass\n")
    with ScriptedMessagesServer() as srv:
        env = real_cli_env(tmp_path / "home", srv.base_url, CLAUDE_TUI_CLAUDE_BIN=str(CLAUDE_BIN))
        done = run_cli(
            "run", str(repo), "--since", "main", "--verify", "off", "--max-files-per-chunk", "3",
            env=env,
        )  # fmt: skip
        sent = srv.chunks_sent()
    assert done.returncode == 0, done.stderr
    named = sorted(f for chunk in sent for f in chunk)
    assert named == sorted(
        ["src/edited.py", "src/staged.py", "src/unstaged.py", "src/new_name.py",
         "src/brand_new.py"]
    )  # fmt: skip
    issues = {i["title"]: i for i in load_report(repo)["issues"]}
    assert issues["command from input"]["in_diff"] is True
    assert issues["off the diff?"]["in_diff"] is True  # the whole line 2 changed
    assert "eval of input" not in issues
    assert not (repo / ".claude-tui" / "checkpoint.toml").exists()
