"""What changed since a ref (engine/changes.py): committed, staged, unstaged, untracked,
renamed and deleted files, and the changed lines, against a base branch that moved on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.git import git
from tui_orchestrator.engine.changes import WHOLE_FILE, changed_lines_text, changes_since
from tui_orchestrator.engine.errors import ConfigError


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    lines = "".join(f"line {i}\n" for i in range(1, 21))
    for name in ("kept.py", "edited.py", "staged.py", "unstaged.py", "gone.py", "old_name.py"):
        (repo / name).write_text(lines if name != "old_name.py" else "x = 1\n" * 20)
    (repo / ".gitignore").write_text("ignored.py\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def test_every_kind_of_change_against_a_base_that_moved_on(repo: Path) -> None:
    # The base branch moves on: its own changes are not the feature's.
    git(repo, "checkout", "-q", "main")
    (repo / "kept.py").write_text("changed on main\n")
    git(repo, "commit", "-qam", "main moves on")
    git(repo, "checkout", "-q", "feature")
    # Committed on the feature branch: an edit at lines 5-6, a rename, a deletion.
    text = (repo / "edited.py").read_text().replace("line 5\nline 6\n", "five\nsix\n")
    (repo / "edited.py").write_text(text)
    git(repo, "mv", "old_name.py", "new_name.py")
    git(repo, "rm", "-q", "gone.py")
    git(repo, "commit", "-qm", "feature work")
    # Staged, unstaged, untracked, and an ignored file.
    (repo / "staged.py").write_text((repo / "staged.py").read_text() + "line 21\n")
    git(repo, "add", "staged.py")
    text = (repo / "unstaged.py").read_text().replace("line 10\n", "ten\n")
    (repo / "unstaged.py").write_text(text)
    (repo / "brand_new.py").write_text("print('new')\n")
    (repo / "ignored.py").write_text("secret = 1\n")
    changes = changes_since(repo, "main")
    assert changes.base == git(repo, "merge-base", "main", "HEAD")
    assert changes.files == {
        "edited.py": ((5, 6),),
        "new_name.py": (),  # renamed, no line changed: reviewed, nothing in the diff
        "staged.py": ((21, 21),),
        "unstaged.py": ((10, 10),),
        "brand_new.py": WHOLE_FILE,
    }
    assert changes.in_diff("edited.py", 6) and not changes.in_diff("edited.py", 7)
    assert changes.in_diff("brand_new.py", 1) and not changes.in_diff("kept.py", 1)
    text = changed_lines_text(changes, ["edited.py", "brand_new.py", "new_name.py", "kept.py"])
    assert text == (
        "- edited.py: 5-6\n- brand_new.py: new file\n- new_name.py: renamed, no line changed"
    )


def test_a_docs_only_change_names_no_source_file_and_a_clean_tree_nothing(repo: Path) -> None:
    assert changes_since(repo, "main").files == {}
    (repo / "README.md").write_text("# docs\n")
    assert set(changes_since(repo, "main").files) == {"README.md"}  # discovery filters it


@pytest.mark.parametrize(
    ("ref", "said"),
    [("no-such-branch", "no such commit"), ("", "not a git ref"), ("--all", "not a git ref")],
)
def test_a_ref_that_does_not_resolve_is_one_clear_error(repo: Path, ref: str, said: str) -> None:
    with pytest.raises(ConfigError, match=said):
        changes_since(repo, ref)


def test_a_folder_that_is_no_git_checkout_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a git checkout"):
        changes_since(tmp_path, "main")


def test_odd_file_names_come_back_as_they_are(repo: Path) -> None:
    """git quotes a path with a quote, a backslash or a non-ASCII character in its diff
    headers ("b/na\\303\\257ve.py"): the changed lines still find their file."""
    names = ["naïve café.py", 'say "hi".py', "back\\slash.py", "tab\there.py"]
    for name in names:
        (repo / name).write_text("one\ntwo\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "odd names")
    for name in names:
        (repo / name).write_text("one\nTWO\n")
    changes = changes_since(repo, "HEAD")
    assert changes.files == {name: ((2, 2),) for name in names}


def test_claude_tuis_own_folder_is_no_part_of_a_change(repo: Path) -> None:
    (repo / ".claude-tui").mkdir()
    (repo / ".claude-tui" / ".gitignore").write_text("*\n!.gitignore\n")
    (repo / "real.py").write_text("x = 1\n")
    assert set(changes_since(repo, "main").files) == {"real.py"}


def test_an_added_line_that_starts_with_plus_signs_is_content_not_a_header(repo: Path) -> None:
    text = (repo / "edited.py").read_text()
    text = text.replace("line 2\n", "++ two\n").replace("line 5\n", "five\n")
    (repo / "edited.py").write_text(text)
    assert changes_since(repo, "main").files == {"edited.py": ((2, 2), (5, 5))}


@pytest.mark.parametrize(
    "setting", ["diff.noprefix=true", "diff.mnemonicPrefix=true", "diff.relative=true"]
)
def test_the_users_diff_settings_change_nothing(repo: Path, setting: str) -> None:
    key, _, value = setting.partition("=")
    git(repo, "config", key, value)
    (repo / "edited.py").write_text((repo / "edited.py").read_text().replace("line 7\n", "7\n"))
    assert changes_since(repo, "main").files == {"edited.py": ((7, 7),)}


def test_a_pure_deletion_marks_the_two_lines_that_now_meet(repo: Path) -> None:
    (repo / "edited.py").write_text((repo / "edited.py").read_text().replace("line 3\n", ""))
    assert changes_since(repo, "main").files == {"edited.py": ((2, 3),)}
    (repo / "staged.py").write_text((repo / "staged.py").read_text().replace("line 1\n", ""))
    assert changes_since(repo, "main").files["staged.py"] == ((1, 1),)


def test_a_review_of_a_sub_folder_keeps_its_own_changes_untracked_ones_too(repo: Path) -> None:
    (repo / "sub").mkdir()
    (repo / "sub" / "old.py").write_text("a = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "sub")
    (repo / "sub" / "old.py").write_text("a = 2\n")
    (repo / "sub" / "new.py").write_text("b = 1\n")
    (repo / "top.py").write_text("c = 1\n")
    assert changes_since(repo / "sub", "main").files == {"old.py": ((1, 1),), "new.py": WHOLE_FILE}


def test_text_and_names_that_are_not_utf8_are_no_traceback(repo: Path) -> None:
    (repo / "edited.py").write_bytes(b'caf = "caf\xe9"\n' + (repo / "edited.py").read_bytes())
    (repo / "latin1_caf\xe9.py".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(
        b"x = 1\n"
    )
    changes = changes_since(repo, "main")
    assert changes.files["edited.py"] == ((1, 1),)
    assert len(changes.files) == 2  # the odd name is there, for discovery to skip and say why


def test_a_shallow_clone_says_to_fetch_the_whole_history(repo: Path, tmp_path: Path) -> None:
    git(repo, "checkout", "-q", "main")
    for i in range(3):
        (repo / "kept.py").write_text(f"main {i}\n")
        git(repo, "commit", "-qam", f"main {i}")
    git(repo, "checkout", "-q", "feature")
    (repo / "edited.py").write_text("feature\n")
    git(repo, "commit", "-qam", "feature")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", repo.as_uri(), str(shallow))
    with pytest.raises(ConfigError, match="fetch-depth: 0"):
        changes_since(shallow, "origin/main")
