"""Did a worker change the files it reviewed?

Workers get read-only tools, but a ``--claude-bin`` wrapper may not: the chunk's files are
hashed before its process starts and after it ends, and a change is named to the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from tui_orchestrator.engine.checkpoint import file_hash

SHOWN = 10


def hash_files(root: Path, files: Iterable[str]) -> dict[str, str]:
    return {f: file_hash(root / f) for f in files}


def changed_files(root: Path, before: Mapping[str, str]) -> list[str]:
    """The files whose contents differ from their hashes in ``before``."""
    return [f for f, digest in before.items() if file_hash(root / f) != digest]


def changed_text(chunk: str, changed: list[str]) -> str:
    shown = ", ".join(changed[:SHOWN])
    if len(changed) > SHOWN:
        shown += f" and {len(changed) - SHOWN} more"
    return (
        f"files changed while chunk {chunk} was reviewed: {shown} — a worker may have written them"
    )
