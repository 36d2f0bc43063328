"""The checkpoint's writes during a run, and what the user hears when they fail.

A run writes its checkpoint through one ``CheckpointWriter`` (coalesced for progress, at
once for new sessions and finished chunks). This module adds what a run needs around it:
the wall time the run has taken so far, the first write that must succeed before any
chunk starts, and the notices of a disk that fills up and empties again.
"""

from __future__ import annotations

from collections.abc import Callable

from tui_orchestrator.engine.checkpoint import Checkpoint, CheckpointStore, CheckpointWriter
from tui_orchestrator.engine.errors import WriteError
from tui_orchestrator.engine.events import Event, Notice, Topic


class RunSaving:
    """A run's checkpoint writes; see the module docstring."""

    def __init__(
        self,
        store: CheckpointStore,
        checkpoint: Checkpoint,
        *,
        emit: Callable[[Event], None],
        now: Callable[[], float],
        changed: Callable[[], None],
        delay: float = 0.5,
    ) -> None:
        self.store = store
        self.checkpoint = checkpoint
        self._emit = emit
        self._now = now
        # Told when saving stops or works again: the pool may start chunks (or not).
        self._changed = changed
        self.writer = CheckpointWriter(store, self._snapshot, delay=delay, on_fault=self._fault)
        self._wall_base = checkpoint.wall_s
        self._run_started: float | None = None

    @property
    def fault(self) -> str:
        """Why the checkpoint cannot be saved ("disk full (...)"); "" while it can."""
        return self.writer.fault

    def _snapshot(self) -> Checkpoint:
        if self._run_started is not None:
            self.checkpoint.wall_s = self._wall_base + (self._now() - self._run_started)
        return self.checkpoint

    async def begin(self) -> WriteError | None:
        """The run starts: its first write must succeed (a full or read-only disk at the
        start ends it with one line), else nothing could be resumed."""
        self._run_started = self._now()
        self._wall_base = self.checkpoint.wall_s
        await self.writer.write_now()
        if self.writer.fault and not self.writer.saved_at:
            return WriteError(f"cannot write the checkpoint {self.store.path}: {self.fault}")
        return None

    async def end(self) -> None:
        """The run ends: the last write (tried once), and a word if the file is behind."""
        await self.writer.close()
        self._run_started = None
        if self.writer.fault and self.writer.saved_at:
            text = (
                f"the checkpoint could not be saved ({self.fault}): {self.store.path} holds "
                f"the run as of {self.writer.saved_at}; the next run resumes from there"
            )
            self._emit(Notice("error", text, Topic.DISK))

    def _fault(self, why: str) -> None:
        """Writes failed (``why``) or work again (""): no chunk starts meanwhile, since a
        start must have its session id on disk; running ones go on and their results wait
        in memory for the next write that succeeds."""
        if not self.writer.saved_at:
            return  # the start itself fails with this (begin)
        if why:
            text = (
                f"{why}: the checkpoint cannot be saved; no new chunk starts until it can "
                f"(running ones go on), trying again every {self.writer.retry_s:g}s"
            )
            self._emit(Notice("error", text, Topic.DISK))
        else:
            self._emit(Notice("info", "the checkpoint is saved again: new chunks start"))
        self._changed()
