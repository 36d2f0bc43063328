"""The checkpoint: every chunk's state and findings, in TOML, written atomically.

This module is the one place the checkpoint is read and written. The schema is docs/plan-and-checkpoint.md §6
(every key always present; "" or 0 means none). Writes go through a temp file in the same
folder (flush, fsync, rename), so a crash never leaves a torn file. ``CheckpointWriter``
coalesces progress-only changes into one write and writes urgent ones at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from tui_orchestrator.engine.atomic import write_text_atomic
from tui_orchestrator.engine.changes import Changes
from tui_orchestrator.engine.errors import CheckpointError, ClaudeTuiError
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.statedir import ensure_state_dir
from tui_orchestrator.engine.text import finite_number
from tui_orchestrator.engine.tomlout import toml_array, toml_float, toml_str
from tui_orchestrator.engine.verify import FindingVerdict, VerdictKind

CHECKPOINT_VERSION = 1


class ChunkStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (ChunkStatus.DONE, ChunkStatus.FAILED, ChunkStatus.CANCELLED)


@dataclass(slots=True)
class ChunkState:
    """One chunk's record: identity, status, session, spend, progress and findings."""

    name: str
    files: list[str]
    status: ChunkStatus = ChunkStatus.PENDING
    session_id: str = ""
    attempts: int = 0
    # Of the attempts, those that continued an interrupted session (not new tries).
    resumes: int = 0
    cost_usd: float = 0.0
    error: str = ""
    priority: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    elapsed_s: float = 0.0
    # Files the agent has read (progress; a resumed session is told what is left).
    files_read: list[str] = field(default_factory=list)
    # Files the next attempt must review; empty means all (incremental re-runs fill it).
    todo: list[str] = field(default_factory=list)
    # Content hash of each file when the chunk finished, to find stale chunks later.
    hashes: dict[str, str] = field(default_factory=dict)
    issues: list[Finding] = field(default_factory=list)
    # The machine that runs the chunk ("" = this one).
    host: str = ""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def progress(self) -> float:
        if self.status is ChunkStatus.DONE:
            return 1.0
        if not self.files:
            return 0.0
        return min(1.0, len(set(self.files_read) & set(self.files)) / len(self.files))


@dataclass(slots=True)
class Checkpoint:
    """A run's state, in the plan's chunk order."""

    repo: str
    chunks: list[ChunkState]
    created: str = ""
    updated: str = ""
    wall_s: float = 0.0
    backend: str = "claude"
    # A hash of the prompt: changing a custom prompt makes every chunk stale.
    fingerprint: str = ""
    max_budget_usd: float = 0.0
    # Files the plan leaves in no chunk, and files the user excluded: neither is reviewed,
    # and a later run leaves them so (only files in no plan at all join a chunk).
    unassigned: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    # A usage limit the run waits for: its reset (epoch seconds; 0: none) and its window.
    # A restart during the window waits too, instead of asking the API again.
    usage_limit_until: float = 0.0
    usage_limit_window: str = ""
    # Verification (verify.py): the verdicts by fingerprint, and what verification spent
    # before this process (what it spends now is in ``verifications``).
    verdicts: dict[str, FindingVerdict] = field(default_factory=dict)
    verify_cost_before: float = 0.0
    verify_tokens_before: int = 0
    # This process's verification tasks (not written: an unanswered one is asked again,
    # an answered one left its verdicts).
    verifications: list[ChunkState] = field(default_factory=list)
    # A change review's (``--since``, changes.py): the ref, its merge-base and the changed
    # lines of each file, as they were when the run last started (reports say ``in_diff``).
    change: Changes | None = None

    def __post_init__(self) -> None:
        if not self.created:
            self.created = now_iso()
        if not self.updated:
            self.updated = self.created

    def chunk(self, name: str) -> ChunkState:
        """A chunk, or a verification task, by name."""
        for state in self.chunks:
            if state.name == name:
                return state
        for state in self.verifications:
            if state.name == name:
                return state
        raise KeyError(name)

    @property
    def verify_cost_usd(self) -> float:
        return self.verify_cost_before + sum(v.cost_usd for v in self.verifications)

    @property
    def verify_tokens(self) -> int:
        return self.verify_tokens_before + sum(v.tokens for v in self.verifications)

    @property
    def cost_usd(self) -> float:
        """Reviews and verification."""
        return sum(c.cost_usd for c in self.chunks) + self.verify_cost_usd

    @property
    def unfinished(self) -> list[ChunkState]:
        return [c for c in self.chunks if c.status is not ChunkStatus.DONE]

    def findings(self) -> list[Finding]:
        return [f for c in self.chunks for f in c.issues]


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def file_hash(path: Path) -> str:
    """A content hash of one file ('' when it cannot be read)."""
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=12).hexdigest()
    except OSError:
        return ""


