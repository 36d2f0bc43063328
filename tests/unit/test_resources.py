"""The memory-aware worker cap: about 300 MB a Claude Code process (SPEC §6)."""

from __future__ import annotations

from tui_orchestrator.engine.resources import (
    PER_WORKER_BYTES,
    available_memory,
    growth_cap,
    memory_cap,
)


def test_workers_that_fit_are_left_alone() -> None:
    assert memory_cap(4, available=10 * PER_WORKER_BYTES) == (4, "")


def test_too_many_workers_are_capped_with_a_warning() -> None:
    workers, warning = memory_cap(64, available=8 * PER_WORKER_BYTES + 5)
    assert workers == 8
    assert "64 workers" in warning and "capped at 8" in warning


def test_at_least_one_worker_even_when_memory_is_short() -> None:
    assert memory_cap(4, available=10)[0] == 1


def test_this_machine_reports_its_free_memory() -> None:
    free = available_memory()
    assert free is None or free > 0


def test_growing_counts_only_the_new_workers_against_free_memory() -> None:
    # Four run already (their memory is no longer free); room for two more.
    assert growth_cap(6, running=4, available=2 * PER_WORKER_BYTES) == (6, "")
    workers, warning = growth_cap(8, running=4, available=2 * PER_WORKER_BYTES)
    assert workers == 6 and "4 more workers" in warning and "capped at 6" in warning
