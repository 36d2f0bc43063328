"""`claude-tui run --since REF` against the fake `claude`: a review of what changed.

The fake logs which files each prompt named; the change review must name exactly the
changed files (committed, staged, unstaged, untracked, renamed; never deleted, ignored or
unchanged ones), tell each chunk its changed lines, keep its own checkpoint, and mark and
gate findings by whether they are on changed lines (docs/change-review.md).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.conftest import load_report, run_cli
from tests.support.git import git
from tests.support.review_repo import make_review_repo

BASE_FILES = {
    "src/edited.py": "".join(f"x{i} = {i}\n" for i in range(1, 21)),
    "src/staged.py": "def s():\n    return 1\n",
    "src/unstaged.py": "def u():\n    return 2\n",
    "src/old_name.py": "".join(f"r{i} = {i}\n" for i in range(1, 11)),
    "src/gone.py": "def g():\n    return 3\n",
    # A finding on a line no change touches, in a file that will change.
    "src/mixed.py": (
        "def m():\n    open(p)  # BUG(medium): file never closed\n    return 4\n"
        + "".join(f"m{i} = {i}\n" for i in range(1, 15))
    ),
    "src/untouched.py": "def t():\n    eval(x)  # BUG(critical): eval of input\n",
    "docs/guide.md": "# Guide\n",
}


def named_files(fake_env) -> set[str]:
    """Every file a review prompt named (verification prompts aside)."""
    return {f for call in fake_env.invocations() if not call["verify"] for f in call["files"]}


def prompts(fake_env) -> list[str]:
    return [call["argv"][call["argv"].index("-p") + 1] for call in fake_env.invocations()]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository on a feature branch, with a full review's plan and checkpoint."""
    repo = make_review_repo(tmp_path / "repo", BASE_FILES)
    git(repo, "checkout", "-q", "-b", "main")
    (repo / ".gitignore").write_text("ignored.py\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def change_every_way(repo: Path) -> None:
    """Every kind of change, and a base branch that moved on meanwhile."""
    git(repo, "checkout", "-q", "main")
    (repo / "src" / "untouched.py").write_text("def t():\n    return 0  # fixed on main\n")
    git(repo, "commit", "-qam", "main moves on")
    git(repo, "checkout", "-q", "feature")
    # Committed: an edit at line 5 with a finding, a rename, a deletion.
    edited = repo / "src" / "edited.py"
    edited.write_text(
        edited.read_text().replace("x5 = 5\n", "x5 = run(cmd)  # BUG(high): command from input\n")
    )
    git(repo, "mv", "src/old_name.py", "src/new_name.py")
    git(repo, "rm", "-q", "src/gone.py")
    git(repo, "commit", "-qam", "feature work")
    # Staged, unstaged, untracked, ignored, and a docs-only change.
    (repo / "src" / "staged.py").write_text("def s():\n    return 10\n")
    git(repo, "add", "src/staged.py")
    (repo / "src" / "unstaged.py").write_text("def u():\n    return 20\n")
    mixed = repo / "src" / "mixed.py"
    mixed.write_text(mixed.read_text().replace("m10 = 10\n", "m10 = 100\n"))
    (repo / "src" / "brand_new.py").write_text("def n():\n    pass\n")
    (repo / "ignored.py").write_text("def i():\n    pass\n")
    (repo / "docs" / "guide.md").write_text("# Guide\n\nMore.\n")


def test_since_reviews_exactly_the_changed_files_with_their_lines(
    repo: Path, fake_env, tmp_path: Path
) -> None:
    # A full review first: its plan and checkpoint must come out of this untouched.
    assert run_cli("plan", str(repo), "--write", env=fake_env.env).returncode == 0
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    state = repo / ".claude-tui"
    kept = {p: (state / p).read_bytes() for p in ("plan.toml", "checkpoint.toml")}
    fake_env.log.unlink()
    change_every_way(repo)

    done = run_cli("run", str(repo), "--since", "main", env=fake_env.env)

    assert done.returncode == 0, done.stderr
    assert named_files(fake_env) == {
        "src/edited.py", "src/new_name.py", "src/staged.py", "src/unstaged.py",
        "src/mixed.py", "src/brand_new.py",
    }  # fmt: skip
    # Each chunk was told its changed lines, after its file list.
    said = "\n".join(prompts(fake_env))
    assert "- src/edited.py: 5\n" in said
    assert "- src/mixed.py: 13\n" in said  # (the line of m10)
    assert "- src/brand_new.py: new file" in said
    assert "- src/new_name.py: renamed, no line changed" in said
    for name, before in kept.items():
        assert (state / name).read_bytes() == before, f"{name} was touched"
    since = tomllib.loads((state / "since" / "checkpoint.toml").read_text())
    assert since["change"]["since"] == "main"
    assert since["change"]["base"] == git(repo, "merge-base", "main", "HEAD")
    report = load_report(repo)
    assert report["change"]["since"] == "main"
    by_title = {i["title"]: i for i in report["issues"]}
    assert by_title["command from input"]["in_diff"] is True
    assert by_title["file never closed"]["in_diff"] is False  # line 2, the change is at 13
    assert "eval of input" not in by_title  # its file did not change on this branch
    assert "Change review: 7 files changed since main (6 reviewed)" in done.stderr


def test_diff_only_leaves_unchanged_lines_out_of_reports_and_the_gate(
    repo: Path, fake_env, tmp_path: Path
) -> None:
    mixed = repo / "src" / "mixed.py"
    mixed.write_text(mixed.read_text().replace("m10 = 10\n", "m10 = 100\n"))
    # The only finding is on line 2, which did not change: --fail-on medium counts it
    # without --diff-only, and not with it.
    gated = run_cli("run", str(repo), "--since", "main", "--fail-on", "medium", env=fake_env.env)
    assert gated.returncode == 3, gated.stderr
    assert [i["in_diff"] for i in load_report(repo)["issues"]] == [False]
    sarif = tmp_path / "diff.sarif"
    done = run_cli(
        "run", str(repo), "--since", "main", "--diff-only", "--fail-on", "medium",
        "--report", str(sarif), env=fake_env.env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(sarif.read_text())["runs"][0]["results"] == []
    # The checkpoint keeps the finding; a report without --diff-only shows it again.
    again = run_cli(
        "report", str(repo / ".claude-tui" / "since" / "checkpoint.toml"), env=fake_env.env
    )
    assert [i["title"] for i in json.loads(again.stdout)["issues"]] == ["file never closed"]
    only = run_cli(
        "report", str(repo / ".claude-tui" / "since" / "checkpoint.toml"), "--diff-only",
        env=fake_env.env,
    )  # fmt: skip
    assert json.loads(only.stdout)["issues"] == []


def test_a_docs_only_change_is_exit_0_with_an_empty_report(repo: Path, fake_env) -> None:
    (repo / "docs" / "guide.md").write_text("# Guide\n\nMore.\n")
    done = run_cli("run", str(repo), "--since", "main", "--fail-on", "info", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    assert "nothing to review since main" in done.stderr
    assert "1 file changed, none of them a source file" in done.stderr
    report = load_report(repo)
    assert report["issues"] == [] and report["chunks"] == []
    assert report["change"]["files_changed"] == 1
    assert fake_env.invocations() == []
    # Nothing was planned, so no checkpoint either.
    assert not (repo / ".claude-tui" / "since" / "checkpoint.toml").exists()


def test_a_second_change_review_follows_the_change(repo: Path, fake_env) -> None:
    (repo / "src" / "staged.py").write_text("def s():\n    return 10\n")
    (repo / "src" / "unstaged.py").write_text("def u():\n    return 20\n")
    assert run_cli("run", str(repo), "--since", "main", env=fake_env.env).returncode == 0
    fake_env.log.unlink()
    # One change is undone, one file changes again, another is new to the change.
    git(repo, "checkout", "src/staged.py")
    (repo / "src" / "unstaged.py").write_text("def u():\n    return 30\n")
    (repo / "src" / "brand_new.py").write_text("def n():\n    pass\n")
    done = run_cli("run", str(repo), "--since", "main", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    assert named_files(fake_env) == {"src/unstaged.py", "src/brand_new.py"}
    assert "1 file of the last change review has no change any more" in done.stderr
    files = {f for c in load_report(repo)["chunks"] for f in c["files"]}
    assert files == {"src/unstaged.py", "src/brand_new.py"}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--since", "no-such-branch"], "--since no-such-branch: no such commit"),
        (["--since=--all"], "not a git ref"),
        (["--diff-only"], "--diff-only keeps the findings on lines a change touched"),
        (["--since", "main", "--plan", "p.toml"], "--plan and --since do not go together"),
    ],
)
def test_bad_change_review_input_is_one_line_and_exit_2(
    repo: Path, fake_env, args: list[str], said: str
) -> None:
    (repo / "p.toml").write_text('version = 1\n[[chunks]]\nname = "a"\nfiles = ["src/staged.py"]\n')
    (repo / "src" / "staged.py").write_text("def s():\n    return 10\n")
    args = [a if a != "p.toml" else str(repo / "p.toml") for a in args]
    done = run_cli("run", str(repo), *args, env=fake_env.env)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not (repo / ".claude-tui" / "since").exists()


def test_a_folder_that_is_no_git_checkout_is_refused(tmp_path: Path, fake_env) -> None:
    repo = make_review_repo(tmp_path / "plain", git=False)
    done = run_cli("run", str(repo), "--since", "main", env=fake_env.env)
    assert done.returncode == 2
    assert "--since needs a git checkout" in done.stderr
    assert not (repo / ".claude-tui").exists()


def test_checkpoints_of_the_two_kinds_are_not_mixed(repo: Path, fake_env) -> None:
    (repo / "src" / "staged.py").write_text("def s():\n    return 10\n")
    assert run_cli("run", str(repo), "--since", "main", env=fake_env.env).returncode == 0
    since = repo / ".claude-tui" / "since" / "checkpoint.toml"
    before = since.read_bytes()
    full = run_cli("run", str(repo), "--checkpoint", str(since), env=fake_env.env)
    assert full.returncode == 2
    assert "is the checkpoint of a change review (--since main)" in full.stderr
    assert since.read_bytes() == before
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    other = run_cli(
        "run", str(repo), "--since", "main", "--checkpoint",
        str(repo / ".claude-tui" / "checkpoint.toml"), env=fake_env.env,
    )  # fmt: skip
    assert other.returncode == 2
    assert "is the checkpoint of a full review" in other.stderr


def test_plan_since_shows_and_writes_the_change_reviews_plan(repo: Path, fake_env) -> None:
    (repo / "src" / "staged.py").write_text("def s():\n    return 10\n")
    (repo / "docs" / "guide.md").write_text("# Guide\n\nMore.\n")
    shown = run_cli("plan", str(repo), "--since", "main", "--format", "toml", env=fake_env.env)
    assert shown.returncode == 0, shown.stderr
    planned = tomllib.loads(shown.stdout)
    assert [f for c in planned["chunks"] for f in c["files"]] == ["src/staged.py"]
    written = run_cli("plan", str(repo), "--since", "main", "--write", env=fake_env.env)
    assert written.returncode == 0, written.stderr
    assert (repo / ".claude-tui" / "since" / "plan.toml").is_file()
    assert not (repo / ".claude-tui" / "plan.toml").exists()
    # The change review follows its saved plan; a file whose change was undone leaves it.
    git(repo, "checkout", "src/staged.py")
    (repo / "src" / "unstaged.py").write_text("def u():\n    return 20\n")
    done = run_cli("run", str(repo), "--since", "main", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    assert named_files(fake_env) == {"src/unstaged.py"}


def test_a_report_that_would_overwrite_its_own_baseline_is_refused(repo: Path, fake_env) -> None:
    """`--since main --baseline .claude-tui/report.json` would write the change review's
    report over the baseline it compares with: the next run would find every finding
    unchanged and the gate would pass."""
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    baseline = repo / ".claude-tui" / "report.json"
    before = baseline.read_bytes()
    (repo / "src" / "staged.py").write_text("def s():\n    return 10\n")
    done = run_cli(
        "run", str(repo), "--since", "main", "--baseline", str(baseline), env=fake_env.env
    )
    assert done.returncode == 2
    assert "the --baseline it is compared with" in done.stderr
    assert baseline.read_bytes() == before
    assert not (repo / ".claude-tui" / "since").exists()