def checkpoint_to_toml(checkpoint: Checkpoint) -> str:
    """The checkpoint's text. A dedicated emitter: several times faster than tomli-w."""
    out = [
        "# claude-tui checkpoint: the state of a run, rewritten as it goes. Do not edit while",
        "# claude-tui runs; `claude-tui report` turns it into a report.",
        f"version = {CHECKPOINT_VERSION}",
        f"repo = {toml_str(checkpoint.repo)}",
        f"created = {toml_str(checkpoint.created)}",
        f"updated = {toml_str(checkpoint.updated)}",
        f"wall_s = {toml_float(checkpoint.wall_s)}",
        f"backend = {toml_str(checkpoint.backend)}",
        f"fingerprint = {toml_str(checkpoint.fingerprint)}",
        f"max_budget_usd = {toml_float(checkpoint.max_budget_usd)}",
        f"unassigned = {toml_array(checkpoint.unassigned)}",
        f"excluded = {toml_array(checkpoint.excluded)}",
    ]
    if checkpoint.usage_limit_until:
        out.append(f"usage_limit_until = {toml_float(checkpoint.usage_limit_until)}")
        out.append(f"usage_limit_window = {toml_str(checkpoint.usage_limit_window)}")
    if checkpoint.verify_cost_usd or checkpoint.verdicts:
        out.append(f"verify_cost_usd = {toml_float(checkpoint.verify_cost_usd)}")
        out.append(f"verify_tokens = {checkpoint.verify_tokens}")
    append = out.append
    for c in checkpoint.chunks:
        append("")
        append("[[chunks]]")
        append(f"name = {toml_str(c.name)}")
        append(f"status = {toml_str(c.status.value)}")
        append(f"session_id = {toml_str(c.session_id)}")
        append(f"attempts = {c.attempts}")
        if c.resumes:
            append(f"resumes = {c.resumes}")
        append(f"cost_usd = {toml_float(c.cost_usd)}")
        append(f"error = {toml_str(c.error)}")
        append(f"priority = {c.priority}")
        append(f"input_tokens = {c.input_tokens}")
        append(f"output_tokens = {c.output_tokens}")
        append(f"elapsed_s = {toml_float(c.elapsed_s)}")
        append(f"host = {toml_str(c.host)}")
        append(f"files = {toml_array(c.files)}")
        append(f"files_read = {toml_array(c.files_read)}")
        append(f"todo = {toml_array(c.todo)}")
        if c.hashes:
            append("[chunks.hashes]")
            for path, digest in c.hashes.items():
                append(f"{toml_str(path)} = {toml_str(digest)}")
        for f in c.issues:
            append("[[chunks.issues]]")
            append(f"file = {toml_str(f.file)}")
            append(f"line = {f.line}")
            append(f"severity = {toml_str(f.severity.value)}")
            append(f"title = {toml_str(f.title)}")
            append(f"description = {toml_str(f.description)}")
            append(f"category = {toml_str(f.category)}")
            append(f"confidence = {toml_str(f.confidence)}")
            append(f"evidence = {toml_str(f.evidence)}")
            append(f"fingerprint = {toml_str(f.fingerprint)}")
    for fp, verdict in checkpoint.verdicts.items():
        append("")
        append("[[verdicts]]")
        append(f"fingerprint = {toml_str(fp)}")
        append(f"verdict = {toml_str(verdict.verdict.value)}")
        append(f"reason = {toml_str(verdict.reason)}")
    if checkpoint.change is not None:
        append("")
        append("[change]")
        append(f"since = {toml_str(checkpoint.change.ref)}")
        append(f"base = {toml_str(checkpoint.change.base)}")
        for path, ranges in checkpoint.change.files.items():
            append("[[change.files]]")
            append(f"path = {toml_str(path)}")
            append(f"lines = [{', '.join(f'[{a}, {b}]' for a, b in ranges)}]")
    return "\n".join(out) + "\n"


