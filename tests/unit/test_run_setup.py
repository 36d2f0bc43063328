"""Which plan a run uses, stale chunks, and an edited plan applied to a checkpoint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tui_orchestrator.engine.checkpoint import Checkpoint, ChunkState, ChunkStatus
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.plan import Chunk
from tui_orchestrator.engine.run_setup import apply_plan, plan_of


def _done(name: str, files: list[str]) -> ChunkState:
    return ChunkState(
        name,
        files,
        status=ChunkStatus.DONE,
        session_id="s-" + name,
        files_read=list(files),
        hashes={f: "h" for f in files},
        issues=[Finding(f, 1, Severity.LOW, "t", "d", name) for f in files],
    )


def test_apply_plan_keeps_done_work_and_requeues_only_added_files() -> None:
    cp = Checkpoint(repo="/r", chunks=[_done("a", ["a/1.py", "a/2.py"]), _done("b", ["b/1.py"])])
    plan = plan_of(cp)
    edited = replace(
        plan,
        chunks=(
            Chunk("a", ("a/1.py", "b/1.py")),  # a/2.py left, b/1.py joined
            Chunk("c", ("a/2.py",)),  # a new chunk
        ),
    )
    notes = apply_plan(cp, edited)
    a, c = cp.chunks
    assert [s.name for s in cp.chunks] == ["a", "c"]
    assert a.status is ChunkStatus.PENDING and a.todo == ["b/1.py"]
    assert a.session_id == ""  # a fresh session for the new file
    assert [i.file for i in a.issues] == ["a/1.py"]  # a/2.py's finding left with it
    assert c.status is ChunkStatus.PENDING and c.files == ["a/2.py"]
    assert any("no longer in the plan: b" in n for n in notes)


def test_apply_plan_with_unchanged_chunks_changes_nothing() -> None:
    cp = Checkpoint(repo="/r", chunks=[_done("a", ["a/1.py"])])
    before = repr(cp.chunks)
    assert apply_plan(cp, plan_of(cp)) == []
    assert repr(cp.chunks) == before


def test_plan_of_round_trips_names_files_and_priority(tmp_path: Path) -> None:
    state = ChunkState("x", ["f.py"], priority=3)
    plan = plan_of(Checkpoint(repo=str(tmp_path), chunks=[state]))
    assert plan.chunks == (Chunk("x", ("f.py",), 3),)
