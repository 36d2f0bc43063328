"""The tree's model: folders from discovery, and chunk tags per plan."""

from __future__ import annotations

from pathlib import Path

from tui_orchestrator.engine import edits
from tui_orchestrator.engine.discovery import Discovery, Skipped, SourceFile
from tui_orchestrator.engine.plan import Chunk, Plan
from tui_orchestrator.ui.tree_model import EXCLUDED, MIXED, UNASSIGNED, Kind, PlanTags, RepoIndex


def _discovery() -> Discovery:
    files = [
        SourceFile(p, 10) for p in ("a/x.py", "a/y.py", "a/deep/z.py", "b/w.go", "top.py", "c/u.py")
    ]
    skipped = [Skipped("node_modules/", "vendored folder"), Skipped("a/README.md", "docs")]
    return Discovery(root=Path("."), files=files, skipped=skipped, git=False)


def _plan() -> Plan:
    return Plan(
        chunks=(
            Chunk("alpha", ("a/x.py", "a/y.py", "a/deep/z.py")),
            Chunk("beta", ("b/w.go", "top.py")),
        ),
        unassigned=("c/u.py",),
    )


def test_children_are_folders_then_files_with_skipped_ones_in_place():
    index = RepoIndex(_discovery())
    root = [(e.name, e.kind) for e in index.children("")]
    assert root == [
        ("a", Kind.FOLDER),
        ("b", Kind.FOLDER),
        ("c", Kind.FOLDER),
        ("node_modules", Kind.SKIPPED_FOLDER),
        ("top.py", Kind.FILE),
    ]
    a = index.children("a")
    assert [(e.name, e.kind) for e in a] == [
        ("deep", Kind.FOLDER),
        ("README.md", Kind.SKIPPED_FILE),
        ("x.py", Kind.FILE),
        ("y.py", Kind.FILE),
    ]
    assert a[1].reason == "docs"
    assert index.file_count("") == 6
    assert index.file_count("a") == 3


def test_a_folder_shows_its_chunk_only_when_all_files_agree():
    tags = PlanTags(RepoIndex(_discovery()), _plan())
    assert tags.of_folder("a").chunk == "alpha"
    assert tags.of_folder("a").position == 0
    assert tags.of_folder("b").chunk == "beta"
    assert tags.of_folder("c") == UNASSIGNED
    assert tags.of_folder("") == MIXED
    assert tags.of_folder("node_modules") is None


def test_excluded_files_and_their_folders_say_so():
    plan = edits.exclude(_plan(), ["a/deep"])
    tags = PlanTags(RepoIndex(_discovery()), plan)
    assert tags.of_file("a/deep/z.py") == EXCLUDED
    assert tags.of_folder("a/deep") == EXCLUDED
    assert tags.of_folder("a") == MIXED
