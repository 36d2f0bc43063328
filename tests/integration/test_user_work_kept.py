"""What the user made is never lost: checkpoints, plan files and the work a run did survive
wrong flags, other settings and a hand-edited plan (docs/plan-and-checkpoint.md).

Every bad input is one line, exit 2, and every file as it was; `claude-tui run` against
the fake `claude`, as a user runs it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conftest import load_checkpoint, load_report, run_cli, write_config
from tests.support.review_repo import make_review_repo

REPO_FILES = {
    "api/a.py": "x = 1  # BUG(high): api problem\n",
    "api/b.py": "y = 2\n",
    "web/c.py": "z = 3  # BUG(medium): web problem\n",
    "web/d.py": "w = 4\n",
    "docs/e.py": "v = 5\n",
}


def files_of(root: Path) -> dict[str, bytes]:
    """Every file claude-tui keeps for the repository, and its bytes."""
    state = root / ".claude-tui"
    return {
        p.relative_to(state).as_posix(): p.read_bytes()
        for p in sorted(state.rglob("*"))
        if p.is_file() and "logs" not in p.parts and p.name != "lock"
    }


def one_line_exit_2(done, *needles: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def finished_repo(tmp_path: Path, fake_env, name: str = "repo") -> Path:
    repo = make_review_repo(tmp_path / name, REPO_FILES)
    done = run_cli("run", str(repo), "--max-files-per-chunk", "2", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    return repo


def test_fresh_with_another_repositorys_checkpoint_is_refused_before_touching_it(
    tmp_path: Path, fake_env
) -> None:
    a = finished_repo(tmp_path, fake_env, "a")
    b = make_review_repo(tmp_path / "b", REPO_FILES)
    before = files_of(a)
    done = run_cli(
        "run", str(b), "--fresh", "--checkpoint", str(a / ".claude-tui" / "checkpoint.toml"),
        env=fake_env.env,
    )  # fmt: skip
    one_line_exit_2(done, "checkpoint of", str(a))
    assert files_of(a) == before  # not moved aside, not rewritten
    assert not (b / ".claude-tui").exists()


def test_a_fresh_run_that_fails_on_its_plan_moves_nothing(tmp_path: Path, fake_env) -> None:
    repo = finished_repo(tmp_path, fake_env)
    before = files_of(repo)
    bad_plan = tmp_path / "bad.toml"
    bad_plan.write_text("[[chunks]\nname = ")
    done = run_cli("run", str(repo), "--fresh", "--plan", str(bad_plan), env=fake_env.env)
    one_line_exit_2(done, "bad.toml")
    assert files_of(repo) == before  # no .bak: the checkpoint never moved


def test_settings_that_match_no_file_leave_a_finished_run_alone(tmp_path: Path, fake_env) -> None:
    repo = finished_repo(tmp_path, fake_env)
    before = files_of(repo)
    report = load_report(repo)
    for name, settings in (("types", {"file_types": []}), ("bytes", {"max_file_bytes": 1})):
        config = write_config(tmp_path / f"{name}.toml", **settings)
        done = run_cli("run", str(repo), "--config", str(config), env=fake_env.env)
        one_line_exit_2(done, "nothing to analyze")
        assert files_of(repo) == before
    # And the next run with the old settings works, the findings all there.
    again = run_cli("run", str(repo), env=fake_env.env)
    assert again.returncode == 0, again.stderr
    assert load_report(repo)["issues"] == report["issues"]


def test_settings_that_would_drop_files_with_findings_are_refused(tmp_path: Path, fake_env) -> None:
    repo = finished_repo(tmp_path, fake_env)
    before = files_of(repo)
    # The web/ files hold a finding; skipping them by size would drop it.
    (repo / "web" / "c.py").write_text("z = 3  # BUG(medium): web problem\n" + "#" * 4000)
    cp = load_checkpoint(repo)
    web = next(c["name"] for c in cp["chunks"] if "web/c.py" in c["files"])
    config = write_config(tmp_path / "small.toml", max_file_bytes=1000)
    done = run_cli("run", str(repo), "--config", str(config), env=fake_env.env)
    line = one_line_exit_2(done, "holding findings", web, "--fresh")
    assert "left as it is" in line
    assert files_of(repo) == before
    # --fresh is the user's say: it starts over.
    fresh = run_cli("run", str(repo), "--config", str(config), "--fresh", env=fake_env.env)
    assert fresh.returncode == 0, fresh.stderr


def test_files_deleted_from_the_repository_take_their_findings_along(
    tmp_path: Path, fake_env
) -> None:
    repo = finished_repo(tmp_path, fake_env)
    (repo / "web" / "c.py").unlink()
    done = run_cli("run", str(repo), env=fake_env.env)
    assert done.returncode == 0, done.stderr
    assert {i["file"] for i in load_report(repo)["issues"]} == {"api/a.py"}


def test_a_plan_written_over_a_run_is_backed_up_and_not_run_without_apply_plan(
    tmp_path: Path, fake_env
) -> None:
    repo = finished_repo(tmp_path, fake_env)
    plan_path = repo / ".claude-tui" / "plan.toml"
    plan_path.write_text(
        run_cli("plan", str(repo), "--max-files-per-chunk", "2", "--format", "toml").stdout
    )
    hand_tuned = plan_path.read_bytes()
    wrote = run_cli("plan", str(repo), "--write", "--strategy", "equal")
    assert wrote.returncode == 0, wrote.stderr
    assert "plan.toml.bak" in wrote.stderr and "--apply-plan" in wrote.stderr
    assert (repo / ".claude-tui" / "plan.toml.bak").read_bytes() == hand_tuned
    before = files_of(repo)
    calls = len(fake_env.invocations())
    done = run_cli("run", str(repo), env=fake_env.env)
    one_line_exit_2(done, "plan.toml differs from the run's checkpoint", "--apply-plan", "added")
    assert files_of(repo) == before
    assert len(fake_env.invocations()) == calls  # nothing was spent


def test_a_chunk_renamed_by_hand_keeps_its_findings_and_session_with_apply_plan(
    tmp_path: Path, fake_env
) -> None:
    repo = finished_repo(tmp_path, fake_env)
    cp = load_checkpoint(repo)
    old = next(c for c in cp["chunks"] if "api/a.py" in c["files"])
    plan_path = repo / ".claude-tui" / "plan.toml"
    text = run_cli("plan", str(repo), "--max-files-per-chunk", "2", "--format", "toml").stdout
    assert f'name = "{old["name"]}"' in text
    plan_path.write_text(text.replace(f'name = "{old["name"]}"', 'name = "the-api"'))
    hand_edit = plan_path.read_bytes()
    refused = run_cli("run", str(repo), env=fake_env.env)
    one_line_exit_2(refused, f"renamed ({old['name']} → the-api)")
    calls = len(fake_env.invocations())
    done = run_cli("run", str(repo), "--apply-plan", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    assert "applied" in done.stderr
    assert len(fake_env.invocations()) == calls  # a rename reviews nothing again
    renamed = next(c for c in load_checkpoint(repo)["chunks"] if c["name"] == "the-api")
    assert renamed["session_id"] == old["session_id"]
    assert renamed["status"] == "done"
    assert [i["title"] for i in renamed["issues"]] == [i["title"] for i in old["issues"]]
    report = load_report(repo)
    assert {i["chunk"] for i in report["issues"] if i["file"] == "api/a.py"} == {"the-api"}
    assert plan_path.read_bytes() == hand_edit  # the user's file, as they wrote it
    # Plan and run agree now: the next run says nothing about the plan.
    quiet = run_cli("run", str(repo), env=fake_env.env)
    assert quiet.returncode == 0 and "differs" not in quiet.stderr


def test_moving_a_file_reviews_only_what_changed(tmp_path: Path, fake_env) -> None:
    repo = finished_repo(tmp_path, fake_env)
    cp = load_checkpoint(repo)
    plan_path = repo / ".claude-tui" / "plan.toml"
    text = run_cli("plan", str(repo), "--max-files-per-chunk", "2", "--format", "toml").stdout
    plan = tomllib.loads(text)
    web = next(c for c in plan["chunks"] if "web/c.py" in c["files"])
    api = next(c for c in plan["chunks"] if "api/a.py" in c["files"])
    # docs/e.py moves into the web chunk.
    docs = next(c for c in plan["chunks"] if "docs/e.py" in c["files"])
    text = text.replace(f'files = {_toml_list(docs["files"])}', "files = []")
    text = text.replace(
        f'files = {_toml_list(web["files"])}', f"files = {_toml_list([*web['files'], 'docs/e.py'])}"
    )
    plan_path.write_text(text)
    calls = len(fake_env.invocations())
    done = run_cli("run", str(repo), "--apply-plan", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    new_calls = fake_env.invocations()[calls:]
    assert [sorted(c["files"]) for c in new_calls] == [["docs/e.py"]]
    after = {c["name"]: c for c in load_checkpoint(repo)["chunks"]}
    kept_api = next(c for c in cp["chunks"] if c["name"] == api["name"])
    assert after[api["name"]]["session_id"] == kept_api["session_id"]
    assert docs["name"] not in after
    assert {i["file"] for i in load_report(repo)["issues"]} == {"api/a.py", "web/c.py"}


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def test_files_the_user_left_unassigned_stay_out_and_the_run_says_so(
    tmp_path: Path, fake_env
) -> None:
    repo = make_review_repo(tmp_path / "repo", REPO_FILES)
    text = run_cli("plan", str(repo), "--max-files-per-chunk", "2", "--format", "toml").stdout
    plan = tomllib.loads(text)
    docs = next(c for c in plan["chunks"] if "docs/e.py" in c["files"])
    # The user deletes the docs chunk (as `d` in the app does): its file is unassigned.
    kept = [c for c in plan["chunks"] if c["name"] != docs["name"]]
    lines = ["version = 1", 'unassigned = ["docs/e.py"]']
    for c in kept:
        lines += ["[[chunks]]", f'name = "{c["name"]}"', f"files = {_toml_list(c['files'])}"]
    plan_path = repo / ".claude-tui" / "plan.toml"
    plan_path.parent.mkdir()
    plan_path.write_text("\n".join(lines) + "\n")
    first = run_cli("run", str(repo), env=fake_env.env)
    assert first.returncode == 0, first.stderr
    assert "1 file is in no chunk and not reviewed" in first.stderr
    assert "claude-tui plan" in first.stderr
    (repo / "api" / "new.py").write_text("n = 1\n")
    second = run_cli("run", str(repo), env=fake_env.env)
    assert second.returncode == 0, second.stderr
    assert "1 new file joined the chunks of their folders" in second.stderr
    assert "1 file is in no chunk" in second.stderr
    chunks = load_checkpoint(repo)["chunks"]
    reviewed = {f for c in chunks for f in c["files"]}
    assert "docs/e.py" not in reviewed and "api/new.py" in reviewed
    assert load_checkpoint(repo)["unassigned"] == ["docs/e.py"]
    reviewed_files = {f for call in fake_env.invocations() for f in call["files"]}
    assert "docs/e.py" not in reviewed_files
    listed = run_cli("plan", str(repo), "--skipped", env=fake_env.env)
    assert "unassigned docs/e.py: in no chunk, not reviewed" in listed.stdout


def test_an_empty_repository_path_is_refused(tmp_path: Path, fake_env) -> None:
    for command in (("run", ""), ("plan", ""), ("",)):
        done = run_cli(*command, env=fake_env.env, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "repository path is empty" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / ".claude-tui").exists()


def test_a_missing_repository_is_named_before_a_missing_claude(tmp_path: Path, fake_env) -> None:
    env = dict(fake_env.env, CLAUDE_TUI_CLAUDE_BIN=str(tmp_path / "no-claude"))
    for command in (("run",), ()):
        done = run_cli(*command, str(tmp_path / "nonexistent"), env=env)
        one_line_exit_2(done, "repository not found")
