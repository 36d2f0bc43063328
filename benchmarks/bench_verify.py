"""Verification: precision and recall with and without it, and what it costs in time and tokens.

A repository of ``--files`` files through the real Claude Code CLI against the loopback
Messages-API server (latency ``--latency`` s a model request). A third of the files hold a
planted problem (``BUG(high)`` or ``BUG(critical)``), a fifth a decoy the scripted reviewer
reports although the line is fine (``DECOY(high)``: a plausible false positive); the
scripted verifier reads the line each finding names and refutes a decoy. The same
repository is reviewed twice, ``--verify off`` and ``--verify all``:

- precision: planted findings among those reported (not refuted, with verification);
- recall: planted findings reported (not refuted) among those planted;
- wall time and tokens of the two runs. Goals: precision 100% with verification, recall
  unchanged, wall time at most 1.5 times that of the unverified run.

    .venv/bin/python benchmarks/bench_verify.py [--files 60] [--workers 4] [--write-readme]
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


def _files(count: int) -> tuple[dict[str, str], set[tuple[str, int]], set[tuple[str, int]]]:
    files, planted, decoys = {}, set(), set()
    for i in range(count):
        path = f"pkg{i % 6}/mod{i:03d}.py"
        lines = [f"def f{i}(x):", "    y = x + 1", "    return y"]
        if i % 3 == 0:
            sev = "critical" if i % 2 else "high"
            lines.insert(2, f"    run(x)  # BUG({sev}): unchecked input reaches run() in f{i}")
            planted.add((path, 3))
        elif i % 5 == 1:
            lines.insert(2, f"    log(y)  # DECOY(high): unchecked input reaches log() in f{i}")
            decoys.add((path, 3))
        files[path] = "\n".join(lines) + "\n"
    return files, planted, decoys


def _run(repo: Path, tmp: Path, srv: ScriptedMessagesServer, bin_: Path, verify: str, workers: int):
    env = real_cli_env(tmp / "home", srv.base_url, CLAUDE_TUI_CLAUDE_BIN=str(bin_))
    env["CLAUDE_TUI_CONFIG_DIR"] = str(tmp / "config")
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--verify", verify,
         "--workers", str(workers), "--max-files-per-chunk", "5"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.monotonic() - start
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
    return wall, done


def measure(files: int, workers: int, latency: float, bin_: Path) -> dict[str, list[str]]:
    content, planted, decoys = _files(files)
    rows: dict[str, list[str]] = {}
    for verify in ("off", "all"):
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-verify-{verify}-"))
        repo = make_review_repo(tmp / "repo", content)
        with ScriptedMessagesServer(latency=latency) as srv:
            wall, done = _run(repo, tmp, srv, bin_, verify, workers)
            requests = len([r for r in srv.requests() if r.status == 200])
        cp = tomllib.loads((repo / ".claude-tui" / "checkpoint.toml").read_text())
        refuted = {v["fingerprint"] for v in cp.get("verdicts", []) if v["verdict"] == "refuted"}
        reported = {
            (i["file"], i["line"])
            for c in cp["chunks"]
            for i in c["issues"]
            if i["fingerprint"] not in refuted
        }
        found = reported & planted
        tokens = sum(c["input_tokens"] + c["output_tokens"] for c in cp["chunks"])
        tokens += int(cp.get("verify_tokens", 0))
        rows.setdefault("exit code", []).append(str(done.returncode))
        rows.setdefault("findings reported (not refuted)", []).append(str(len(reported)))
        rows.setdefault("of them decoys", []).append(f"{len(reported & decoys)} of {len(decoys)}")
        rows.setdefault("precision (goal 100% verified)", []).append(
            f"{len(found) / max(1, len(reported)):.0%}"
        )
        rows.setdefault("recall (goal: unchanged)", []).append(
            f"{len(found) / max(1, len(planted)):.0%}"
        )
        rows.setdefault("wall time", []).append(f"{wall:.1f} s")
        rows.setdefault("model requests", []).append(str(requests))
        rows.setdefault("tokens", []).append(f"{tokens:,}")
        rows.setdefault("_wall", []).append(str(wall))
    ratio = float(rows["_wall"][1]) / float(rows["_wall"][0])
    rows.pop("_wall")
    rows["wall time, verified / not (goal <= 1.5)"] = ["", f"{ratio:.2f}"]
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    bin_ = find_claude_bin()
    if bin_ is None:
        raise SystemExit("Claude Code is not installed: bash scripts/install_claude_code.sh")
    rows = measure(args.files, args.workers, args.latency, bin_)
    table = "| verification | --verify off | --verify all |\n|---|---|---|\n" + "\n".join(
        f"| {key} | {values[0]} | {values[1]} |" for key, values in rows.items()
    )
    print(table)
    if args.write_readme:
        note = (
            f"(`benchmarks/bench_verify.py`: {args.files} files in chunks of 5, a third with a "
            f"planted problem, a fifth with a decoy, --workers {args.workers}, real CLI against "
            f"the loopback server at {args.latency:g} s a request, {os.cpu_count()} cores)"
        )
        write_block(ROOT / "README.md", "verify", table + "\n\n" + note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
