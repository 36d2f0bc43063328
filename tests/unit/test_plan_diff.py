"""What differs between plan.toml and the run's plan, in the words the app's dialog and
the headless refusal use."""

from __future__ import annotations

from tui_orchestrator.engine.plan import Chunk, Plan
from tui_orchestrator.engine.plan_diff import UNASSIGNED, diff_plans, plan_to_apply

RUN = Plan(
    chunks=(
        Chunk("api", ("src/api/a.py", "src/api/b.py")),
        Chunk("web", ("web/x.ts", "web/y.ts")),
        Chunk("docs", ("docs/build.py",)),
    )
)
PRESENT = {*RUN.all_files(), "src/api/new.py"}


def test_a_renamed_chunk_is_a_rename_and_no_file_moves() -> None:
    wanted = Plan(chunks=(Chunk("backend", RUN.chunks[0].files), *RUN.chunks[1:]))
    diff = diff_plans(RUN, wanted, PRESENT)
    assert diff.renamed == (("api", "backend"),)
    assert not diff.added and not diff.removed and not diff.moved
    assert diff.summary() == "1 chunk renamed (api → backend)"


def test_a_removed_chunk_says_how_many_files_it_leaves_unassigned_only_when_it_does() -> None:
    # 'docs' goes: its file is left unassigned. 'web' goes: its files join 'api'.
    merged = Chunk("api", (*RUN.chunks[0].files, *RUN.chunks[1].files))
    wanted = Plan(chunks=(merged,), unassigned=("docs/build.py",))
    diff = diff_plans(RUN, wanted, PRESENT)
    assert set(diff.removed) == {"web", "docs"}
    lines = diff.lines()
    assert "- chunk docs (1 of its files become unassigned)" in lines
    assert "- chunk web" in lines
    assert "  web/x.ts: web → api" in lines
    assert any(m.path == "docs/build.py" and m.after == UNASSIGNED for m in diff.moved)


def test_a_file_the_plan_file_does_not_name_is_no_difference_and_keeps_its_chunk() -> None:
    run = Plan(chunks=(Chunk("api", (*RUN.chunks[0].files, "src/api/new.py")), *RUN.chunks[1:]))
    wanted = Plan(chunks=(Chunk("backend", RUN.chunks[0].files), *RUN.chunks[1:]))
    assert diff_plans(run, wanted, PRESENT).renamed == (("api", "backend"),)
    applied = plan_to_apply(run, wanted, PRESENT)
    assert applied.chunk("backend").files == (*RUN.chunks[0].files, "src/api/new.py")


def test_files_gone_from_the_repository_are_no_difference() -> None:
    wanted = Plan(chunks=(Chunk("api", ("src/api/a.py",)), *RUN.chunks[1:]))
    assert not diff_plans(RUN, wanted, PRESENT - {"src/api/b.py"})
