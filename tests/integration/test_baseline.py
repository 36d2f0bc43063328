"""--baseline and report --compare against the fake `claude`: what is new since a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import load_report, run_cli
from tests.support.review_repo import make_review_repo

FILES = {
    "src/moves.py": "def a():\n    run(x)  # BUG(high): input reaches run\n    return 1\n",
    "src/kept.py": "def b():\n    return eval(y)  # BUG(critical): eval of input\n",
    "src/fixed.py": "def c():\n    open(p)  # BUG(medium): file never closed\n    return 2\n",
}


def _states(report: dict) -> dict[str, str]:
    return {i["title"]: i["baseline_state"] for i in report["issues"]}


@pytest.fixture
def reviewed(tmp_path: Path, fake_env) -> tuple[Path, Path]:
    """A repository reviewed once, its report kept as the baseline."""
    repo = make_review_repo(tmp_path / "repo", FILES)
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    baseline = tmp_path / "baseline.json"
    baseline.write_text((repo / ".claude-tui" / "report.json").read_text())
    return repo, baseline


def test_a_baseline_marks_new_unchanged_updated_and_absent_after_lines_move(
    reviewed: tuple[Path, Path], fake_env, tmp_path: Path
) -> None:
    repo, baseline = reviewed
    # The earlier report worded one finding otherwise: the same code, a new title.
    data = json.loads(baseline.read_text())
    for issue in data["issues"]:
        if issue["title"] == "eval of input":
            issue["title"] = "eval() of user input"
    baseline.write_text(json.dumps(data))
    # Lines move above one finding, another problem is fixed, a new one appears.
    (repo / "src" / "moves.py").write_text("import os\n\n\n" + FILES["src/moves.py"])
    (repo / "src" / "fixed.py").write_text("def c():\n    with open(p):\n        return 2\n")
    (repo / "src" / "new.py").write_text("def d():\n    pass  # BUG(high): new problem\n")
    sarif = tmp_path / "out.sarif"
    done = run_cli(
        "run", str(repo), "--baseline", str(baseline), "--report", str(sarif), env=fake_env.env
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    states = {r["message"]["text"].split(".")[0]: r["baselineState"] for r in results}
    assert states == {
        "input reaches run": "unchanged",  # at line 5 now, the same fingerprint
        "eval of input": "updated",
        "new problem": "new",
    }
    report = run_cli("report", str(repo), "--baseline", str(baseline), env=fake_env.env)
    data = json.loads(report.stdout)
    assert _states(data) == states
    (gone,) = data["absent"]
    assert gone["title"] == "file never closed" and gone["baseline_state"] == "absent"
    assert data["totals"]["issues"] == 3  # absent findings are outside the totals


def test_fail_on_with_a_baseline_counts_only_new_and_updated_findings(
    reviewed: tuple[Path, Path], fake_env
) -> None:
    repo, baseline = reviewed
    args = ["run", str(repo), "--baseline", str(baseline), "--fail-on", "high"]
    # Nothing new: the critical and high findings were there before.
    assert run_cli(*args, env=fake_env.env).returncode == 0
    assert run_cli("run", str(repo), "--fail-on", "high", env=fake_env.env).returncode == 3
    (repo / "src" / "new.py").write_text("def d():\n    pass  # BUG(high): new problem\n")
    done = run_cli(*args, env=fake_env.env)
    assert done.returncode == 3, done.stderr


def test_report_compare_prints_each_state(reviewed: tuple[Path, Path], fake_env) -> None:
    repo, old = reviewed
    (repo / "src" / "fixed.py").write_text("def c():\n    return 2\n")
    (repo / "src" / "new.py").write_text("def d():\n    pass  # BUG(low): new problem\n")
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    new = repo / ".claude-tui" / "report.json"
    done = run_cli("report", "--compare", str(old), str(new), env=fake_env.env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[lines.index("new: 1") + 1].split() == ["low", "src/new.py:2", "new", "problem"]
    assert "unchanged: 2" in lines and "updated: 0" in lines
    assert lines[lines.index("absent: 1") + 1].split()[1] == "src/fixed.py:2"
    assert load_report(repo)["issues"]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{not json", "not JSON"),
        ('{"version": 1, "issues": [{"file": "a.py", "line": 1}]}', "no fingerprints"),
        ('{"version": 1, "repo_id": "0123456789abcdef", "issues": []}', "another repository"),
        ('{"something": "else"}', "not a claude-tui JSON report"),
    ],
)
def test_a_bad_baseline_is_one_line_and_exit_2_before_any_work(
    tmp_path: Path, fake_env, content: str, said: str
) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    done = run_cli("run", str(repo), "--baseline", str(bad), env=fake_env.env)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and said in done.stderr
    assert not fake_env.invocations()  # nothing ran
    assert not (repo / ".claude-tui" / "checkpoint.toml").exists()
    missing = run_cli("run", str(repo), "--baseline", str(tmp_path / "none.json"), env=fake_env.env)
    assert missing.returncode == 2 and "no such file" in missing.stderr
