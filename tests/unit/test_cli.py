"""`claude-tui plan` and `claude-tui report` as a user runs them: bad input gives one line
on stderr and exit 2 with nothing overwritten; good input writes what it says."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    CheckpointStore,
    ChunkState,
    ChunkStatus,
    checkpoint_to_toml,
)
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.statedir import GITIGNORE

from ._helpers import SMALL_REPO, CliResult, write_tree

Cli = Callable[..., CliResult]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` and its bytes (the CLI's own user-config folder aside)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "cli-user-config" not in p.parts
    }


def assert_one_line_error(result: CliResult, *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr_lines) == 1, result.stderr
    line = result.stderr_lines[0]
    assert line.startswith("claude-tui")
    for needle in needles:
        assert needle in line, line
    assert result.stdout == ""


def checkpoint_file(path: Path) -> Path:
    chunk = ChunkState(
        name="src-auth",
        files=["src/auth/login.py"],
        status=ChunkStatus.DONE,
        session_id="abc",
        attempts=1,
        cost_usd=0.01,
        issues=[
            Finding(
                "src/auth/login.py", 2, Severity.HIGH, "Weak login", "Compares names", "src-auth"
            )
        ],
    )
    CheckpointStore(path).save(Checkpoint(repo="/home/dev/repo", chunks=[chunk]))
    return path


# --- bad input ----------------------------------------------------------------------------


def test_missing_repository(cli: Cli, tmp_path: Path) -> None:
    result = cli("plan", tmp_path / "nowhere")
    assert_one_line_error(result, "repository not found", "nowhere")


def test_a_file_instead_of_a_folder(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("x = 1\n")
    assert_one_line_error(cli("plan", tmp_path / "main.py"), "not a folder")


def test_a_repository_with_nothing_to_analyze(cli: Cli, tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "docs", {"README.md": "# docs\n", "guide/intro.md": "hi\n"})
    before = snapshot(tmp_path)
    assert_one_line_error(cli("plan", repo, "--write"), "nothing to analyze")
    assert snapshot(tmp_path) == before
    # `run` takes the repository's lock first: the state folder it made goes again.
    assert_one_line_error(cli("run", repo, "--demo"), "nothing to analyze")
    assert snapshot(tmp_path) == before and not (repo / ".claude-tui").exists()


@pytest.mark.parametrize(
    ("value", "needle"), [("0", "must be at least 1, got 0"), ("x", "must be a whole number")]
)
def test_bad_worker_counts(cli: Cli, small_repo: Path, value: str, needle: str) -> None:
    result = cli("plan", small_repo, "--workers", value, "--write")
    assert_one_line_error(result, "--workers", needle)
    assert not (small_repo / ".claude-tui").exists()


def test_bad_max_files_per_chunk(cli: Cli, small_repo: Path) -> None:
    assert_one_line_error(cli("plan", small_repo, "--max-files-per-chunk", "-3"), "at least 1")


def test_an_unknown_strategy(cli: Cli, small_repo: Path) -> None:
    assert_one_line_error(cli("plan", small_repo, "--strategy", "smart"), "invalid choice")


def test_a_missing_config_file(cli: Cli, small_repo: Path, tmp_path: Path) -> None:
    result = cli("plan", small_repo, "--config", tmp_path / "missing.toml", "--write")
    assert_one_line_error(result, "config file not found", "missing.toml")
    assert not (small_repo / ".claude-tui").exists()


def test_a_config_that_is_not_toml(cli: Cli, small_repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("workers = = 3\n[oops\n")
    before = snapshot(tmp_path)
    result = cli("plan", small_repo, "--config", config, "--write")
    assert_one_line_error(result, "not valid TOML", "broken.toml")
    assert snapshot(tmp_path) == before


def test_a_config_with_a_wrong_type(cli: Cli, small_repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "typed.toml"
    config.write_text('workers = "four"\n')
    result = cli("plan", small_repo, "--config", config)
    assert_one_line_error(result, "'workers' must be a whole number", "typed.toml")


def test_a_broken_user_config_is_reported(cli: Cli, small_repo: Path, tmp_path: Path) -> None:
    (tmp_path / "cli-user-config" / "config.toml").write_text("strategy = 'fast'\n")
    assert_one_line_error(cli("plan", small_repo), "'strategy' must be one of")


def test_an_unknown_plan_format(cli: Cli, small_repo: Path) -> None:
    assert_one_line_error(cli("plan", small_repo, "--format", "yaml"), "invalid choice")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--format", "xml"), "unknown report format 'xml'"),
        (("--out", "report.txt"), "cannot tell the report format"),
        (("--format", "pdf", "--out", "report.pdf"), "unknown report format 'pdf'"),
    ],
)
def test_an_unknown_report_format(
    cli: Cli, tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    before = snapshot(tmp_path)
    assert_one_line_error(cli("report", cp, *args), needle)
    assert snapshot(tmp_path) == before


def test_a_missing_checkpoint_for_report(cli: Cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("report", tmp_path / "none.toml"), "checkpoint not found")


def test_report_on_a_repository_folder_uses_its_checkpoint(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    checkpoint_file(repo / ".claude-tui" / "checkpoint.toml")
    done = cli("report", repo, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [i["title"] for i in json.loads(done.stdout)["issues"]] == ["Weak login"]


def test_report_on_a_repository_that_never_ran_says_how_to_run_it(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    assert_one_line_error(cli("report", tmp_path / "repo"), "no checkpoint in", "claude-tui run")


@pytest.mark.parametrize(
    "content",
    [
        b"version = 1\n[[chunks]\n",
        b"\x00\x01binary",
        b'version = 1\nrepo = "r"\nchunks = 5\n',
        b'version = 1\nrepo = "r"\n[[chunks]]\nname = "a"\nfiles = ["a.py"]\nstatus = "done"\n'
        b'[[chunks.issues]]\nfile = "a.py"\nline = 1\nseverity = "urgent"\ntitle = "t"\n',
    ],
    ids=["not-toml", "binary", "malformed", "unknown-severity"],
)
def test_a_corrupt_checkpoint_for_report(cli: Cli, tmp_path: Path, content: bytes) -> None:
    cp = tmp_path / ".claude-tui" / "checkpoint.toml"
    cp.parent.mkdir()
    cp.write_bytes(content)
    out = tmp_path / "report.sarif"
    out.write_text("previous report\n")
    before = snapshot(tmp_path)
    result = cli("report", cp, "--out", out)
    assert_one_line_error(result, "checkpoint")
    assert snapshot(tmp_path) == before


def test_report_into_a_missing_folder(cli: Cli, tmp_path: Path) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    result = cli("report", cp, "--out", tmp_path / "no" / "such" / "r.json")
    assert_one_line_error(result, "does not exist")


@pytest.mark.parametrize("extra", [(), ("--write",), ("--write", "--strategy", "balanced")])
def test_a_corrupt_plan_in_the_repository(
    cli: Cli, small_repo: Path, extra: tuple[str, ...]
) -> None:
    plan = small_repo / ".claude-tui" / "plan.toml"
    plan.parent.mkdir()
    plan.write_bytes(b'version = 1\n[[chunks]]\nname = "a"\nfiles = ["src/x.py"\n')
    before = snapshot(small_repo)
    result = cli("plan", small_repo, *extra)
    assert_one_line_error(result, "plan.toml")
    assert snapshot(small_repo) == before


def test_a_plan_with_an_invalid_chunk_name(cli: Cli, small_repo: Path) -> None:
    plan = small_repo / ".claude-tui" / "plan.toml"
    plan.parent.mkdir()
    plan.write_text('[[chunks]]\nname = "no spaces please"\nfiles = ["web/app.ts"]\n')
    assert_one_line_error(cli("plan", small_repo), "no valid 'name'")


def test_no_arguments_is_a_usage_error(cli: Cli) -> None:
    result = cli("plan")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr_lines) == 1 and "required: repo" in result.stderr


# --- what the commands write ---------------------------------------------------------------


def test_plan_write_saves_the_plan_and_the_state_gitignore(cli: Cli, small_repo: Path) -> None:
    result = cli("plan", small_repo, "--write")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    state = small_repo / ".claude-tui"
    assert (state / ".gitignore").read_text() == GITIGNORE
    data = tomllib.loads((state / "plan.toml").read_text())
    planned = sorted(p for c in data["chunks"] for p in c["files"])
    expected = sorted(p for p in SMALL_REPO if not p.endswith(".md"))
    assert planned == expected
    assert data["strategy"] == "directory" and data["max_files_per_chunk"] == 10
    assert "wrote" in result.stderr and "plan.toml" in result.stderr
    # The next `plan` reads the saved plan back.
    again = cli("plan", small_repo, "--format", "toml")
    assert tomllib.loads(again.stdout)["chunks"] == data["chunks"]


def test_plan_toml_output_parses_and_honours_flags_over_the_config(
    cli: Cli, small_repo: Path, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('strategy = "equal"\nmax_files_per_chunk = 1\n')
    result = cli(
        "plan", small_repo, "--format", "toml", "--config", config, "--max-files-per-chunk", "2"
    )
    assert result.returncode == 0, result.stderr
    data = tomllib.loads(result.stdout)
    assert data["strategy"] == "equal"
    assert data["max_files_per_chunk"] == 2
    assert [len(c["files"]) for c in data["chunks"]] == [2, 2, 1]
    assert not (small_repo / ".claude-tui").exists()


def test_plan_table_lists_chunks_and_the_predicted_wall_time(cli: Cli, small_repo: Path) -> None:
    result = cli(
        "plan", small_repo, "--strategy", "equal", "--max-files-per-chunk", "2", "--skipped"
    )
    assert result.returncode == 0, result.stderr
    for name in ("src-api", "src", "web"):
        assert name in result.stdout
    assert "Predicted wall time with 4 workers" in result.stdout
    assert "skipped README.md: not a source file type (.md)" in result.stdout


def test_report_writes_sarif_to_the_out_file(cli: Cli, tmp_path: Path) -> None:
    cp = checkpoint_file(tmp_path / ".claude-tui" / "checkpoint.toml")
    result = cli("report", cp, "--format", "sarif", "--out", "x.sarif")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    sarif = json.loads((tmp_path / "x.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert (
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"][
            "uri"
        ]
        == "src/auth/login.py"
    )


def test_report_format_follows_the_out_extension(cli: Cli, tmp_path: Path) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    assert cli("report", cp, "--out", "r.md").returncode == 0
    assert (tmp_path / "r.md").read_text().startswith("# claude-tui report")


def test_report_without_out_prints_json_on_stdout(cli: Cli, tmp_path: Path) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    result = cli("report", cp)
    assert result.returncode == 0 and result.stderr == ""
    data = json.loads(result.stdout)
    assert data["issues"][0]["title"] == "Weak login"


def test_report_of_a_hand_written_checkpoint(cli: Cli, tmp_path: Path) -> None:
    cp = Checkpoint(repo=".", chunks=[ChunkState(name="a", files=["a.py"])])
    path = tmp_path / "cp.toml"
    path.write_text(checkpoint_to_toml(cp))
    result = cli("report", path, "--format", "sarif")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["runs"][0]["results"] == []


def test_the_console_script_runs(small_repo: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "claude-tui"
    if not script.exists():
        pytest.skip("the package is not installed with its console script in this environment")
    env = {"PATH": str(script.parent), "CLAUDE_TUI_CONFIG_DIR": str(tmp_path), "NO_COLOR": "1"}
    proc = subprocess.run(
        [str(script), "plan", str(small_repo), "--format", "toml"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert tomllib.loads(proc.stdout)["version"] == 1
    bad = subprocess.run(
        [str(script), "plan", str(small_repo), "--workers", "0"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_state_folder_that_is_a_file(cli: Cli, small_repo: Path) -> None:
    (small_repo / ".claude-tui").write_text("not a folder\n")
    before = snapshot(small_repo)
    for args in (("plan", small_repo, "--write"), ("run", small_repo, "--demo")):
        assert_one_line_error(cli(*args), ".claude-tui is a file, not a folder")
    assert snapshot(small_repo) == before


def test_a_plan_file_that_is_a_folder(cli: Cli, small_repo: Path) -> None:
    (small_repo / ".claude-tui" / "plan.toml").mkdir(parents=True)
    for args in (
        ("plan", small_repo),
        ("plan", small_repo, "--write"),
        ("run", small_repo, "--demo"),
    ):
        assert_one_line_error(cli(*args), "plan.toml is not a file")
    assert (small_repo / ".claude-tui" / "plan.toml").is_dir()


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_budget_that_is_not_a_finite_number(
    cli: Cli, small_repo: Path, tmp_path: Path, value: str
) -> None:
    assert_one_line_error(cli("run", small_repo, "--demo", "--max-budget-usd", value), "finite")
    config = tmp_path / "budget.toml"
    config.write_text(f"max_budget_usd = {value}\n")
    assert_one_line_error(cli("plan", small_repo, "--config", config), "finite")


def test_a_report_never_overwrites_its_checkpoint(cli: Cli, tmp_path: Path) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    before = snapshot(tmp_path)
    assert_one_line_error(cli("report", cp, "--format", "json", "--out", cp), "would overwrite")
    assert snapshot(tmp_path) == before


def test_a_run_report_never_overwrites_the_plan_or_checkpoint(cli: Cli, small_repo: Path) -> None:
    state = small_repo / ".claude-tui"
    for target in (state / "checkpoint.toml", state / "plan.toml"):
        result = cli("run", small_repo, "--demo", "--format", "json", "--report", target)
        assert_one_line_error(result, "would overwrite")
    assert not (state / "checkpoint.toml").exists()


def test_demo_on_a_cluster_is_refused_not_silently_run_here(cli: Cli, small_repo: Path) -> None:
    result = cli("run", small_repo, "--demo", "--executor", "dask://127.0.0.1:9")
    assert_one_line_error(result, "--demo simulates the agents here")
    assert not (small_repo / ".claude-tui" / "checkpoint.toml").exists()


@pytest.mark.parametrize("where", ["a-folder.json", "README.md/report.json"])
def test_a_run_report_that_cannot_be_written_is_refused_before_any_work(
    cli: Cli, small_repo: Path, where: str
) -> None:
    (small_repo / "a-folder.json").mkdir()
    (small_repo / "README.md").write_text("not a folder\n")
    result = cli("run", small_repo, "--demo", "--report", small_repo / where)
    assert_one_line_error(result)
    assert not (small_repo / ".claude-tui" / "checkpoint.toml").exists()


def test_report_out_that_is_a_folder(cli: Cli, tmp_path: Path) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    (tmp_path / "out.md").mkdir()
    assert_one_line_error(cli("report", cp, "--out", tmp_path / "out.md"), "is a folder")


def test_a_checkpoint_of_another_repository_is_refused_and_left_alone(
    cli: Cli, small_repo: Path, tmp_path: Path
) -> None:
    other = write_tree(tmp_path / "other", SMALL_REPO)
    assert cli("run", other, "--demo").returncode == 0
    theirs = other / ".claude-tui" / "checkpoint.toml"
    before = theirs.read_bytes()
    result = cli("run", small_repo, "--demo", "--checkpoint", theirs)
    assert_one_line_error(result, "is the checkpoint of", str(other))
    assert theirs.read_bytes() == before


def test_an_error_naming_a_hostile_path_shows_it_as_text(cli: Cli, tmp_path: Path) -> None:
    """A folder name holding a terminal escape reaches the terminal made visible."""
    result = cli("run", str(tmp_path / "gone\x1b[2Jrepo"))
    assert_one_line_error(result, "gone\u241b[2Jrepo")
    assert "\x1b" not in result.stderr
