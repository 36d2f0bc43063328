"""What ``--context repo`` costs once a run: make, ship and unpack the repository's archive.

A real repository: the installed ``textual`` package copied into a temporary folder and
committed (or ``--repo PATH``, a git checkout). Through the executor's own code it times
``DaskRunner.prepare`` (``git archive`` of the commit), ``DaskRunner._archive`` (one
``scatter(..., broadcast=True)`` to a ``LocalCluster`` of N worker processes on 127.0.0.1)
and, on a worker, the first ``HostFolder`` to enter (unpacking under the lock) against a
second one (finds it there). Medians of ``--rounds``.

    .venv/bin/python benchmarks/bench_repo_context.py [--workers 2] [--rounds 3] [--repo PATH]

Needs the [dask] extra.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui_orchestrator.engine.dask_runner import DaskRunner  # noqa: E402


def textual_repo(folder: Path) -> Path:
    """The installed textual package as a committed git repository."""
    import textual

    repo = folder / "textual"
    shutil.copytree(
        Path(textual.__file__).parent, repo, ignore=shutil.ignore_patterns("__pycache__")
    )
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "textual"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    return repo


def unpack_on_worker(spec: dict, archive: bytes, work: str) -> tuple[float, float, int]:
    """On a worker: (first attempt's entry, second attempt's entry, files) in seconds."""
    os.environ["CLAUDE_TUI_WORKDIR"] = work
    from tui_orchestrator.engine.dask_task import HostFolder

    started = time.perf_counter()
    with HostFolder(spec, archive, held=lambda: False) as first:
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        with HostFolder(spec, archive, held=lambda: False) as second:
            second_s = time.perf_counter() - started
            assert first.unpacked and not second.unpacked
            files = sum(1 for p in second.root.rglob("*") if p.is_file())
    return first_s, second_s, files


async def one_round(repo: Path, address: str, work: Path) -> dict[str, float]:
    runner = DaskRunner("dask://" + address.removeprefix("tcp://"), context="repo")
    started = time.perf_counter()
    runner.prepare(repo)
    make_s = time.perf_counter() - started
    size = len(runner._repos[repo][1])
    client = await runner._connect()
    try:
        started = time.perf_counter()
        future = await runner._archive(client, repo)
        ship_s = time.perf_counter() - started
        who_has = await client.who_has([future])
        spec = {"repo_key": f"bench-{runner.run_id}", "archive_key": runner.archive_key(repo)}
        first_s, second_s, files = await client.submit(
            unpack_on_worker, spec, future, str(work), pure=False
        )
    finally:
        await runner.aclose()
    return {
        "bytes": size,
        "files": files,
        "holders": len(next(iter(who_has.values()))),
        "make": make_s,
        "ship": ship_s,
        "unpack": first_s,
        "again": second_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repo", type=Path, help="a git checkout (default: textual, committed)")
    args = parser.parse_args()
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory(prefix="bench-repo-") as tmp:
        folder = Path(tmp)
        repo = args.repo.resolve() if args.repo else textual_repo(folder)
        cluster = LocalCluster(
            n_workers=args.workers, processes=True, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None,
        )  # fmt: skip
        try:
            rounds = [
                asyncio.run(one_round(repo, cluster.scheduler_address, folder / f"work{i}"))
                for i in range(args.rounds)
            ]
        finally:
            cluster.close()
    first = rounds[0]
    med = {k: statistics.median(r[k] for r in rounds) for k in ("make", "ship", "unpack", "again")}
    total = med["make"] + med["ship"] + med["unpack"]
    print(f"repository: {first['files']} files, {first['bytes'] / 1e6:.1f} MB as tar")
    print(f"git archive (make): {med['make']:.2f} s")
    print(f"scatter, broadcast to {args.workers} workers (ship; on {first['holders']}): "
          f"{med['ship']:.2f} s")  # fmt: skip
    print(f"unpack on a worker (first attempt): {med['unpack']:.2f} s")
    print(f"second attempt on that machine (finds it): {med['again'] * 1000:.1f} ms")
    print(f"make + ship + unpack, once a run: {total:.2f} s (median of {args.rounds})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
