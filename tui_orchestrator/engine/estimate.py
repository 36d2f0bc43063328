"""Rough figures for a plan: tokens, cost, time, and the predicted makespan.

The estimates are deliberately simple and documented, so users can judge them: work is
measured in estimated tokens (bytes / 4); an agent reads each file about once and the
conversation is re-sent every turn, so a chunk costs a few times its tokens.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from tui_orchestrator.engine.plan import Plan

# Input tokens a worker spends for each token of its files (re-sent context, tool results).
CONTEXT_FACTOR = 3.0
# System prompt and tool definitions, sent with each of a few turns.
FIXED_INPUT_TOKENS = 40_000
OUTPUT_TOKENS_PER_FILE = 300
# Sonnet-class list prices, USD per million tokens.
PRICE_INPUT_PER_MTOK = 3.0
PRICE_OUTPUT_PER_MTOK = 15.0
# Prompt caching: writing the cache costs 1.25x input, reading it 0.1x.
PRICE_CACHE_WRITE_PER_MTOK = 3.75
PRICE_CACHE_READ_PER_MTOK = 0.30
# Verification (docs/verification.md): the share of reviewed files expected to hold a
# finding the mode verifies (a guess, said as one: repositories differ widely), read again
# by sessions that judge up to VERIFY_FILES_PER_SESSION files each.
VERIFY_FILE_SHARE = {"off": 0.0, "high": 0.15, "all": 0.4}
VERIFY_FILES_PER_SESSION = 8
# Model throughput and per-chunk start-up, for the time estimate.
SECONDS_PER_CHUNK = 20.0
TOKENS_PER_SECOND = 400.0


def chunk_cost_usd(tokens: int, files: int) -> float:
    """Estimated cost of reviewing a chunk of ``files`` files holding ``tokens`` tokens."""
    input_tokens = FIXED_INPUT_TOKENS + CONTEXT_FACTOR * tokens
    output_tokens = OUTPUT_TOKENS_PER_FILE * files
    return (input_tokens * PRICE_INPUT_PER_MTOK + output_tokens * PRICE_OUTPUT_PER_MTOK) / 1e6


def spent_usd(input_tokens: int, cache_write: int, cache_read: int, output_tokens: int) -> float:
    """What tokens spent so far cost at list prices: a running figure while a worker runs,
    until its result gives the real cost."""
    return (
        input_tokens * PRICE_INPUT_PER_MTOK
        + cache_write * PRICE_CACHE_WRITE_PER_MTOK
        + cache_read * PRICE_CACHE_READ_PER_MTOK
        + output_tokens * PRICE_OUTPUT_PER_MTOK
    ) / 1e6


def _verify_cost(share: float, files_cost: float, files: int) -> float:
    """The share of the files read again, and the fixed part of the sessions they need."""
    if not share or not files:
        return 0.0
    sessions = -(-round(share * files) // VERIFY_FILES_PER_SESSION) or 1
    return share * files_cost + sessions * chunk_cost_usd(0, 0)


def chunk_seconds(tokens: int) -> float:
    """Estimated wall time of one chunk."""
    return SECONDS_PER_CHUNK + tokens / TOKENS_PER_SECOND


def makespan(works: Iterable[float], chunk_workers: int) -> float:
    """Finish time of the works on ``chunk_workers`` workers at once, dispatched longest first.

    This is what the manager does (longest chunk first, a free worker takes the next),
    so it is the plan's predicted makespan.
    """
    ordered = sorted(works, reverse=True)
    if not ordered:
        return 0.0
    loads = [0.0] * min(chunk_workers, len(ordered))
    heapq.heapify(loads)
    for work in ordered:
        heapq.heappush(loads, heapq.heappop(loads) + work)
    return max(loads)


def lower_bound(file_works: Sequence[float], chunk_workers: int) -> float:
    """No schedule can beat max(total / chunk_workers, largest single file)."""
    if not file_works:
        return 0.0
    return max(sum(file_works) / chunk_workers, max(file_works))


@dataclass(slots=True, frozen=True)
class ChunkFigures:
    """What the plan view and ``claude-tui plan`` show for one chunk."""

    name: str
    files: int
    lines: int | None
    bytes: int
    tokens: int
    cost_usd: float
    seconds: float
    priority: int = 0


def seconds_left(figures: PlanFigures, left: Mapping[str, float], chunk_workers: int) -> float:
    """The predicted time the rest of a run takes: each chunk's estimated time times the
    share of it ``left`` (1 untouched, 0 done; a chunk not named counts whole), scheduled
    as ``makespan`` does."""
    works = [row.seconds * left.get(row.name, 1.0) for row in figures.chunks]
    return makespan([w for w in works if w > 0], chunk_workers)


def run_order(rows: Iterable[ChunkFigures]) -> list[ChunkFigures]:
    """The order a run starts the chunks: higher priority first, then the larger (the
    manager's queue, ``ChunkBook.queue``); ties keep the plan's order."""
    return sorted(rows, key=lambda row: (-row.priority, -row.bytes))


@dataclass(slots=True, frozen=True)
class PlanFigures:
    chunks: list[ChunkFigures]
    chunk_workers: int
    files: int
    bytes: int
    tokens: int
    cost_usd: float
    # Predicted wall time (longest chunk first on ``chunk_workers``) and the bound no plan beats.
    makespan_s: float
    lower_bound_s: float
    sequential_s: float
    # What verification may add (VERIFY_FILE_SHARE of the files, one session each).
    verify_cost_usd: float = 0.0


def plan_figures(
    plan: Plan,
    sizes: Mapping[str, int],
    chunk_workers: int,
    count_lines: Callable[[str], int] | None = None,
    verify: str = "off",
) -> PlanFigures:
    """Figures for each chunk and the whole plan; lines only when a counter is given;
    ``verify``: the verification mode, for what it may add to the cost."""
    rows = []
    file_seconds = []
    verify_files = 0.0  # what reading each file again costs, without a session's fixed part
    for chunk in plan.chunks:
        size = sum(sizes.get(p, 0) for p in chunk.files)
        tokens = sum(max(1, sizes.get(p, 0) // 4) for p in chunk.files)
        file_seconds.extend(max(1, sizes.get(p, 0) // 4) / TOKENS_PER_SECOND for p in chunk.files)
        verify_files += sum(
            chunk_cost_usd(max(1, sizes.get(p, 0) // 4), 1) - chunk_cost_usd(0, 0)
            for p in chunk.files
        )
        rows.append(
            ChunkFigures(
                name=chunk.name,
                files=len(chunk.files),
                lines=None if count_lines is None else sum(count_lines(p) for p in chunk.files),
                bytes=size,
                tokens=tokens,
                cost_usd=chunk_cost_usd(tokens, len(chunk.files)),
                seconds=chunk_seconds(tokens),
                priority=chunk.priority,
            )
        )
    seconds = [r.seconds for r in rows]
    # No plan beats the work spread evenly, plus the start-ups of the fewest chunks the
    # file limit allows, spread over the chunk workers.
    fewest = -(-len(file_seconds) // max(1, plan.max_files_per_chunk))
    bound = lower_bound(file_seconds, chunk_workers) + SECONDS_PER_CHUNK * max(
        1, -(-fewest // chunk_workers)
    )
    return PlanFigures(
        chunks=rows,
        chunk_workers=chunk_workers,
        files=sum(r.files for r in rows),
        bytes=sum(r.bytes for r in rows),
        tokens=sum(r.tokens for r in rows),
        cost_usd=sum(r.cost_usd for r in rows),
        makespan_s=makespan(seconds, chunk_workers),
        lower_bound_s=bound if rows else 0.0,
        sequential_s=sum(seconds),
        verify_cost_usd=_verify_cost(
            VERIFY_FILE_SHARE.get(verify, 0.0), verify_files, len(file_seconds)
        ),
    )
