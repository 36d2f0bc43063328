"""The plan file (.claude-tui/plan.toml): round trip, fitting to a changed repository,
bad files refused and left alone, and which plan a project uses."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.errors import PlanError, RepoError
from tui_orchestrator.engine.plan import (
    Chunk,
    Plan,
    load_plan_file,
    plan_from_toml,
    plan_to_toml,
    reconcile,
    save_plan_file,
)
from tui_orchestrator.engine.project import open_project
from tui_orchestrator.engine.statedir import GITIGNORE, default_plan_path

from ._helpers import write_tree

# File names as repositories have them: spaces, quotes, unicode, emoji, control characters. (A backslash
# is read back as a folder separator, so it is left out here.)
_name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\0"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))
_file = (
    st.lists(_name, min_size=1, max_size=3).map("/".join).filter(lambda p: not p.startswith("./"))
)
_chunk_name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,20}", fullmatch=True)


@st.composite
def _plans(draw: st.DrawFn) -> Plan:
    files = draw(st.lists(_file, unique=True, max_size=40))
    names = draw(st.lists(_chunk_name, unique=True, max_size=8))
    chunks: list[Chunk] = []
    rest = list(files)
    for name in names:
        take = draw(st.integers(0, len(rest)))
        if take:
            chunks.append(Chunk(name, tuple(rest[:take]), draw(st.integers(-3, 3))))
            rest = rest[take:]
    excluded = tuple(rest[: draw(st.integers(0, len(rest)))])
    return Plan(
        chunks=tuple(chunks),
        excluded=excluded,
        strategy=draw(st.sampled_from(["directory", "balanced", "filetype", "equal"])),
        max_files_per_chunk=draw(st.integers(1, 500)),
    )


@settings(max_examples=150, deadline=None)
@given(plan=_plans())
def test_plan_toml_round_trips_through_tomllib(plan: Plan) -> None:
    text = plan_to_toml(plan)
    data = tomllib.loads(text)
    assert data["version"] == 1
    assert [c["name"] for c in data.get("chunks", [])] == plan.names
    assert plan_from_toml(text) == plan


def test_plan_toml_has_the_spec_keys_in_the_users_order() -> None:
    plan = Plan(
        chunks=(Chunk("zeta", ("b.py", "a.py"), priority=3), Chunk("alpha", ("c.py",))),
        excluded=("skip.py",),
        strategy="balanced",
        max_files_per_chunk=7,
    )
    data = tomllib.loads(plan_to_toml(plan))
    assert data["strategy"] == "balanced" and data["max_files_per_chunk"] == 7
    assert data["excluded"] == ["skip.py"]
    assert data["chunks"] == [
        {"name": "zeta", "priority": 3, "files": ["b.py", "a.py"]},
        {"name": "alpha", "priority": 0, "files": ["c.py"]},
    ]


def test_a_hand_written_minimal_plan_loads_with_defaults() -> None:
    plan = plan_from_toml('[[chunks]]\nname = "a"\nfiles = ["./src/x.py", "src\\\\y.py"]\n')
    assert plan.chunks == (Chunk("a", ("src/x.py", "src/y.py")),)
    assert plan.strategy == "directory" and plan.max_files_per_chunk == 10


def test_save_writes_the_plan_and_the_state_folder_gitignore(tmp_path: Path) -> None:
    path = default_plan_path(tmp_path)
    plan = Plan(chunks=(Chunk("a", ("x.py",)),))
    save_plan_file(plan, path)
    assert load_plan_file(path) == plan
    assert (tmp_path / ".claude-tui" / ".gitignore").read_text() == GITIGNORE
    assert {p.name for p in path.parent.iterdir()} == {".gitignore", "plan.toml"}


# --- reconcile ----------------------------------------------------------------------------


def test_reconcile_of_an_old_plan_file_drops_gone_files_and_leaves_new_ones_unassigned() -> None:
    # A plan file from before plans listed their unassigned files: a file it does not name
    # may be one the user took out, so it stays out.
    plan = Plan(
        chunks=(Chunk("a", ("a1.py", "gone.py", "a2.py")), Chunk("b", ("gone2.py",))),
        excluded=("ex.py", "ex_gone.py"),
        lists_unassigned=False,
    )
    fitted, notes = reconcile(plan, ["a1.py", "a2.py", "ex.py", "new.py", "new2.py"])
    assert fitted.chunks == (Chunk("a", ("a1.py", "a2.py")),)
    assert fitted.excluded == ("ex.py",)
    assert fitted.unassigned == ("new.py", "new2.py")
    assert any("2 files" in n and "dropped" in n for n in notes)
    assert any("2 files are in no chunk" in n for n in notes)
    assert any("b" in n and "empty" in n for n in notes)


def test_reconcile_keeps_unassigned_files_out_and_puts_new_ones_beside_their_folder() -> None:
    plan = Plan(
        chunks=(Chunk("api", ("api/a.py",)), Chunk("web", ("web/b.py",))),
        unassigned=("web/left_out.py",),
    )
    fitted, notes = reconcile(plan, ["api/a.py", "api/new.py", "web/b.py", "web/left_out.py"])
    assert fitted.chunks == (Chunk("api", ("api/a.py", "api/new.py")), Chunk("web", ("web/b.py",)))
    assert fitted.unassigned == ("web/left_out.py",)
    assert notes == ["1 new file joined the chunks of their folders"]


def test_plan_file_round_trips_its_unassigned_files(tmp_path: Path) -> None:
    plan = Plan(chunks=(Chunk("a", ("x.py",)),), unassigned=("y.py",), excluded=("z.py",))
    path = tmp_path / "plan.toml"
    save_plan_file(plan, path)
    loaded = load_plan_file(path)
    assert loaded.unassigned == ("y.py",) and loaded.lists_unassigned
    old = path.read_text().replace('unassigned = ["y.py"]', "")
    assert not plan_from_toml(old).lists_unassigned


def test_reconcile_keeps_a_file_listed_twice_in_its_first_chunk() -> None:
    plan = Plan(chunks=(Chunk("a", ("x.py",)), Chunk("b", ("x.py", "y.py"))), excluded=("x.py",))
    fitted, notes = reconcile(plan, ["x.py", "y.py"])
    assert fitted.chunks == (Chunk("a", ("x.py",)), Chunk("b", ("y.py",)))
    assert fitted.excluded == ()
    assert any("listed twice" in n for n in notes)


def test_reconcile_of_an_unchanged_repository_says_nothing() -> None:
    plan = Plan(chunks=(Chunk("a", ("x.py", "y.py")),), excluded=("z.py",))
    assert reconcile(plan, ["x.py", "y.py", "z.py"]) == (plan, [])


# --- bad plan files ----------------------------------------------------------------------

BAD_PLANS = {
    "not toml": "version = 1\n[[chunks]\nname = 'a'\n",
    "future version": "version = 2\n",
    "strategy not a string": "strategy = 3\n",
    "unknown strategy": "strategy = 'smart'\n",
    "max files zero": "max_files_per_chunk = 0\n",
    "max files a bool": "max_files_per_chunk = true\n",
    "excluded not a list": 'excluded = "a.py"\n',
    "chunks not tables": "chunks = [1, 2]\n",
    "chunks a table": "[chunks]\nname = 'a'\n",
    "chunk without name": '[[chunks]]\nfiles = ["a.py"]\n',
    "chunk with a bad name": '[[chunks]]\nname = "has space"\nfiles = ["a.py"]\n',
    "duplicate chunk names": '[[chunks]]\nname = "a"\nfiles = []\n[[chunks]]\nname = "a"\nfiles = []\n',
    "files not strings": '[[chunks]]\nname = "a"\nfiles = [1]\n',
    "priority a string": '[[chunks]]\nname = "a"\nfiles = []\npriority = "high"\n',
}


@pytest.mark.parametrize("case", sorted(BAD_PLANS))
def test_a_bad_plan_file_is_a_plan_error_and_stays_on_disk_unchanged(
    tmp_path: Path, case: str
) -> None:
    path = tmp_path / "plan.toml"
    path.write_bytes(BAD_PLANS[case].encode())
    with pytest.raises(PlanError) as info:
        load_plan_file(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert path.read_bytes() == BAD_PLANS[case].encode()


def test_a_missing_or_binary_plan_file_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="not found"):
        load_plan_file(tmp_path / "none.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PlanError, match="cannot read"):
        load_plan_file(binary)


# --- which plan a project uses (SPEC §4) --------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "repo",
        {f"src/m{i}.py": f"x = {i}\n" for i in range(6)} | {"web/app.ts": "let a = 1;\n"},
    )


def test_without_a_plan_file_the_plan_is_computed_from_the_config(repo: Path) -> None:
    project = open_project(repo, Config(strategy="equal", max_files_per_chunk=2))
    assert project.plan_source == "computed (equal)"
    assert [len(c.files) for c in project.plan.chunks] == [2, 2, 2, 1]


def test_a_saved_plan_wins_unless_partition_flags_are_given(repo: Path) -> None:
    left_out = tuple(f"src/m{i}.py" for i in range(1, 6))
    saved = Plan(chunks=(Chunk("mine", ("src/m0.py", "web/app.ts")),), unassigned=left_out)
    save_plan_file(saved, default_plan_path(repo))
    project = open_project(repo, Config())
    assert project.plan.chunks == saved.chunks
    assert project.plan.unassigned == left_out
    assert project.plan_source.startswith("plan file")
    flagged = open_project(repo, Config(strategy="equal"), partition_flags_given=True)
    assert flagged.plan_source == "computed (equal)"
    assert any("ignored" in note for note in flagged.notes)


def test_an_explicit_plan_file_wins_over_the_saved_one(repo: Path, tmp_path: Path) -> None:
    save_plan_file(Plan(chunks=(Chunk("saved", ("src/m0.py",)),)), default_plan_path(repo))
    other = tmp_path / "other.toml"
    other.write_text(plan_to_toml(Plan(chunks=(Chunk("other", ("src/m1.py",)),))))
    project = open_project(repo, Config(), plan_file=other, partition_flags_given=True)
    assert project.plan.names == ["other"]


def test_a_corrupt_saved_plan_stops_the_project_and_is_kept(repo: Path) -> None:
    path = default_plan_path(repo)
    path.parent.mkdir()
    path.write_bytes(b"[[chunks]\nbroken")
    with pytest.raises(PlanError):
        open_project(repo, Config())
    assert path.read_bytes() == b"[[chunks]\nbroken"


def test_a_plan_whose_files_are_all_gone_is_refused(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "old.toml"
    other.write_text(plan_to_toml(Plan(chunks=(Chunk("old", ("gone.py",)),))))
    with pytest.raises(RepoError, match="no chunk with a file that exists"):
        open_project(repo, Config(), plan_file=other)


def test_a_repository_with_nothing_to_analyze_is_a_repo_error(tmp_path: Path) -> None:
    empty = write_tree(tmp_path / "docs-only", {"README.md": "# hi\n", "logo.png": b"\x89PNG\x00"})
    with pytest.raises(RepoError, match="nothing to analyze"):
        open_project(empty, Config())