def checkpoint_from_toml(text: str, source: str = "checkpoint") -> Checkpoint:
    """Parse a checkpoint; any problem is a CheckpointError (the file is left alone)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CheckpointError(
            f"checkpoint {source} cannot be parsed ({exc}); left in place "
            "(`claude-tui run --fresh` moves it aside and starts over)"
        ) from None

    def bad(what: str) -> CheckpointError:
        return CheckpointError(
            f"checkpoint {source}: {what}; left in place (`claude-tui run --fresh` moves it aside)"
        )

    if data.get("version") != CHECKPOINT_VERSION:
        raise bad(f"unsupported version {data.get('version')!r}")
    raw_chunks = data.get("chunks", [])
    if not isinstance(raw_chunks, list):
        raise bad("'chunks' must be an array of tables")
    chunks = []
    try:
        for raw in raw_chunks:
            issues = [
                Finding(
                    file=str(i["file"]),
                    line=_whole(i, "line", required=True),
                    # Strict here (we wrote it): a hand edit to "urgent" must not
                    # quietly become info. Model output goes through Severity.parse.
                    severity=Severity(i["severity"]),
                    title=str(i["title"]),
                    description=str(i.get("description", "")),
                    chunk=str(raw["name"]),
                    # (Absent from checkpoints written before they existed.)
                    category=str(i.get("category", "")),
                    confidence=str(i.get("confidence", "")),
                    evidence=str(i.get("evidence", "")),
                    fingerprint=str(i.get("fingerprint", "")),
                )
                for i in raw.get("issues", [])
            ]
            chunks.append(
                ChunkState(
                    name=str(raw["name"]),
                    files=_paths(raw["files"], "files"),
                    status=ChunkStatus(raw["status"]),
                    session_id=str(raw.get("session_id", "")),
                    attempts=_whole(raw, "attempts"),
                    resumes=_whole(raw, "resumes"),
                    cost_usd=_amount(raw, "cost_usd"),
                    error=str(raw.get("error", "")),
                    priority=_whole(raw, "priority", minimum=None),
                    input_tokens=_whole(raw, "input_tokens"),
                    output_tokens=_whole(raw, "output_tokens"),
                    elapsed_s=_amount(raw, "elapsed_s"),
                    host=str(raw.get("host", "")),
                    files_read=_paths(raw.get("files_read", []), "files_read"),
                    todo=_paths(raw.get("todo", []), "todo"),
                    hashes={str(k): str(v) for k, v in raw.get("hashes", {}).items()},
                    issues=issues,
                )
            )
        return Checkpoint(
            repo=str(data["repo"]),
            chunks=chunks,
            created=str(data.get("created", "")),
            updated=str(data.get("updated", "")),
            wall_s=_amount(data, "wall_s"),
            backend=str(data.get("backend", "claude")),
            fingerprint=str(data.get("fingerprint", "")),
            max_budget_usd=_amount(data, "max_budget_usd"),
            unassigned=_paths(data.get("unassigned", []), "unassigned"),
            excluded=_paths(data.get("excluded", []), "excluded"),
            usage_limit_until=_amount(data, "usage_limit_until"),
            usage_limit_window=str(data.get("usage_limit_window", "")),
            verdicts=_verdicts(data.get("verdicts", [])),
            verify_cost_before=_amount(data, "verify_cost_usd"),
            verify_tokens_before=_whole(data, "verify_tokens"),
            change=_change(data["change"]) if "change" in data else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise bad(f"malformed ({type(exc).__name__}: {exc})") from None


def _verdicts(raw: object) -> dict[str, FindingVerdict]:
    if not isinstance(raw, list):
        raise TypeError("'verdicts' must be an array of tables")
    verdicts = {}
    for item in raw:
        kind = VerdictKind(item["verdict"])
        if kind is VerdictKind.UNVERIFIED:
            raise ValueError("a verdict cannot be 'unverified'")
        verdicts[str(item["fingerprint"])] = FindingVerdict(kind, str(item.get("reason", "")))
    return verdicts


def _change(raw: object) -> Changes:
    if not isinstance(raw, dict):
        raise TypeError("'change' must be a table")
    files: dict[str, tuple[tuple[int, int], ...]] = {}
    for item in raw.get("files", []):
        ranges = []
        for pair in item["lines"]:
            first, last = pair
            if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in pair):
                raise ValueError(f"'change' lines must be whole numbers, not {pair!r}")
            ranges.append((first, last))
        files[_paths([item["path"]], "change.files.path")[0]] = tuple(ranges)
    return Changes(str(raw["since"]), str(raw["base"]), files)


def _whole(
    table: dict[str, object], key: str, *, minimum: int | None = 0, required: bool = False
) -> int:
    """An integer field: a float (``inf``, ``1e300``, even ``2.0``) or a bool is no count."""
    value = table[key] if required else table.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key!r} must be a whole number, not {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{key!r} must be at least {minimum}, not {value!r}")
    return value


def _amount(table: dict[str, object], key: str) -> float:
    """A cost or duration: a finite number, not negative (a NaN cost disables the budget)."""
    value = table.get(key, 0.0)
    number = finite_number(value)
    if number is None:
        raise ValueError(f"{key!r} must be a finite number of at least 0, not {value!r}")
    return number


def _paths(value: object, key: str) -> list[str]:
    """A list of paths, or a TypeError naming the key (a string is not a list of paths)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{key!r} must be a list of paths")
    return list(value)


