"""A plan file edited after a run: the app shows the difference and asks; the user's file
is never rewritten with a plan they did not choose (docs/plan-and-checkpoint.md)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from tests.ui.scripted import ScriptedRunner
from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    CheckpointStore,
    ChunkState,
    ChunkStatus,
    file_hash,
)
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.open_run import OpenRun, RunOptions
from tui_orchestrator.engine.plan import load_plan_file
from tui_orchestrator.engine.statedir import default_checkpoint_path, default_plan_path
from tui_orchestrator.ui.app import ClaudeTuiApp
from tui_orchestrator.ui.opening import Opening, open_with_run
from tui_orchestrator.ui.screens.modals import PickerScreen

from .conftest import TEST_CONFIG, until


def finished_checkpoint(repo: Path) -> None:
    """The run of the fixed plan, every chunk done, lib with one finding."""
    plan = load_plan_file(default_plan_path(repo))
    chunks = []
    for n, chunk in enumerate(plan.chunks, 1):
        issues = []
        if chunk.name == "lib":
            issues = [Finding("lib/store/cache.go", 3, Severity.HIGH, "Cache race", "", "lib")]
        chunks.append(
            ChunkState(
                chunk.name,
                list(chunk.files),
                status=ChunkStatus.DONE,
                session_id=f"0000{n:04d}-0000-4000-8000-000000000000",
                attempts=1,
                hashes={f: file_hash(repo / f) for f in chunk.files},
                issues=issues,
            )
        )
    cp = Checkpoint(repo=str(repo), chunks=chunks, backend="claude")
    CheckpointStore(default_checkpoint_path(repo)).save(cp)


def open_app(repo: Path) -> tuple[ClaudeTuiApp, OpenRun]:
    run = OpenRun(repo, TEST_CONFIG, ScriptedRunner(), RunOptions(headless=False))
    # The fingerprint of the prompt and backend: a resumed run of the same prompt.
    run.take_lock()
    opening = Opening(repo, TEST_CONFIG, lambda progress: open_with_run(run, progress))
    return ClaudeTuiApp(opening=opening), run


def rename_lib_by_hand(repo: Path) -> bytes:
    plan_file = default_plan_path(repo)
    plan_file.write_text(plan_file.read_text().replace('name = "lib"', 'name = "library"'))
    return plan_file.read_bytes()


async def answer(pilot, app: ClaudeTuiApp, label: str) -> str:
    await until(
        pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen.query("#choices")
    )
    await pilot.pause()
    body = str(app.screen.query_one("#body-text", Static).render())
    options = app.screen.query_one("#choices")
    index = next(
        i
        for i in range(options.option_count)
        if str(options.get_option_at_index(i).prompt).startswith(label)
    )
    options.highlighted = index
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, PickerScreen))
    return body


async def test_following_a_renamed_chunk_keeps_its_findings_and_leaves_the_file_alone(
    shopfront: Path,
) -> None:
    finished_checkpoint(shopfront)
    hand_edit = rename_lib_by_hand(shopfront)
    app, run = open_app(shopfront)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            body = await answer(pilot, app, "Follow")
            assert "lib renamed to library" in body
            names = [c.name for c in app.manager.checkpoint.chunks]
            assert "library" in names and "lib" not in names
            library = app.manager.checkpoint.chunk("library")
            assert library.status is ChunkStatus.DONE
            assert [i.title for i in library.issues] == ["Cache race"]
            assert {i.chunk for i in library.issues} == {"library"}
            await pilot.press("q")
    finally:
        run.close()
    saved = CheckpointStore(default_checkpoint_path(shopfront)).load()
    assert saved is not None and saved.chunk("library").issues
    assert default_plan_path(shopfront).read_bytes() == hand_edit


async def test_keeping_the_runs_plan_leaves_the_plan_file_as_the_user_wrote_it(
    shopfront: Path,
) -> None:
    finished_checkpoint(shopfront)
    hand_edit = rename_lib_by_hand(shopfront)
    app, run = open_app(shopfront)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await answer(pilot, app, "Keep")
            assert "lib" in [c.name for c in app.manager.checkpoint.chunks]
            await pilot.press("q")
    finally:
        run.close()
    assert default_plan_path(shopfront).read_bytes() == hand_edit
    saved = CheckpointStore(default_checkpoint_path(shopfront)).load()
    assert saved is not None and saved.chunk("lib").issues


async def test_a_plan_file_that_agrees_with_the_run_is_not_rewritten_on_quit(
    shopfront: Path,
) -> None:
    finished_checkpoint(shopfront)
    plan_file = default_plan_path(shopfront)
    before = plan_file.read_bytes()
    app, run = open_app(shopfront)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.opened)
            await pilot.pause(0.2)
            assert not isinstance(app.screen, PickerScreen)
            await pilot.press("q")
    finally:
        run.close()
    assert plan_file.read_bytes() == before
