"""Foundation figures: discovery + partition at scale, balanced plan quality, checkpoint writes.

(a) Discovery + partition (``directory`` and ``balanced``) of a generated 100,000-file tree
    (no git, realistic nesting, varied sizes, some vendored, binary and non-source files).
    Goal: under 2 s.
(b) ``balanced`` predicted makespan / lower bound max(total / N, largest file) on a skewed
    tree (one folder with 40% of the files, sizes varying 10x), N = 4, 8, 16. Goal: <= 1.05.
(c) One checkpoint write (render + atomic write) of a 1,000-chunk run with a few findings a
    chunk, against ``tomli_w.dumps`` of the same data. Goal: well under 50 ms.

    .venv/bin/python benchmarks/bench_foundation.py [--files 100000] [--tree DIR]
        [--profile] [--write-readme]

``--tree DIR`` keeps the generated tree there (made once, reused on later runs).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.trees import skewed_files  # noqa: E402
from tui_orchestrator.engine import estimate  # noqa: E402
from tui_orchestrator.engine.checkpoint import (  # noqa: E402
    Checkpoint,
    CheckpointStore,
    ChunkState,
    ChunkStatus,
    checkpoint_to_toml,
)
from tui_orchestrator.engine.config import Config  # noqa: E402
from tui_orchestrator.engine.discovery import SourceFile, discover  # noqa: E402
from tui_orchestrator.engine.findings import Finding, Severity  # noqa: E402
from tui_orchestrator.engine.partition import Limits, make_plan, partition  # noqa: E402

MARK_START = "<!-- bench:foundation -->"
MARK_END = "<!-- /bench:foundation -->"

SOURCE_EXTS = ["py", "py", "py", "ts", "ts", "tsx", "js", "go", "go", "rs", "java", "rb", "sql"]
OTHER_EXTS = ["md", "json", "yaml", "txt", "svg", "lock"]
WORDS = ["core", "api", "auth", "billing", "search", "ui", "models", "utils", "jobs", "db",
         "cache", "events", "admin", "reports", "sync", "mail", "payments", "users"]  # fmt: skip


# --- (a) a big tree ----------------------------------------------------------------------


def generate_tree(root: Path, count: int, seed: int = 7) -> dict[str, int]:
    """A monorepo-like tree of ``count`` files; returns counts by kind."""
    rng = random.Random(seed)
    filler = (b"    value = compute(value, factor)  # keep going\n" * 2000)[:200_000]
    kinds = {"source": 0, "other": 0, "binary": 0, "vendored": 0, "empty": 0}
    made_dirs: set[str] = set()

    def write(rel: str, data: bytes) -> None:
        folder = rel.rpartition("/")[0]
        if folder not in made_dirs:
            os.makedirs(root / folder, exist_ok=True)
            made_dirs.add(folder)
        fd = os.open(root / rel, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    # Vendored and generated folders: present in real trees, skipped by discovery.
    for i in range(count // 50):
        write(f"node_modules/pkg{i % 300}/lib/f{i}.js", filler[: rng.randint(100, 4000)])
        kinds["vendored"] += 1
    for i in range(count // 200):
        write(f"services/web/dist/chunk{i}.js", filler[: rng.randint(100, 4000)])
        kinds["vendored"] += 1
    made = sum(kinds.values())
    packages = [f"{rng.choice(WORDS)}-{i}" for i in range(60)]
    while made < count:
        depth = rng.choices([1, 2, 3, 4, 5], weights=[2, 4, 4, 2, 1])[0]
        parts = ["packages", rng.choice(packages), rng.choice(["src", "src", "tests", "lib"])]
        parts += [f"{rng.choice(WORDS)}{rng.randrange(8)}" for _ in range(depth - 1)]
        folder = "/".join(parts)
        for _ in range(rng.randint(3, 25)):
            if made >= count:
                break
            roll = rng.random()
            name = f"{rng.choice(WORDS)}_{made}"
            if roll < 0.04:
                write(f"{folder}/{name}.{rng.choice(OTHER_EXTS)}", filler[: rng.randint(50, 5000)])
                kinds["other"] += 1
            elif roll < 0.045:
                write(f"{folder}/{name}.py", b"\x89PNG\r\n\x1a\n\x00" + filler[:3000])
                kinds["binary"] += 1
            elif roll < 0.05:
                write(f"{folder}/{name}.py", b"")
                kinds["empty"] += 1
            else:
                # Log-normal sizes: most files a few kB, a long tail up to ~200 kB.
                size = min(len(filler), max(40, int(rng.lognormvariate(8.0, 1.0))))
                write(f"{folder}/{name}.{rng.choice(SOURCE_EXTS)}", filler[:size])
                kinds["source"] += 1
            made += 1
    return kinds


def best_of(runs: int, fn: Callable[[], object]) -> tuple[float, object]:
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def bench_scale(tree: Path, count: int, profile: bool) -> dict[str, float | int]:
    marker = tree / ".bench-files"
    if not (marker.exists() and marker.read_text().strip() == str(count)):
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        start = time.perf_counter()
        kinds = generate_tree(tree, count)
        marker.write_text(str(count))
        print(f"generated {count:,} files in {time.perf_counter() - start:.1f} s: {kinds}")
    config = Config()
    discover(tree, config)  # warm the page cache, as a second run in a session would be
    t_disc, found = best_of(3, lambda: discover(tree, config))
    limits = Limits(max_files=config.max_files_per_chunk, max_tokens=config.max_tokens_per_chunk)
    t_dir, plan_dir = best_of(3, lambda: make_plan(found.files, "directory", limits))
    t_bal, plan_bal = best_of(3, lambda: make_plan(found.files, "balanced", limits))
    if profile:
        for label, fn in (
            ("discovery", lambda: discover(tree, config)),
            ("directory", lambda: make_plan(found.files, "directory", limits)),
            ("balanced", lambda: make_plan(found.files, "balanced", limits)),
        ):
            prof = cProfile.Profile()
            prof.runcall(fn)
            print(f"\n--- profile: {label}")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(12)
    return {
        "files": count,
        "source": len(found.files),
        "skipped": len(found.skipped),
        "discover_s": t_disc,
        "directory_s": t_dir,
        "balanced_s": t_bal,
        "chunks_directory": len(plan_dir.chunks),
        "chunks_balanced": len(plan_bal.chunks),
    }


# --- (b) balanced plan quality -----------------------------------------------------------


def makespan_ratio(files: list[SourceFile], strategy: str, workers: int) -> float:
    tokens = {f.path: f.tokens for f in files}
    chunks = partition(files, strategy, Limits(chunk_workers=workers))
    works = [sum(tokens[p] for p in c.files) for c in chunks]
    return estimate.makespan(works, workers) / estimate.lower_bound(list(tokens.values()), workers)


def bench_balance() -> list[tuple[int, float, float, float]]:
    """Per worker count: balanced on 2,000 and on 200 files, and directory on 2,000."""
    large, small = skewed_files(2_000), skewed_files(200)
    return [
        (
            workers,
            makespan_ratio(large, "balanced", workers),
            makespan_ratio(small, "balanced", workers),
            makespan_ratio(large, "directory", workers),
        )
        for workers in (4, 8, 16)
    ]


# --- (c) checkpoint writes ---------------------------------------------------------------


def big_checkpoint(chunks: int = 1_000, findings: int = 3) -> Checkpoint:
    states = []
    for i in range(chunks):
        files = [f"packages/mod{i}/src/file{j}.py" for j in range(10)]
        states.append(
            ChunkState(
                name=f"packages-mod{i}",
                files=files,
                status=ChunkStatus.DONE if i % 3 else ChunkStatus.RUNNING,
                session_id=f"{i:08x}-0000-4000-8000-000000000000",
                attempts=1,
                cost_usd=0.0421,
                input_tokens=52_000,
                output_tokens=1_800,
                elapsed_s=41.5,
                files_read=files[:7],
                hashes={f: f"{i:024x}" for f in files},
                issues=[
                    Finding(
                        files[k],
                        10 * k + 3,
                        list(Severity)[k % 5],
                        f'Possible SQL injection via "{k}"',
                        "User input reaches the query string unescaped;\nuse parameters.",
                        f"packages-mod{i}",
                    )
                    for k in range(findings)
                ],
            )
        )
    return Checkpoint(repo="/home/dev/monorepo", chunks=states, wall_s=1234.5)


def bench_checkpoint(folder: Path, runs: int = 15) -> dict[str, float | int]:
    import tomli_w

    cp = big_checkpoint()
    store = CheckpointStore(folder / ".claude-tui" / "checkpoint.toml")
    store.save(cp)  # creates the folder; not timed
    render_times, write_times, total_times, tomliw_times = [], [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        text = store.render(cp)
        rendered = time.perf_counter()
        store.write_text(text)
        done = time.perf_counter()
        render_times.append(rendered - start)
        write_times.append(done - rendered)
        total_times.append(done - start)
    data = tomllib.loads(checkpoint_to_toml(cp))
    for _ in range(max(3, runs // 3)):
        start = time.perf_counter()
        tomli_w.dumps(data)
        tomliw_times.append(time.perf_counter() - start)
    return {
        "bytes": len(text.encode()),
        "render_ms": statistics.median(render_times) * 1000,
        "write_ms": statistics.median(write_times) * 1000,
        "total_ms": statistics.median(total_times) * 1000,
        "total_max_ms": max(total_times) * 1000,
        "tomliw_ms": statistics.median(tomliw_times) * 1000,
    }


# --- report ------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def markdown(scale: dict, balance: list, ckpt: dict) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    lines = [
        f"Foundation figures ({machine}; `python benchmarks/bench_foundation.py`):",
        "",
        "| measure | figure | goal | |",
        "|---|---:|---:|---|",
    ]
    for strategy in ("directory", "balanced"):
        total = scale["discover_s"] + scale[f"{strategy}_s"]
        lines.append(
            f"| discovery + `{strategy}` partition, {scale['files']:,} files "
            f"({scale['source']:,} source, {scale[f'chunks_{strategy}']:,} chunks) "
            f"| {total:.2f} s | < 2 s | {verdict(total < 2.0)} |"
        )
    lines.append(
        f"| of which discovery / `directory` / `balanced` "
        f"| {scale['discover_s']:.2f} / {scale['directory_s']:.2f} / {scale['balanced_s']:.2f} s | | |"
    )
    for workers, ratio, small, directory in balance:
        lines.append(
            f"| `balanced` makespan / lower bound, skewed tree of 2,000 files, N = {workers} "
            f"(200 files: {small:.3f}; `directory`: {directory:.3f}) | {ratio:.3f} | <= 1.05 "
            f"| {verdict(max(ratio, small) <= 1.05)} |"
        )
    lines.append(
        f"| checkpoint write, 1,000 chunks, 3 findings each ({ckpt['bytes'] / 1e6:.1f} MB): "
        f"render + atomic write (median; render {ckpt['render_ms']:.1f} ms, write "
        f"{ckpt['write_ms']:.1f} ms) | {ckpt['total_ms']:.1f} ms | < 50 ms | "
        f"{verdict(ckpt['total_ms'] < 50)} |"
    )
    lines.append(
        f"| `tomli_w.dumps` of the same data, for comparison | {ckpt['tomliw_ms']:.1f} ms | | |"
    )
    return "\n".join(lines)


def write_readme(text: str) -> bool:
    readme = ROOT / "README.md"
    if not readme.exists():
        return False
    content = readme.read_text(encoding="utf-8")
    if MARK_START not in content or MARK_END not in content:
        return False
    head, _, rest = content.partition(MARK_START)
    _, _, tail = rest.partition(MARK_END)
    readme.write_text(f"{head}{MARK_START}\n{text.strip()}\n{MARK_END}{tail}", encoding="utf-8")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000, help="size of the generated tree")
    parser.add_argument("--tree", type=Path, help="keep the generated tree in this folder")
    parser.add_argument("--profile", action="store_true", help="profile discovery and partition")
    parser.add_argument("--write-readme", action="store_true", help="refresh README.md's block")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="claude-tui-bench-"))
    try:
        tree = args.tree or scratch / "tree"
        scale = bench_scale(tree, args.files, args.profile)
        balance = bench_balance()
        ckpt = bench_checkpoint(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = markdown(scale, balance, ckpt)
    print(text)
    if args.write_readme:
        if write_readme(text):
            print("README.md updated", file=sys.stderr)
        else:
            print("README.md has no bench:foundation markers; not changed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
