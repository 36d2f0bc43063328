"""Parallel speed-up: claude-tui against the hand-made `xargs -P N` fan-out of `claude -p`.

The same repository, the same chunks and the same model latency for all three runs: the
real Claude Code CLI talks to the loopback scripted Messages API (tests/support), which takes
``--latency`` seconds a turn plus ``--per-file`` seconds for each file it was shown (bigger
chunks take longer, as with a real model). Runs, in one go:

1. ``xargs -P N`` over one ``claude -p`` call per chunk, in the plan's order;
2. ``claude-tui run --workers N``, a first run against this API: its first round of starts
   goes one by one (docs/engine.md §3);
3. the same again: the first run met no limit and kept how many workers it started, so
   this one starts them at once;
4. ``claude-tui run --workers 1`` (the sequential baseline).

It prints the wall times, the ratio claude-tui / xargs (goal at most 1.0), and the speed-up
against the ideal makespan max(sum / N, longest chunk) measured from the sequential run.

    .venv/bin/python benchmarks/bench_parallel.py [--workers 8] [--write-readme]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._readme import write_block  # noqa: E402
from tests.support.messages_api import ScriptedMessagesServer  # noqa: E402
from tests.support.real_cli import find_claude_bin, real_cli_env  # noqa: E402
from tests.support.review_repo import make_review_repo  # noqa: E402
from tui_orchestrator.engine.findings import FINDINGS_SCHEMA  # noqa: E402
from tui_orchestrator.engine.prompt import DEFAULT_INSTRUCTIONS, first_prompt  # noqa: E402

# One chunk per folder: many small modules and a few big ones that sort last, as they
# often do (xargs gets the chunks in the plan's order, alphabetical by folder).
SIZES = [1, 2, 1, 3, 2, 1, 2, 3, 1, 2, 2, 1, 3, 2, 1, 2, 4, 3, 6, 5, 8, 10, 9, 10]
FOLDERS = {f"m{i:02d}": n for i, n in enumerate(SIZES)}


def make_repo(root: Path) -> Path:
    files = {}
    for folder, count in FOLDERS.items():
        for i in range(count):
            files[f"{folder}/m{i}.py"] = f"x = {i}\n" * 20 + f"# BUG(low): note {folder} {i}\n"
    return make_review_repo(root, files)


def plan_chunks(repo: Path) -> list[list[str]]:
    """Write the plan (a chunk per folder) that every run below uses."""
    from tui_orchestrator.engine.plan import Chunk, Plan, save_plan_file

    chunks = [
        Chunk(folder, tuple(f"{folder}/m{i}.py" for i in range(count)))
        for folder, count in FOLDERS.items()
    ]
    save_plan_file(Plan(chunks=tuple(chunks)), repo / ".claude-tui" / "plan.toml")
    return [list(c.files) for c in chunks]


def run_xargs(
    repo: Path, chunks: list[list[str]], workers: int, env: dict[str, str], bin_: Path
) -> float:
    work = Path(tempfile.mkdtemp(prefix="xargs-"))
    schema = json.dumps(FINDINGS_SCHEMA, separators=(",", ":"))
    for i, files in enumerate(chunks):
        (work / f"{i:03d}.prompt").write_text(first_prompt(DEFAULT_INSTRUCTIONS, repo, files))
    script = (
        f'cd {shlex.quote(str(repo))} && {shlex.quote(str(bin_))} -p "$(cat "$1")" '
        f"--output-format stream-json --verbose --tools Read,Grep,Glob "
        f'--json-schema {shlex.quote(schema)} < /dev/null > "$1.out" 2>&1'
    )
    names = "\n".join(str(work / f"{i:03d}.prompt") for i in range(len(chunks)))
    start = time.monotonic()
    subprocess.run(
        ["xargs", "-P", str(workers), "-I", "{}", "sh", "-c", script, "sh", "{}"],
        input=names, text=True, env=env, check=True,
    )  # fmt: skip
    return time.monotonic() - start


def run_tui(repo: Path, workers: int, env: dict[str, str]) -> tuple[float, dict]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--verify", "off", "--workers", str(workers),
         "--fresh"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"claude-tui run failed ({done.returncode}):\n{done.stderr}")
    cp = tomllib.loads((repo / ".claude-tui" / "checkpoint.toml").read_text())
    return wall, cp


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--latency", type=float, default=1.5, help="seconds a model turn")
    ap.add_argument("--per-file", type=float, default=0.3, help="extra seconds per file shown")
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    bin_ = find_claude_bin()
    if bin_ is None:
        raise SystemExit("Claude Code is not installed: bash scripts/install_claude_code.sh")
    tmp = Path(tempfile.mkdtemp(prefix="bench-parallel-"))
    repo = make_repo(tmp / "repo")
    with ScriptedMessagesServer(latency=args.latency, latency_per_result=args.per_file) as srv:
        env = real_cli_env(tmp / "home", srv.base_url, CLAUDE_TUI_CLAUDE_BIN=str(bin_))
        env["CLAUDE_TUI_CONFIG_DIR"] = str(tmp / "config")
        chunks = plan_chunks(repo)
        xargs_s = run_xargs(repo, chunks, args.workers, env, bin_)
        first_s, _ = run_tui(repo, args.workers, env)
        tui_s, _ = run_tui(repo, args.workers, env)
        seq_s, cp = run_tui(repo, 1, env)
    durations = [c["elapsed_s"] for c in cp["chunks"]]
    ideal = max(sum(durations) / args.workers, max(durations))
    n = args.workers
    rows = [
        ("chunks / files", f"{len(chunks)} / {sum(len(c) for c in chunks)}"),
        ("model latency", f"{args.latency} s a turn + {args.per_file} s a file"),
        (f"xargs -P {n} (plan order)", f"{xargs_s:.1f} s"),
        (f"claude-tui --workers {n}, first run against the API", f"{first_s:.1f} s"),
        (f"claude-tui --workers {n}, again", f"{tui_s:.1f} s"),
        ("claude-tui --workers 1", f"{seq_s:.1f} s"),
        (
            "claude-tui / xargs (goal <= 1.0), first run / again",
            f"{first_s / xargs_s:.2f} / {tui_s / xargs_s:.2f}",
        ),
        (f"speed-up over 1 worker (ideal {sum(durations) / ideal:.1f}x)", f"{seq_s / tui_s:.1f}x"),
        ("wall / ideal makespan", f"{tui_s / ideal:.2f}"),
    ]
    table = "| parallel run | figure |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    if args.write_readme:
        write_block(
            ROOT / "README.md",
            "parallel",
            table + f"\n\n(`benchmarks/bench_parallel.py`, {os.cpu_count()} cores)",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
