"""What the Dask executor costs on one machine: local executor against Dask executor.

The same repository, the same plan (a chunk per folder) and the same worker count: the
real Claude Code CLI against the loopback scripted Messages API (tests/support), run by
``claude-tui run --workers N`` with local processes, then with ``--executor dask://…`` on a
``LocalCluster`` of N single-threaded worker processes on 127.0.0.1. Prints the wall times,
their ratio, and the overhead per chunk: the mean chunk time (the manager's, from start to
outcome, in the checkpoint) with Dask minus without. That overhead is what every chunk pays
on a real cluster too (submit, ship the files and session, stream back), before the
network's own latency.

    .venv/bin/python benchmarks/bench_dask.py [--workers 4] [--rounds 2] [--write-readme]

Needs the [dask] extra (``pip install -e '.[dask]'``) and the CLI in .tools/.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def make_repo(root: Path, chunks: int, files: int) -> Path:
    tree = {
        f"m{c:02d}/f{i}.py": f"x = {i}\n" * 30 + f"# BUG(low): note {c} {i}\n"
        for c in range(chunks)
        for i in range(files)
    }
    repo = make_review_repo(root, tree)
    from tui_orchestrator.engine.plan import Chunk, Plan, save_plan_file

    plan = Plan(
        chunks=tuple(
            Chunk(f"m{c:02d}", tuple(f"m{c:02d}/f{i}.py" for i in range(files)))
            for c in range(chunks)
        )
    )
    save_plan_file(plan, repo / ".claude-tui" / "plan.toml")
    return repo


def run_once(repo: Path, workers: int, env: dict[str, str], executor: str) -> tuple[float, float]:
    """One fresh run: (wall seconds, mean chunk seconds)."""
    args = [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--verify", "off", "--workers",
            str(workers), "--fresh", "--executor", executor]  # fmt: skip
    start = time.monotonic()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"claude-tui run ({executor}) failed ({done.returncode}):\n{done.stderr}")
    cp = tomllib.loads((repo / ".claude-tui" / "checkpoint.toml").read_text())
    if any(c["attempts"] != 1 for c in cp["chunks"]):
        raise SystemExit(f"a chunk needed a retry ({executor}): the figures would mislead")
    return wall, statistics.mean(c["elapsed_s"] for c in cp["chunks"])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--chunks", type=int, default=16)
    ap.add_argument("--files", type=int, default=2, help="files per chunk")
    ap.add_argument("--latency", type=float, default=0.5, help="seconds a model turn")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each; medians are shown")
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    bin_ = find_claude_bin()
    if bin_ is None:
        raise SystemExit("Claude Code is not installed: bash scripts/install_claude_code.sh")
    try:
        from distributed import LocalCluster
    except ImportError:
        raise SystemExit("the Dask extra is missing: pip install -e '.[dask]'") from None
    tmp = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    repo = make_repo(tmp / "repo", args.chunks, args.files)
    n = args.workers
    with ScriptedMessagesServer(latency=args.latency) as srv:
        env = real_cli_env(tmp / "home", srv.base_url, CLAUDE_TUI_CLAUDE_BIN=str(bin_))
        env["CLAUDE_TUI_CONFIG_DIR"] = str(tmp / "config")
        # The workers' machine: Claude Code on PATH, the API settings in the environment.
        worker_env = dict(env, PATH=f"{bin_.parent}{os.pathsep}{env['PATH']}")
        worker_env["CLAUDE_TUI_WORKDIR"] = str(tmp / "work")
        worker_env.pop("CLAUDE_TUI_CLAUDE_BIN")
        started = time.monotonic()
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, env=worker_env,
        )  # fmt: skip
        cluster_s = time.monotonic() - started
        dask = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        local_runs, dask_runs = [], []
        try:
            for _ in range(args.rounds):
                local_runs.append(run_once(repo, n, env, "local"))
                dask_runs.append(run_once(repo, n, env, dask))
        finally:
            cluster.close()
    local_wall = statistics.median(w for w, _ in local_runs)
    dask_wall = statistics.median(w for w, _ in dask_runs)
    local_chunk = statistics.median(c for _, c in local_runs)
    dask_chunk = statistics.median(c for _, c in dask_runs)
    rows = [
        ("chunks / files", f"{args.chunks} / {args.chunks * args.files}"),
        ("workers", f"{n} local processes / {n} Dask workers x 1 thread"),
        ("model latency", f"{args.latency} s a turn"),
        ("local executor: wall", f"{local_wall:.1f} s"),
        ("Dask executor (LocalCluster on 127.0.0.1): wall", f"{dask_wall:.1f} s"),
        ("wall, Dask / local", f"{dask_wall / local_wall:.2f}"),
        ("mean chunk time, local / Dask", f"{local_chunk:.2f} s / {dask_chunk:.2f} s"),
        ("overhead per chunk (Dask - local)", f"{(dask_chunk - local_chunk) * 1000:.0f} ms"),
        ("LocalCluster start (not in the walls)", f"{cluster_s:.1f} s"),
    ]
    table = "| Dask executor | figure |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    if args.write_readme:
        write_block(
            ROOT / "README.md",
            "dask",
            table + f"\n\n(`benchmarks/bench_dask.py`, median of {args.rounds} runs each, "
            f"{os.cpu_count()} cores, distributed "
            f"{__import__('distributed').__version__})",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