class CheckpointStore:
    """Reads and writes one checkpoint file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writes = 0

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> Checkpoint | None:
        """The saved checkpoint, or None when there is none."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"cannot read checkpoint {self.path}: {exc}") from None
        return checkpoint_from_toml(text, str(self.path))

    def save(self, checkpoint: Checkpoint) -> None:
        self.write_text(self.render(checkpoint))

    def render(self, checkpoint: Checkpoint) -> str:
        checkpoint.updated = now_iso()
        return checkpoint_to_toml(checkpoint)

    def write_text(self, text: str) -> None:
        ensure_state_dir(self.path.parent)
        write_text_atomic(self.path, text)
        self.writes += 1

    def remove_stale_temp_files(self) -> int:
        """Delete temp files a killed writer left beside the checkpoint (call under the lock)."""
        removed = 0
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            try:
                leftover.unlink()
                removed += 1
            except OSError:
                pass
        return removed

    def move_aside(self) -> Path | None:
        """Rename the checkpoint to a dated backup (``--fresh``); returns the backup path."""
        if not self.path.exists():
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = self.path.with_name(f"{self.path.stem}.{stamp}.bak{self.path.suffix}")
        n = 2
        while backup.exists():
            backup = self.path.with_name(f"{self.path.stem}.{stamp}-{n}.bak{self.path.suffix}")
            n += 1
        os.replace(self.path, backup)
        return backup


# While the checkpoint cannot be written (a full disk), it is tried again this often.
RETRY_WRITE_S = 5.0


def write_error_text(exc: BaseException) -> str:
    """Why a write failed, in a few words; a full disk says so first."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"disk full ({exc.strerror})"
        return exc.strerror or str(exc)
    return str(exc)


class CheckpointWriter:
    """Writes the checkpoint when the run's state changes, coalescing bursts.

    ``changed()`` schedules one write ``delay`` seconds later however many changes come
    meanwhile; ``await write_now()`` writes at once (a chunk finished, a new session id).
    The text is rendered on the event loop (a few ms) and written in a thread.
    """

    def __init__(
        self,
        store: CheckpointStore,
        snapshot: Callable[[], Checkpoint],
        delay: float = 0.5,
        on_fault: Callable[[str], None] | None = None,
        retry_s: float = RETRY_WRITE_S,
    ) -> None:
        self.store = store
        self.snapshot = snapshot
        self.delay = delay
        # Told when writes start failing (why) and when one succeeds again ("").
        self.on_fault = on_fault
        self.retry_s = retry_s
        # Why the last write failed; "" while the file on disk holds the latest state.
        self.fault = ""
        # When a write last reached the disk (ISO time; "" before the first).
        self.saved_at = ""
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None
        self._urgent: set[asyncio.Task[None]] = set()
        self._retry: asyncio.Task[None] | None = None
        self._started = time.monotonic()

    def changed(self) -> None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._later())

    def urgent(self) -> None:
        """Write as soon as the loop can, from code that cannot await (a user command)."""
        task = asyncio.get_running_loop().create_task(self.write_now())
        self._urgent.add(task)
        task.add_done_callback(self._urgent.discard)

    async def _later(self) -> None:
        await asyncio.sleep(self.delay)
        # Once writing, finish even if close() cancels us: a newer write must not be
        # overtaken by this older one.
        await asyncio.shield(self.write_now())

    async def write_now(self) -> None:
        """Write the current state; a write that fails is retried every ``retry_s``.

        Never raises for the disk's sake: the state stays in memory (``fault`` says why it
        is not on disk) and the file keeps the last state written, whole.
        """
        async with self._lock:
            text = self.store.render(self.snapshot())
            try:
                await asyncio.to_thread(self.store.write_text, text)
            except (OSError, ClaudeTuiError) as exc:
                self._failed(write_error_text(exc))
                return
            self.saved_at = now_iso()
            if self.fault:
                self.fault = ""
                if self.on_fault is not None:
                    self.on_fault("")

    def _failed(self, why: str) -> None:
        first = not self.fault
        self.fault = why
        if first and self.on_fault is not None:
            self.on_fault(why)
        if self._retry is None or self._retry.done():
            self._retry = asyncio.get_running_loop().create_task(self._retry_later())

    async def _retry_later(self) -> None:
        await asyncio.sleep(self.retry_s)
        self._retry = None  # so that a failure now schedules the next try
        await asyncio.shield(self.write_now())

    async def _cancel_retry(self) -> None:
        retry, self._retry = self._retry, None
        if retry is not None and not retry.done():
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry

    async def close(self) -> None:
        """Cancel a pending coalesced write and write the final state (tried once: on a full
        disk ``fault`` stays set and the file keeps its last state)."""
        await self._cancel_retry()
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
            try:
                await self._pending
            except asyncio.CancelledError:
                pass
        if self._urgent:
            await asyncio.gather(*self._urgent)
        await self.write_now()
        await self._cancel_retry()
