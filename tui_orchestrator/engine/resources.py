"""How many Claude Code processes this machine can hold (about 300 MB each, docs/claude-code.md §2)."""

from __future__ import annotations

from tui_orchestrator.engine.wording import agree, plural

PER_WORKER_BYTES = 300 * 1024 * 1024


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where there is no such file)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_cap(requested: int, available: int | None = None) -> tuple[int, str]:
    """The worker count that fits in free memory, and a warning when it is below the request."""
    free = available_memory() if available is None else available
    if free is None:
        return requested, ""
    fits = max(1, free // PER_WORKER_BYTES)
    if requested <= fits:
        return requested, ""
    return fits, (
        f"{requested} workers need about {requested * 300} MB but {free // 2**20} MB is free: "
        f"capped at {fits}"
    )


def growth_cap(target: int, running: int, available: int | None = None) -> tuple[int, str]:
    """The worker count to grow to while ``running`` processes already hold their memory.

    Free memory already leaves out what running workers take: only the new ones must fit.
    """
    free = available_memory() if available is None else available
    if free is None:
        return target, ""
    fits = max(1, running + free // PER_WORKER_BYTES)
    if target <= fits:
        return target, ""
    return fits, (
        f"{plural(target - running, 'more worker')} {agree(target - running, 'needs', 'need')} "
        f"about {(target - running) * 300} MB but {free // 2**20} MB is free: capped at {fits}"
    )
