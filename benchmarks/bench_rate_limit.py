"""A rate-limit storm: the loopback API accepts K model requests per W seconds, 429 past it.

The real Claude Code CLI runs with its own retries off (``CLAUDE_CODE_MAX_RETRIES=0``), so
every 429 reaches claude-tui, which must back the whole pool off, cut its concurrency, and
grow it back. Reports the run's wall time against the bound the limit sets (accepted
requests x W / K) and the share of requests rejected. Goals: within 1.2x of the bound,
at most 15% rejected, every chunk done.

It also measures a usage limit (a subscription's window) in the middle of a run: the
server refuses every request between two moments with the unified headers of a
five-hour limit, the CLI runs logged in with a token; the pool must send almost nothing
until the reset and be at work again within seconds after it. Reports the requests refused,
the time from the reset to the first request after it, and the wall time against the same
run without the limit.

    .venv/bin/python benchmarks/bench_rate_limit.py [--limits 4/4,10/10] [--chunks 24] [--write-readme]
"""

from __future__ import annotations

import argparse
import os
import socket
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


def run_storm(
    k: int, w: float, chunks: int, workers: int, bin_: Path, config: Path, label: str, port: int
) -> dict[str, str]:
    """One storm; ``config`` is the user's config folder (where the learned rate is kept),
    ``port`` the server's (the same API, to the rate memory, is the same address)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    files = {
        f"pkg{c:02d}/m{i}.py": f"x = {i}\n# BUG(low): note {c}.{i}\n"
        for c in range(chunks)
        for i in range(2)
    }
    repo = make_review_repo(tmp / "repo", files)
    with ScriptedMessagesServer(rate_limit=(k, w), port=port) as srv:
        env = real_cli_env(tmp / "home", srv.base_url, CLAUDE_TUI_CLAUDE_BIN=str(bin_))
        env["CLAUDE_TUI_CONFIG_DIR"] = str(config)
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--verify", "off", "--workers",
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
        "limit": f"{k} requests / {w:g} s, {label}",
        "chunks done": f"{finished} / {len(cp['chunks'])} (exit {done.returncode})",
        "requests accepted / rejected": f"{accepted} / {rejected}",
        "rejected share (goal <= 15%)": f"{rejected / max(1, accepted + rejected):.0%}",
        "wall time": f"{wall:.1f} s",
        "bound: accepted x W / K": f"{bound:.1f} s",
        "wall / bound (goal <= 1.2)": f"{wall / bound:.2f}",
        "progress log": str(tmp / "run.stderr"),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _repo(tmp: Path, chunks: int) -> Path:
    files = {
        f"pkg{c:02d}/m{i}.py": f"x = {i}\n# BUG(low): note {c}.{i}\n"
        for c in range(chunks)
        for i in range(2)
    }
    return make_review_repo(tmp / "repo", files)


def _timed_run(
    repo: Path, tmp: Path, srv: ScriptedMessagesServer, workers: int, bin_: Path, token: bool
) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = real_cli_env(tmp / "home", srv.base_url, CLAUDE_TUI_CLAUDE_BIN=str(bin_))
    env["CLAUDE_TUI_CONFIG_DIR"] = str(tmp / "config")
    env.pop("CI", None)  # the run must wait for the reset, as on a laptop
    if token:
        env.pop("ANTHROPIC_API_KEY", None)
        env["CLAUDE_CODE_OAUTH_TOKEN"] = "bench-token"
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--verify", "off", "--workers", str(workers),
         "--max-files-per-chunk", "2"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    return time.monotonic() - start, done


def run_usage_window(
    chunks: int, workers: int, bin_: Path, latency: float, opens_s: float, lasts_s: float
) -> dict[str, str]:
    """The same run twice: without a limit, then with a usage window in its middle."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-usage-"))
    with ScriptedMessagesServer(latency=latency) as srv:
        plain_s, plain = _timed_run(
            _repo(tmp / "plain", chunks), tmp / "plain", srv, workers, bin_, True
        )
    repo = _repo(tmp / "limited", chunks)
    opens = time.time() + opens_s
    window = (opens, opens + lasts_s)
    with ScriptedMessagesServer(latency=latency, usage_window=window) as srv:
        wall, done = _timed_run(repo, tmp / "limited", srv, workers, bin_, True)
        records = srv.requests()
    (tmp / "run.stderr").write_text(done.stderr)
    if done.returncode != 0 or plain.returncode != 0:
        print(done.stderr[-3000:], plain.stderr[-2000:], file=sys.stderr)
    cp = tomllib.loads((repo / ".claude-tui" / "checkpoint.toml").read_text())
    finished = sum(c["status"] == "done" for c in cp["chunks"])
    refused = [r for r in records if r.status == 429]
    during = [r for r in records if window[0] <= r.time < window[1]]
    after = [r.time - window[1] for r in records if r.time >= window[1]]
    first_after = min(after) if after else float("nan")
    return {
        "limit": f"usage window of {lasts_s:g} s, {opens_s:g} s into the run",
        "chunks done": f"{finished} / {len(cp['chunks'])} (exit {done.returncode})",
        "requests refused (all in the window)": f"{len(refused)} ({len(during)} sent in the window, {workers} workers)",
        "reset to first request (goal: seconds)": f"{first_after:.1f} s",
        "wall time, limited / unlimited": f"{wall:.1f} s / {plain_s:.1f} s",
        "wall time past the unlimited + window": f"{wall - plain_s - lasts_s:+.1f} s",
        "progress log": str(tmp / "run.stderr"),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limits", default="4/4,10/10", help="K/W pairs, comma separated")
    ap.add_argument("--chunks", type=int, default=24)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--usage-window", type=float, default=20.0, help="seconds (0: skip)")
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    bin_ = find_claude_bin()
    if bin_ is None:
        raise SystemExit("Claude Code is not installed: bash scripts/install_claude_code.sh")
    results = []
    for pair in filter(None, args.limits.split(",")):
        k, _, w = pair.partition("/")
        # A first run learns the rate; the same storm again starts from the rate it kept.
        config = Path(tempfile.mkdtemp(prefix="bench-storm-config-"))
        port = _free_port()
        for label in ("first run", "again"):
            results.append(
                run_storm(int(k), float(w), args.chunks, args.workers, bin_, config, label, port)
            )
    table = ""
    if results:
        keys = [key for key in results[0] if key != "progress log"]
        table = "| rate-limit storm | " + " | ".join(r["limit"] for r in results) + " |\n"
        table += "|---|" + "---|" * len(results) + "\n"
        table += "\n".join(
            f"| {key} | " + " | ".join(r[key] for r in results) + " |" for key in keys[1:]
        )
        print(table)
        for r in results:
            print(f"({r['limit']}: progress lines in {r['progress log']})")
    usage_table = ""
    if args.usage_window > 0:
        usage = run_usage_window(args.chunks, args.workers, bin_, 0.5, 5.0, args.usage_window)
        usage_keys = [key for key in usage if key not in ("limit", "progress log")]
        usage_table = f"| usage limit | {usage['limit']} |\n|---|---|\n" + "\n".join(
            f"| {key} | {usage[key]} |" for key in usage_keys
        )
        print(usage_table)
        print(f"(usage window: progress lines in {usage['progress log']})")
    if args.write_readme:
        if usage_table:
            usage_note = (
                f"(`benchmarks/bench_rate_limit.py`: {args.chunks} chunks of 2 files, "
                f"--workers {args.workers}, real CLI logged in with a token, a five-hour "
                f"limit answered by the loopback server's unified headers, {os.cpu_count()} cores)"
            )
            write_block(ROOT / "README.md", "usage-window", usage_table + "\n\n" + usage_note)
        if not table:
            return 0
        note = (
            f"(`benchmarks/bench_rate_limit.py`: {args.chunks} chunks of 2 files, "
            f"--workers {args.workers}, real CLI with CLAUDE_CODE_MAX_RETRIES=0, "
            f"{os.cpu_count()} cores; \"again\": the same storm run a second time, its "
            "first starts paced to the rate the first run learned and kept)"
        )
        write_block(ROOT / "README.md", "storm", table + "\n\n" + note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
