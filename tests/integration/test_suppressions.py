"""Suppressions (.claude-tui/suppressions.toml): marked in reports, out of --fail-on,
dismissed in SARIF; a file that cannot be read is one line and exit 2, left as it is."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import load_report, run_cli
from tests.support.review_repo import make_review_repo
from tui_orchestrator.engine.statedir import GITIGNORE, OLD_GITIGNORE, ensure_state_dir
from tui_orchestrator.engine.suppressions import add_suppression, load_suppressions

FILES = {
    "src/kept.py": "def b():\n    return eval(y)  # BUG(critical): eval of input\n",
    "src/test_fixture.py": "KEY = 'x'  # BUG(high): hard-coded key\n",
}


def test_a_suppressed_finding_is_marked_dismissed_and_not_counted(tmp_path: Path, fake_env) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    key = next(i for i in load_report(repo)["issues"] if i["title"] == "hard-coded key")
    add_suppression(repo, key["fingerprint"], "a test fixture, never deployed", "alice")
    # Only the suppressed one is high or worse... but the critical is not suppressed.
    assert run_cli("run", str(repo), "--fail-on", "high", env=fake_env.env).returncode == 3
    crit = next(i for i in load_report(repo)["issues"] if i["title"] == "eval of input")
    add_suppression(repo, crit["fingerprint"], "sandboxed input", "bob")
    sarif = tmp_path / "out.sarif"
    done = run_cli("run", str(repo), "--fail-on", "high", "--report", str(sarif), env=fake_env.env)
    assert done.returncode == 0, done.stderr  # every finding at high or above is suppressed
    data = json.loads(run_cli("report", str(repo), env=fake_env.env).stdout)
    marked = {i["title"]: i.get("suppression") for i in data["issues"]}
    assert marked["hard-coded key"] == {"reason": "a test fixture, never deployed", "by": "alice"}
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    for result in results:
        (entry,) = result["suppressions"]
        assert entry["kind"] == "external" and entry["justification"]
    # The file keeps both, in the order they were added, with who and when.
    kept = load_suppressions(repo)
    assert [s.by for s in kept.values()] == ["alice", "bob"]
    assert all(s.date for s in kept.values())


def test_a_broken_suppressions_file_is_one_line_and_exit_2_and_left_as_it_is(
    tmp_path: Path, fake_env
) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    path = ensure_state_dir(repo / ".claude-tui") / "suppressions.toml"
    for text, said in [
        ("[[suppressions]\nfingerprint = 1", "not TOML"),
        ('[[suppressions]]\nfingerprint = "abc"\n', "needs a fingerprint, a reason"),
        ('suppressions = "all of them"\n', "array of tables"),
    ]:
        path.write_text(text)
        done = run_cli("run", str(repo), env=fake_env.env)
        assert done.returncode == 2 and said in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert path.read_text() == text
    assert not fake_env.invocations()


def test_the_state_folder_lets_the_suppressions_file_be_committed(tmp_path: Path) -> None:
    old = tmp_path / "old" / ".claude-tui"
    old.mkdir(parents=True)
    (old / ".gitignore").write_text(OLD_GITIGNORE)  # as an older claude-tui wrote it
    ensure_state_dir(old)
    assert (old / ".gitignore").read_text() == GITIGNORE
    mine = tmp_path / "mine" / ".claude-tui"
    mine.mkdir(parents=True)
    (mine / ".gitignore").write_text("*\n")  # the user's own: never rewritten
    ensure_state_dir(mine)
    assert (mine / ".gitignore").read_text() == "*\n"
