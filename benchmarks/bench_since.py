"""A change review against a full review: what `--since` costs for a 3-file change.

Real code: the source tree of an installed package (``--package``, textual by default: a
few hundred Python files) is committed as ``main``; a branch then changes 3 files (two
edited in the middle, one new). The same repository is reviewed twice through the real
Claude Code CLI against the loopback Messages-API server (``--latency`` s a request):

- in full (``claude-tui run REPO``);
- as a change review (``claude-tui run REPO --since main``).

Printed: files and chunks reviewed, model requests, the bytes sent to the model (what input
tokens are billed on, about four bytes a token), the tokens the CLI reported, and wall
time. Goal: the change review costs about what those 3 files cost in the full review.

    .venv/bin/python benchmarks/bench_since.py [--package textual] [--workers 4] [--write-readme]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._readme import write_block  # noqa: E402
from tests.support.git import git  # noqa: E402
from tests.support.messages_api import ScriptedMessagesServer  # noqa: E402
from tests.support.real_cli import find_claude_bin, real_cli_env  # noqa: E402


def make_repo(package: str, where: Path) -> tuple[Path, list[str]]:
    """The package's source committed on main, then a branch that changes 3 files."""
    source = Path(importlib.import_module(package).__file__).parent  # type: ignore[arg-type]
    repo = where / package
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the package as installed")
    git(repo, "checkout", "-q", "-b", "change")
    python = sorted(p for p in repo.rglob("*.py") if p.stat().st_size > 4000)
    edited = [python[len(python) // 3], python[2 * len(python) // 3]]
    for path in edited:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        middle = len(lines) // 2
        lines.insert(middle, "# changed on the branch: a new check would go here\n")
        path.write_text("".join(lines), encoding="utf-8")
    new = repo / "_bench_new_module.py"
    new.write_text("def added(value):\n    return eval(value)\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a 3-file change")
    changed = [str(p.relative_to(repo)) for p in (*edited, new)]
    return repo, changed


def review(repo: Path, tmp: Path, bin_: Path, args: list[str], workers: int, latency: float):
    env = real_cli_env(tmp / "home", "", CLAUDE_TUI_CLAUDE_BIN=str(bin_))
    env["CLAUDE_TUI_CONFIG_DIR"] = str(tmp / "config")
    with ScriptedMessagesServer(latency=latency) as srv:
        env["ANTHROPIC_BASE_URL"] = srv.base_url
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--verify", "off",
             "--workers", str(workers), "--report", str(tmp / "report.json"), *args],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.monotonic() - start
        model = [r for r in srv.requests() if r.status == 200]
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
    state = repo / ".claude-tui" / ("since" if args else "") / "checkpoint.toml"
    cp = tomllib.loads(state.read_text())
    named = {f for r in model for f in r.prompt_files}
    return {
        "exit": done.returncode,
        "files": sum(len(c["files"]) for c in cp["chunks"]),
        "chunks": len(cp["chunks"]),
        "named": named,
        "requests": len(model),
        "bytes": sum(r.body_bytes for r in model),
        "tokens": sum(c["input_tokens"] + c["output_tokens"] for c in cp["chunks"]),
        "wall": wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", default="textual")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    bin_ = find_claude_bin()
    if bin_ is None:
        raise SystemExit("Claude Code is not installed: bash scripts/install_claude_code.sh")
    tmp = Path(tempfile.mkdtemp(prefix="bench-since-"))
    repo, changed = make_repo(args.package, tmp)
    full = review(repo, tmp / "full", bin_, [], args.workers, args.latency)
    since = review(repo, tmp / "since", bin_, ["--since", "main"], args.workers, args.latency)
    assert since["named"] == set(changed), (since["named"], changed)
    share = 3 / full["files"]
    rows = [
        ("exit code", str(full["exit"]), str(since["exit"]), ""),
        ("files reviewed", str(full["files"]), str(since["files"]), "3"),
        ("chunks", str(full["chunks"]), str(since["chunks"]), ""),
        ("model requests", str(full["requests"]), str(since["requests"]),
         f"{full['requests'] * share:.0f}"),
        ("bytes sent to the model", f"{full['bytes']:,}", f"{since['bytes']:,}",
         f"{full['bytes'] * share:,.0f}"),
        ("tokens (as the CLI reported them)", f"{full['tokens']:,}", f"{since['tokens']:,}",
         f"{full['tokens'] * share:,.0f}"),
        ("wall time", f"{full['wall']:.1f} s", f"{since['wall']:.1f} s", ""),
    ]  # fmt: skip
    table = (
        "| | full review | --since main | 3 files' share of the full |\n|---|---:|---:|---:|\n"
        + "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    )
    print(table)
    print(f"changed: {', '.join(changed)}")
    if args.write_readme:
        note = (
            f"(`benchmarks/bench_since.py`: the installed `{args.package}` package's source "
            f"({full['files']} files reviewed) on main, a branch editing 2 files and adding 1; "
            f"--workers {args.workers}, --verify off, real CLI against the loopback server at "
            f"{args.latency:g} s a request, {os.cpu_count()} cores. The last column is the full "
            "review's figure times 3/files: what those 3 files cost in it.)"
        )
        write_block(ROOT / "README.md", "since", table + "\n\n" + note)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
