"""How fast the app opens on a big repository, and how fast a big folder expands.

Generates a 100,000-file tree in a temporary folder (not a git checkout: discovery walks
it), then measures, in one process:

  * discovery + partition (``open_project``), for reference (SPEC §7: under 2 s);
  * app start to the first frame of the plan view (goal: under 1 s), twice: the app alone
    (its repository already opened), and the whole command, `claude-tui REPO --demo` in
    a fresh interpreter, from the process's start (imports, one frame) to its first frame,
    the repository still being read behind it: what a user waits for to see the app;
  * the same command to the first frame that shows the tree and the chunks (imports,
    discovery, partition, the run's checkpoint, the tree's index): no goal of its own;
  * expanding a folder of 5,000 files, key press to the frame that shows them
    (goal: under 200 ms).

The app runs headless (Textual's test driver): every frame is composed as it would be for
a terminal, only the final write to the terminal is skipped.

    .venv/bin/python benchmarks/bench_app_startup.py [--files 100000] [--big 5000] [--runs 3]
        [--write-readme]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._readme import write_block  # noqa: E402

FILE_TEXT = "def handler(request):\n    return request.user\n" * 4


def generate_repo(root: Path, files: int, big: int) -> None:
    """``big`` files in ``big/``, the rest spread over 20 x 10 folders (plus some docs)."""
    (root / "big").mkdir(parents=True)
    for i in range(big):
        (root / "big" / f"module_{i:05d}.py").write_text(FILE_TEXT)
    rest = files - big
    per_folder = max(1, rest // 200)
    written = 0
    for top in range(20):
        for sub in range(10):
            folder = root / f"pkg{top:02d}" / f"mod{sub:02d}"
            folder.mkdir(parents=True)
            count = per_folder if (top, sub) != (19, 9) else rest - written
            for i in range(count):
                (folder / f"file_{i:04d}.py").write_text(FILE_TEXT)
            (folder / "NOTES.md").write_text("docs are skipped by discovery\n")
            written += count


def _make_app_class():
    from textual.app import App

    from tui_orchestrator.ui.app import ClaudeTuiApp
    from tui_orchestrator.ui.screens.plan import PlanScreen

    class TimedApp(ClaudeTuiApp):
        """Records when each frame of the plan view is composed."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.frames: list[tuple[float, int]] = []

        def _display(self, screen, renderable) -> None:  # type: ignore[no-untyped-def]
            if renderable is not None and isinstance(screen, PlanScreen):
                tree = screen.query_one("#tree")
                node = tree.node_for("big")
                shown = len(node.children) if node is not None and node.is_expanded else 0
                self.frames.append((time.perf_counter(), shown))
            App._display(self, screen, renderable)

    return TimedApp


async def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.001)


async def measure_app(project, big: int) -> tuple[float, float]:
    TimedApp = _make_app_class()
    start = time.perf_counter()
    app = TimedApp(project)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(lambda: bool(app.frames))
        first_frame = app.frames[0][0] - start
        await pilot.pause()
        tree = app.screen.query_one("#tree")
        node = tree.node_for("big")
        tree.move_cursor(node)
        await pilot.pause()
        pressed = time.perf_counter()
        await pilot.press("space")
        await _until(lambda: any(t > pressed and shown >= big for t, shown in app.frames))
        expanded = next(t for t, shown in app.frames if t > pressed and shown >= big) - pressed
        for worker in list(app.workers):
            worker.cancel()
    return first_frame, expanded


def command_child(repo: str, t0: float) -> None:
    """In a fresh interpreter: `claude-tui REPO --demo`, headless, until the plan is shown.

    Prints two figures: the first frame of the plan view (the repository still being read
    behind it), then the first frame that shows the tree and the chunks.
    """
    from tui_orchestrator.cli import main as cli_main
    from tui_orchestrator.ui.app import ClaudeTuiApp
    from tui_orchestrator.ui.screens.plan import PlanScreen

    real_display, real_run = ClaudeTuiApp._display, ClaudeTuiApp.run

    def display(self, screen, renderable) -> None:  # type: ignore[no-untyped-def]
        real_display(self, screen, renderable)
        if renderable is None or not isinstance(screen, PlanScreen):
            return
        if not self._timed:
            self._timed.append(time.time() - t0)
        elif len(self._timed) == 1 and self.opened and screen.query("#tree"):
            self._timed.append(time.time() - t0)
            print(" ".join(f"{t:.4f}" for t in self._timed), flush=True)
            self.exit()

    def run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self._timed = []
        return real_run(self, headless=True, size=(120, 40))

    ClaudeTuiApp._display, ClaudeTuiApp.run = display, run
    cli_main(["--demo", repo])


def measure_command(root: Path) -> tuple[float, float]:
    """Seconds from starting `claude-tui REPO --demo` to its first frame of the plan view,
    and to the first frame with the plan in it."""
    import shutil
    import subprocess

    shutil.rmtree(root / ".claude-tui", ignore_errors=True)  # a first start, every time
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(root), str(t0)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    first, filled = out.strip().splitlines()[-1].split()
    return float(first), float(filled)


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--child"]:
        command_child(sys.argv[2], float(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true", help="refresh README.md's block")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="claude-tui-bench-") as tmp:
        os.environ["CLAUDE_TUI_CONFIG_DIR"] = str(Path(tmp) / "config")
        from tui_orchestrator.engine.config import load_config
        from tui_orchestrator.engine.project import open_project

        root = Path(tmp) / "repo"
        started = time.perf_counter()
        generate_repo(root, args.files, args.big)
        seconds = time.perf_counter() - started
        print(f"generated {args.files:,} files in {seconds:.1f} s", file=sys.stderr, flush=True)

        opens, firsts, expands, commands, filled = [], [], [], [], []
        for _ in range(args.runs):
            first, plan_shown = measure_command(root)
            commands.append(first)
            filled.append(plan_shown)
            started = time.perf_counter()
            project = open_project(root, load_config())
            opens.append(time.perf_counter() - started)
            first, expand = asyncio.run(measure_app(project, args.big))
            firsts.append(first)
            expands.append(expand)

        files = len(project.discovery.files)
        chunks = len(project.plan.chunks)
        print(
            f"repository: {files:,} files to review, {chunks:,} chunks, "
            f"{len(project.discovery.skipped):,} skipped",
            file=sys.stderr,
        )
    rows = [
        (f"discovery + partition, {files:,} files ({chunks:,} chunks)", opens, 2.0),
        ("app start to the first frame of the plan view (repository opened)", firsts, 1.0),
        ("`claude-tui REPO`: process start to the first frame of the plan view", commands, 1.0),
        ("`claude-tui REPO`: process start to the tree and chunks on screen", filled, None),
        (f"expand a folder of {args.big:,} files (key to frame)", expands, 0.2),
    ]
    failed = False
    lines = [f"| app (median of {args.runs} runs) | figure | goal | |", "|---|---:|---:|---|"]
    for label, values, goal in rows:
        median = statistics.median(values)
        if goal is None:
            lines.append(f"| {label} | {median * 1000:.0f} ms | | |")
            continue
        ok = median < goal
        failed |= not ok
        lines.append(
            f"| {label} | {median * 1000:.0f} ms | < {goal * 1000:.0f} ms | "
            f"{'met' if ok else 'MISSED'} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.write_readme:
        write_block(
            ROOT / "README.md",
            "app",
            table + f"\n\n(`benchmarks/bench_app_startup.py`, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, Textual headless)",
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
