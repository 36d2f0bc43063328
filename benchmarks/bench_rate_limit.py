"""A rate-limit storm: the loopback API accepts K model requests per W seconds, 429 past it.

The real Claude Code CLI runs with its own retries off (``CLAUDE_CODE_MAX_RETRIES=0``), so
every 429 reaches claude-tui, which must back the whole pool off, cut its concurrency, and
grow it back. Reports the run's wall time against the bound the limit sets (accepted
requests x W / K) and the share of requests rejected. Goals: within 1.3x of the bound,
under 30% rejected, every chunk done.

    .venv/bin/python benchmarks/bench_rate_limit.py [--k 4] [--w 4] [--chunks 16] [--write-readme]
"""

from __future__ import annotations

import argparse
import os
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


def run_storm(k: int, w: float, chunks: int, workers: int, bin_: Path) -> dict[str, str]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    files = {
        f"pkg{c:02d}/m{i}.py": f"x = {i}\n# BUG(low): note {c}.{i}\n"
        for c in range(chunks)
        for i in range(2)
    }
    repo = make_review_repo(tmp / "repo", files)
    with ScriptedMessagesServer(rate_limit=(k, w)) as srv:
        env = real_cli_env(tmp / "home", srv.base_url, CLAUDE_TUI_CLAUDE_BIN=str(bin_))
        env["CLAUDE_TUI_CONFIG_DIR"] = str(tmp / "config")
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--workers",
             str(workers), "--max-files-per-chunk", "2"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.monotonic() - start
        records = srv.requests()
    (tmp / "run.stderr").write_text(done.stderr)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
    cp = tomllib.loads((repo / ".claude-tui" / "checkpoint.toml").read_text())
    finished = sum(c["status"] == "done" for c in cp["chunks"])
    accepted = sum(r.status == 200 for r in records)
    rejected = sum(r.status == 429 for r in records)
    # The bound: every K accepted requests need a window of W seconds.
    bound = accepted * w / k
    return {
        "limit": f"{k} requests / {w:g} s",
        "chunks done": f"{finished} / {len(cp['chunks'])} (exit {done.returncode})",
        "requests accepted / rejected": f"{accepted} / {rejected}",
        "rejected share (goal < 30%)": f"{rejected / max(1, accepted + rejected):.0%}",
        "wall time": f"{wall:.1f} s",
        "bound: accepted x W / K": f"{bound:.1f} s",
        "wall / bound (goal <= 1.3)": f"{wall / bound:.2f}",
        "progress log": str(tmp / "run.stderr"),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limits", default="4/4,10/10", help="K/W pairs, comma separated")
    ap.add_argument("--chunks", type=int, default=24)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    bin_ = find_claude_bin()
    if bin_ is None:
        raise SystemExit("Claude Code is not installed: bash scripts/install_claude_code.sh")
    results = []
    for pair in args.limits.split(","):
        k, _, w = pair.partition("/")
        results.append(run_storm(int(k), float(w), args.chunks, args.workers, bin_))
    keys = [key for key in results[0] if key != "progress log"]
    table = "| rate-limit storm | " + " | ".join(r["limit"] for r in results) + " |\n"
    table += "|---|" + "---|" * len(results) + "\n"
    table += "\n".join(
        f"| {key} | " + " | ".join(r[key] for r in results) + " |" for key in keys[1:]
    )
    print(table)
    for r in results:
        print(f"({r['limit']}: progress lines in {r['progress log']})")
    if args.write_readme:
        note = (
            f"(`benchmarks/bench_rate_limit.py`: {args.chunks} chunks of 2 files, "
            f"--workers {args.workers}, real CLI with CLAUDE_CODE_MAX_RETRIES=0, "
            f"{os.cpu_count()} cores)"
        )
        write_block(ROOT / "README.md", "storm", table + "\n\n" + note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
