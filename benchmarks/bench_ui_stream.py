"""64 workers streaming logs at a high rate: key-press latency and memory of the app.

A synthetic runner makes every worker emit a tool call, its result and a line of text every
``--interval`` seconds, forever (64 workers x 3 events / 20 ms is about 10,000 events a
second). While they stream, the benchmark presses keys (switching views, moving the worker
count) and measures each key's input-to-frame time: from the key event entering the app's
input queue, as a terminal's key would, to the end of the first frame that shows its effect
(the new view, the new worker count). The app runs headless, so the benchmark also encodes
every frame into terminal output, as a real terminal's driver would, before it stamps it.
(Pilot's ``press()`` is no clock: it waits for the CPU to go idle, up to a second twice,
which a streaming app never does.) It samples the resident memory as it goes.

    .venv/bin/python benchmarks/bench_ui_stream.py [--minutes 2] [--workers 64] [--write-readme]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._readme import write_block  # noqa: E402
from tests.support.review_repo import make_review_repo  # noqa: E402
from tui_orchestrator.engine.config import Config  # noqa: E402
from tui_orchestrator.engine.open_run import OpenRun, RunOptions  # noqa: E402
from tui_orchestrator.engine.project import open_project  # noqa: E402
from tui_orchestrator.engine.runner import Emit, Job, Outcome  # noqa: E402
from tui_orchestrator.engine.stream import AssistantText, Init, ToolResult, ToolUse  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class ChattyRunner:
    """Streams events until paused; never finishes on its own."""

    backend = "demo"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.events = 0

    async def run(self, job: Job, emit: Emit) -> Outcome:
        emit(Init(session_id=job.session_id, model="bench"))
        n = 0
        while True:
            path = job.files[n % len(job.files)]
            emit(ToolUse("Read", {"file_path": str(job.root / path)}, f"t{n}"))
            emit(ToolResult(f"t{n}", False, "1\tcode"))
            emit(AssistantText(f"Looking at {path}, line {n}: nothing alarming here yet."))
            self.events += 3
            n += 1
            await asyncio.sleep(self.interval)


# Each key and what the first frame that answers it shows: (key, character, view, workers).
KEYS = [
    ("1", "1", "plan", 0),
    ("2", "2", "workers", 0),
    ("3", "3", "issues", 0),
    ("2", "2", "workers", 0),
    ("plus", "+", "workers", +1),
    ("minus", "-", "workers", -1),
]


class FrameClock:
    """Stamps every frame the app shows with the view and worker count it shows."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        from textual._compositor import CompositorUpdate

        self.frames: list[tuple[float, str, int]] = []
        display = app._display

        def stamped(screen, renderable) -> None:  # type: ignore[no-untyped-def]
            display(screen, renderable)
            if renderable is None:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)  # what a terminal driver writes
            manager = app.manager
            self.frames.append(
                (time.perf_counter(), app.current_mode, manager.chunk_workers if manager else 0)
            )

        app._display = stamped

    async def first_frame(self, since: int, view: str, workers: int, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for stamp, shown_view, shown_workers in self.frames[since:]:
                if shown_view == view and shown_workers == workers:
                    return stamp
            await asyncio.sleep(0.001)
        raise TimeoutError(f"no frame showed {view} with {workers} workers")


async def measure(minutes: float, workers: int, interval: float) -> dict[str, str]:
    from textual import events

    from tui_orchestrator.ui.app import ClaudeTuiApp

    tmp = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    os.environ["CLAUDE_TUI_CONFIG_DIR"] = str(tmp / "config")
    files = {f"mod{c:02d}/f{i}.py": f"x = {i}\n" for c in range(workers) for i in range(4)}
    repo = make_review_repo(tmp / "repo", files)
    config = Config(workers=workers, max_files_per_chunk=4, verify="off")
    project = open_project(repo, config)
    runner = ChattyRunner(interval)
    run = OpenRun(repo, config, runner, RunOptions(headless=False))
    run.open()
    latencies: list[float] = []
    by_key: dict[str, list[float]] = {}
    memory: list[tuple[float, float]] = []
    try:
        app = ClaudeTuiApp(project, run=run, demo=True)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("R")
            deadline = time.monotonic() + 60
            while len(app.manager.running) < workers:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"only {len(app.manager.running)} of {workers} workers started in 60 s "
                        "(is the machine short of memory or CPU?)"
                    )
                await pilot.pause(0.1)
            start = time.monotonic()
            events_at_start = runner.events
            clock = FrameClock(app)
            i = 0
            next_sample = start
            while time.monotonic() - start < minutes * 60:
                key, char, view, step = KEYS[i % len(KEYS)]
                i += 1
                expected_workers = app.manager.chunk_workers + step
                since = len(clock.frames)
                t0 = time.perf_counter()
                app._driver.send_message(events.Key(key, char))
                shown = await clock.first_frame(since, view, expected_workers, timeout=30)
                latencies.append((shown - t0) * 1000)
                by_key.setdefault(char, []).append((shown - t0) * 1000)
                if time.monotonic() >= next_sample:
                    memory.append((time.monotonic() - start, rss_mb()))
                    next_sample += 10
                await asyncio.sleep(0.25)
            rate = (runner.events - events_at_start) / (time.monotonic() - start)
            await app.manager.stop()
    finally:
        run.close()
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = _p95(latencies)
    first = memory[1][1] if len(memory) > 1 else memory[0][1]
    return {
        "workers streaming": f"{workers}",
        "events per second": f"{rate:,.0f}",
        "duration": f"{minutes:g} min",
        "key presses measured": f"{len(latencies)}",
        "input-to-frame p50 (goal p95 < 100 ms)": f"{p50:.0f} ms",
        "input-to-frame p95": f"{p95:.0f} ms",
        "p95 by key (1 plan, 2 workers, 3 issues, + -)": " · ".join(
            f"{k} {_p95(sorted(v)):.0f}" for k, v in by_key.items()
        ),
        "resident memory after 10 s / at the end": f"{first:.0f} MB / {memory[-1][1]:.0f} MB",
    }


def _p95(values: list[float]) -> float:
    return values[max(0, int(len(values) * 0.95) - 1)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    figures = asyncio.run(measure(args.minutes, args.workers, args.interval))
    table = "| app under load | figure |\n|---|---|\n" + "\n".join(
        f"| {k} | {v} |" for k, v in figures.items()
    )
    print(table)
    if args.write_readme:
        write_block(
            ROOT / "README.md",
            "ui",
            table + f"\n\n(`benchmarks/bench_ui_stream.py --minutes {args.minutes:g}`, headless "
            f"app at 160x48 with every frame encoded as for a terminal, {os.cpu_count()} cores. "
            "A key is timed from its event entering the app's queue to the end of the first "
            "frame that shows its effect.)",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
