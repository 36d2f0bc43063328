"""File lists for partition tests and benchmarks (no files on disk)."""

from __future__ import annotations

import random

from tui_orchestrator.engine.discovery import SourceFile


def skewed_files(count: int, seed: int = 1) -> list[SourceFile]:
    """40% of the files in one folder, the rest spread over many; sizes vary 10x (1-10 kB).

    The shape that makes a by-folder plan lopsided: what ``balanced`` is measured on.
    """
    rng = random.Random(seed)
    files = []
    for i in range(count):
        if i < count * 0.4:
            folder = "src/monolith"
        else:
            folder = f"src/mod{rng.randrange(max(1, count // 40))}/part{rng.randrange(3)}"
        files.append(SourceFile(f"{folder}/file{i}.py", rng.randint(1_000, 10_000)))
    return files
