"""Discovery: which files a review covers, and a reason for every path it skips."""

from __future__ import annotations

import errno
import importlib.util
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.discovery import Discovery, LineCounter, count_lines, discover
from tui_orchestrator.engine.errors import RepoError
from tui_orchestrator.engine.partition import STRATEGIES, Limits, make_plan
from tui_orchestrator.engine.plan import plan_from_toml, plan_to_toml, reconcile

from ._helpers import git, write_tree

CODE = "def f(x):\n    return x + 1\n"


def reasons(found: Discovery) -> dict[str, str]:
    return {s.path: s.reason for s in found.skipped}


def assert_each_path_once(found: Discovery) -> None:
    paths = found.paths + [s.path for s in found.skipped]
    assert len(paths) == len(set(paths)), "a path is listed twice"
    assert found.paths == sorted(found.paths)


# --- git checkouts -----------------------------------------------------------------------


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    repo = write_tree(
        tmp_path / "checkout",
        {
            ".gitignore": "*.log\nsecrets/\n",
            "src/app.py": CODE,
            "src/util/strings.py": CODE,
            "src/gone.py": CODE,
            "node_modules/left-pad/index.js": "module.exports = 1;\n",
            "node_modules/left-pad/lib/pad.js": "module.exports = 2;\n",
        },
    )
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    # After the commit: an untracked file, ignored files, and a tracked file deleted.
    write_tree(
        repo,
        {
            "src/new_module.py": CODE,
            "debug.log": "noise\n",
            "secrets/key.py": "KEY = 'x'\n",
            "src/ignored.log": "noise\n",
        },
    )
    (repo / "src/gone.py").unlink()
    return repo


def test_git_checkout_lists_tracked_and_untracked_files_but_not_ignored_ones(
    git_repo: Path,
) -> None:
    found = discover(git_repo, Config())
    assert found.git is True
    assert found.paths == ["src/app.py", "src/new_module.py", "src/util/strings.py"]
    every = set(found.paths) | {s.path for s in found.skipped}
    assert not any(p.startswith("secrets") or p.endswith(".log") for p in every)
    assert_each_path_once(found)


def test_git_checkout_reports_a_deleted_tracked_file_as_skipped(git_repo: Path) -> None:
    assert reasons(discover(git_repo, Config()))["src/gone.py"] == "deleted (still tracked by git)"


def test_committed_node_modules_is_listed_once_as_a_vendored_folder(git_repo: Path) -> None:
    found = discover(git_repo, Config())
    node = [s for s in found.skipped if s.path.startswith("node_modules")]
    assert [(s.path, s.reason) for s in node] == [("node_modules/", "vendored folder")]


def test_a_folder_git_ignores_as_a_whole_is_walked_when_asked_for(tmp_path: Path) -> None:
    outer = write_tree(tmp_path / "outer", {".gitignore": "copied/\n", "main.py": CODE})
    git(outer, "init", "-q")
    inner = write_tree(outer / "copied", {"lib/a.py": CODE, "lib/b.py": CODE})
    found = discover(inner, Config())
    assert found.paths == ["lib/a.py", "lib/b.py"]


def test_git_repo_opened_from_a_subfolder_lists_paths_relative_to_that_folder(
    git_repo: Path,
) -> None:
    found = discover(git_repo / "src", Config())
    assert found.paths == ["app.py", "new_module.py", "util/strings.py"]


# --- plain folders and .gitignore rules ---------------------------------------------------


def test_plain_folder_honours_nested_gitignore_files_and_negations(tmp_path: Path) -> None:
    repo = write_tree(
        tmp_path / "plain",
        {
            ".gitignore": "*.gen.py\nscratch/\n!keep.gen.py\n",
            "a.py": CODE,
            "b.gen.py": CODE,
            "keep.gen.py": CODE,
            "scratch/notes.py": CODE,
            "pkg/.gitignore": "/local.py\nfixtures_*.py\n!fixtures_shared.py\n",
            "pkg/local.py": CODE,
            "pkg/deep/local.py": CODE,
            "pkg/fixtures_a.py": CODE,
            "pkg/fixtures_shared.py": CODE,
            "pkg/deep/.gitignore": "!fixtures_b.py\n",
            "pkg/deep/fixtures_b.py": CODE,
            "pkg/deep/fixtures_c.py": CODE,
        },
    )
    found = discover(repo, Config())
    assert found.git is False
    assert found.paths == [
        "a.py",
        "keep.gen.py",
        "pkg/deep/fixtures_b.py",
        "pkg/deep/local.py",
        "pkg/fixtures_shared.py",
    ]
    assert_each_path_once(found)


GITIGNORE_CASES = {
    "globs-and-negations": {
        ".gitignore": "build-output/\n*.tmp.py\ndocs/**/*.py\n!docs/keep/*.py\n",
        "lib/.gitignore": "*\n!*.py\n!*/\n",
    },
    "whitelist-one-folder": {".gitignore": "/*\n!/src/\n/src/*\n!/src/keep/\n"},
    "folder-reincluded-but-files-not": {".gitignore": "*\n!lib/\n!*.py\n"},
    "anchored-and-double-star": {
        ".gitignore": "/a.py\n**/gen/\nsrc/**/b.py\n",
        "src/.gitignore": "/c.py\n!b.py\n",
    },
    "cannot-reinclude-below-an-ignored-folder": {".gitignore": "docs/\n!docs/keep/a.py\n"},
    "escaped-and-spaces": {".gitignore": "\\#hash.py\nspace.py   \n# a comment\n\n"},
}
GITIGNORE_FILES = [
    "a.py", "b.py", "c.py", "#hash.py", "space.py", "src/a.py", "src/b.py", "src/c.py",
    "src/b.tmp.py", "src/keep/a.py", "src/keep/deep/b.py", "src/gen/x.py", "gen/y.py",
    "src/deep/b.py", "src/deep/gen/z.py", "build-output/x.py", "docs/guide/example.py",
    "docs/keep/example.py", "docs/keep/a.py", "lib/c.py", "lib/sub/d.py", "lib/e.rb",
    "lib/sub/f.rb", "other/g.py",
]  # fmt: skip


@pytest.mark.parametrize("case", sorted(GITIGNORE_CASES))
def test_plain_folder_gitignore_rules_match_git_itself(tmp_path: Path, case: str) -> None:
    layout: dict[str, str | bytes] = dict.fromkeys(GITIGNORE_FILES, CODE)
    layout.update(GITIGNORE_CASES[case])
    plain = discover(write_tree(tmp_path / "plain", layout), Config())
    checkout = write_tree(tmp_path / "checkout", layout)
    git(checkout, "init", "-q")
    as_git = discover(checkout, Config())
    assert plain.git is False and as_git.git is True
    assert plain.paths == as_git.paths
    assert 0 < len(plain.paths) < len(GITIGNORE_FILES)


@pytest.mark.parametrize(
    "folder", ["node_modules", "vendor", "dist", "build", ".venv", "__pycache__"]
)
def test_vendored_and_generated_folders_are_listed_once_with_a_reason(
    tmp_path: Path, folder: str
) -> None:
    repo = write_tree(
        tmp_path / "repo",
        {
            "main.py": CODE,
            f"{folder}/one.py": CODE,
            f"{folder}/two.js": "x = 1;\n",
            f"{folder}/deep/three.py": CODE,
            f"pkg/{folder}/four.py": CODE,
        },
    )
    found = discover(repo, Config())
    assert found.paths == ["main.py"]
    expected = "vendored folder" if folder in ("node_modules", "vendor") else "generated folder"
    assert reasons(found) == {f"{folder}/": expected, f"pkg/{folder}/": expected}


def test_version_control_and_state_folders_are_never_reviewed(tmp_path: Path) -> None:
    repo = write_tree(
        tmp_path / "repo",
        {"main.py": CODE, ".hg/store.py": CODE, ".claude-tui/plan.py": CODE},
    )
    found = discover(repo, Config())
    assert found.paths == ["main.py"]
    # claude-tui's own folder is left out silently: it is not the user's code, nor news.
    assert set(reasons(found)) == {".hg/"}


# --- files skipped one by one -------------------------------------------------------------


def test_file_with_a_nul_byte_in_the_first_8_kib_is_binary(tmp_path: Path) -> None:
    repo = write_tree(
        tmp_path / "repo",
        {
            "blob.py": b"abc\x00def",
            "late_nul.py": b"#" * 8192 + b"\x00",
            "text.py": CODE,
        },
    )
    found = discover(repo, Config())
    assert reasons(found) == {"blob.py": "binary file"}
    assert found.paths == ["late_nul.py", "text.py"]


def test_files_over_the_size_cap_are_skipped_and_files_at_the_cap_kept(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"at_cap.py": "x" * 100, "over.py": "x" * 101})
    found = discover(repo, Config(max_file_bytes=100))
    assert found.paths == ["at_cap.py"]
    assert reasons(found)["over.py"].startswith("too large (101 B > 100 B")


def test_default_size_cap_is_one_megabyte(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"ok.py": "#" * 1_000_000, "big.py": "#" * 1_000_001})
    found = discover(repo, Config())
    assert found.paths == ["ok.py"]
    assert reasons(found)["big.py"].startswith("too large")


def test_symlink_leaving_the_repository_is_skipped(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"secret.py": CODE, "lib/x.py": CODE})
    repo = write_tree(tmp_path / "repo", {"main.py": CODE})
    (repo / "escape.py").symlink_to(outside / "secret.py")
    (repo / "escape_dir").symlink_to(outside / "lib")
    (repo / "alias.py").symlink_to(repo / "main.py")
    found = discover(repo, Config())
    assert found.paths == ["alias.py", "main.py"]
    assert reasons(found)["escape.py"] == "symlink leaves the repository"
    # A symlinked folder is never followed: nothing of ``outside`` is reviewed.
    assert "escape_dir" in reasons(found)
    assert not any(p.startswith("escape_dir/") for p in found.paths)


def test_symlink_leaving_a_git_checkout_is_skipped(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"secret.py": CODE})
    repo = write_tree(tmp_path / "repo", {"main.py": CODE})
    (repo / "escape.py").symlink_to(outside / "secret.py")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "x")
    found = discover(repo, Config())
    assert found.paths == ["main.py"]
    assert reasons(found)["escape.py"] == "symlink leaves the repository"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: chmod 000 does not stop root from reading a file",
)
def test_unreadable_file_is_skipped_with_a_reason(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"ok.py": CODE, "locked.py": CODE})
    (repo / "locked.py").chmod(0)
    try:
        found = discover(repo, Config())
    finally:
        (repo / "locked.py").chmod(0o644)
    assert found.paths == ["ok.py"]
    assert reasons(found)["locked.py"].startswith("unreadable")


def test_empty_files_are_skipped(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"__init__.py": "", "main.py": CODE})
    found = discover(repo, Config())
    assert found.paths == ["main.py"]
    assert reasons(found) == {"__init__.py": "empty file"}


def test_ci_workflows_dockerfiles_and_executable_scripts_are_reviewed(tmp_path: Path) -> None:
    """What attackers target and reviewers read; other YAML and data files stay out."""
    repo = write_tree(
        tmp_path / "repo",
        {
            ".github/workflows/ci.yml": "on: push\n",
            ".github/workflows/release.yaml": "on: tag\n",
            ".github/dependabot.yml": "version: 2\n",
            ".github/workflows/notes/readme.yml": "x: 1\n",
            "Dockerfile": "FROM python:3.12\n",
            "deploy/Dockerfile.prod": "FROM alpine\n",
            "docker-compose.yml": "services: {}\n",
            "bin/tool": "#!/bin/sh\necho hi\n",
            "bin/notes": "#!/bin/sh\nnot executable\n",
            "bin/blob": "just text, executable\n",
        },
    )
    (repo / "bin" / "tool").chmod(0o755)
    (repo / "bin" / "blob").chmod(0o755)
    found = discover(repo, Config())
    assert found.paths == [
        ".github/workflows/ci.yml",
        ".github/workflows/release.yaml",
        "Dockerfile",
        "bin/tool",
        "deploy/Dockerfile.prod",
    ]
    why = reasons(found)
    assert why[".github/dependabot.yml"] == "not a source file type (.yml)"
    assert why["docker-compose.yml"] == "not a source file type (.yml)"
    assert why["bin/notes"].endswith("no extension, and not an executable #! script)")
    assert why["bin/blob"].endswith("no extension, and not an executable #! script)")


def test_docs_data_and_extensionless_files_are_not_source_by_default(tmp_path: Path) -> None:
    repo = write_tree(
        tmp_path / "repo",
        {
            "main.go": "package main\n",
            "README.md": "# x\n",
            "config.yaml": "a: 1\n",
            "data.json": "{}\n",
            "package-lock.json": "{}\n",
            "logo.svg": "<svg/>\n",
            "Makefile": "all:\n",
        },
    )
    found = discover(repo, Config())
    assert found.paths == ["main.go"]
    why = reasons(found)
    assert why["README.md"] == "not a source file type (.md)"
    assert why["Makefile"] == (
        "not a source file type (Makefile: no extension, and not an executable #! script)"
    )
    assert set(why) == {
        "README.md", "config.yaml", "data.json", "package-lock.json", "logo.svg", "Makefile"
    }  # fmt: skip


def test_minified_and_generated_code_is_skipped(tmp_path: Path) -> None:
    repo = write_tree(
        tmp_path / "repo",
        {"app.js": "x()\n", "app.min.js": "x()\n", "api_pb2.py": CODE, "api.pb.go": "package a\n"},
    )
    found = discover(repo, Config())
    assert found.paths == ["app.js"]
    assert set(reasons(found).values()) == {"generated file"}


def test_file_types_are_configurable(tmp_path: Path) -> None:
    repo = write_tree(
        tmp_path / "repo", {"README.md": "# x\n", "main.py": CODE, "conf.YAML": "a: 1\n"}
    )
    found = discover(repo, Config(file_types=("md", "yaml")))
    assert found.paths == ["README.md", "conf.YAML"]
    assert reasons(found)["main.py"] == "not a source file type (.py)"


def test_common_languages_count_by_default(tmp_path: Path) -> None:
    names = [
        "a.py", "b.js", "c.jsx", "d.ts", "e.tsx", "f.go", "g.rs", "h.java", "i.kt", "j.rb",
        "k.php", "l.c", "m.h", "n.cpp", "o.hpp", "p.cs", "q.swift", "r.scala", "s.sh", "t.sql",
    ]  # fmt: skip
    repo = write_tree(tmp_path / "repo", dict.fromkeys(names, "x\n"))
    assert discover(repo, Config()).paths == sorted(names)


def test_missing_path_and_file_instead_of_folder_are_repo_errors(tmp_path: Path) -> None:
    with pytest.raises(RepoError, match="repository not found"):
        discover(tmp_path / "nope", Config())
    (tmp_path / "file.py").write_text(CODE)
    with pytest.raises(RepoError, match="not a folder"):
        discover(tmp_path / "file.py", Config())


def test_lines_are_counted_on_demand_and_remembered(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"a.py": "1\n2\n3\n", "b.py": "1\n2"})
    assert count_lines(repo, "a.py") == 3
    assert count_lines(repo, "b.py") == 2
    counter = LineCounter(repo)
    assert counter.total(["a.py", "b.py"]) == 5
    (repo / "a.py").write_text("only one line\n")
    assert counter.lines("a.py") == 3  # cached: figures never re-read a file


def test_thousands_of_files_are_all_found_and_the_odd_ones_named(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"m{i // 100}/f{i}.py": CODE for i in range(2500)}
    files["m0/bin.py"] = b"\x00"
    files["m0/empty.py"] = ""
    repo = write_tree(tmp_path / "repo", files)
    found = discover(repo, Config())
    assert len(found.paths) == 2500
    assert reasons(found) == {"m0/bin.py": "binary file", "m0/empty.py": "empty file"}


# --- real code: installed packages --------------------------------------------------------


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def _expected_python_files(root: Path, skip_dirs: set[str], cap: int) -> list[str]:
    expected = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip_dirs]
        for name in names:
            full = Path(folder, name)
            if not name.endswith((".py", ".pyi")):
                continue
            data = full.read_bytes()
            if not data or len(data) > cap or b"\0" in data[:8192]:
                continue
            expected.append(full.relative_to(root).as_posix())
    return sorted(expected)


@pytest.mark.parametrize("package", ["textual", "rich", "hypothesis"])
def test_real_package_source_is_found_and_partitioned_without_loss(
    tmp_path: Path, package: str
) -> None:
    root = tmp_path / package
    shutil.copytree(_package_dir(package), root, symlinks=True)
    found = discover(root, Config())
    expected = _expected_python_files(root, {"__pycache__", "vendor"}, 1_000_000)
    assert len(expected) > 50
    assert found.paths == expected
    assert_each_path_once(found)
    why = reasons(found)
    assert why["__pycache__/"] == "generated folder"
    assert not any(p.endswith(".pyc") for p in found.paths)
    assert why["py.typed"] == "empty file" or why["py.typed"].startswith("not a source")
    sizes = {f.path: f.size for f in found.files}
    for strategy in STRATEGIES:
        plan = make_plan(found.files, strategy, Limits(max_files=10, max_tokens=60_000))
        again = plan_from_toml(tomllib.loads(plan_to_toml(plan)) and plan_to_toml(plan))
        fitted, notes = reconcile(again, found.paths)
        in_chunks = [f for c in fitted.chunks for f in c.files]
        assert sorted(in_chunks) == found.paths, strategy
        assert len(in_chunks) == len(set(in_chunks)), strategy
        assert fitted.unassigned == () and notes == []
        assert sum(sizes[p] for p in in_chunks) == sum(f.size for f in found.files)


def test_real_package_binaries_and_data_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "hypothesis"
    shutil.copytree(_package_dir("hypothesis"), root, symlinks=True)
    native = sorted(p.name for p in root.glob("*.so"))
    assert native, "the installed hypothesis has a native module"
    found = discover(root, Config())
    why = reasons(found)
    assert why["vendor/"] == "vendored folder"
    assert why[native[0]] == "not a source file type (.so)"
    # Counted as a source type on purpose, the native module is still recognised as binary.
    found = discover(root, Config(file_types=("py", "so"), max_file_bytes=50_000_000))
    assert reasons(found)[native[0]] == "binary file"
    assert native[0] not in found.paths


def test_real_package_large_modules_respect_a_smaller_size_cap(tmp_path: Path) -> None:
    root = tmp_path / "rich"
    shutil.copytree(_package_dir("rich"), root, symlinks=True)
    found = discover(root, Config(max_file_bytes=50_000))
    big = [p for p, r in reasons(found).items() if r.startswith("too large")]
    assert "_emoji_codes.py" in big
    assert all(f.size <= 50_000 for f in found.files)


@pytest.mark.parametrize("in_git", [True, False], ids=["git", "walk"])
def test_a_file_name_that_is_not_utf8_is_skipped_with_its_reason(
    tmp_path: Path, in_git: bool
) -> None:
    """TOML and the prompt hold text: such a name could not round-trip through a checkpoint."""
    repo = write_tree(tmp_path / "repo", {"src/ok.py": CODE})
    os.mkdir(os.path.join(os.fsencode(repo), b"src/caf\xe9"))
    for name in (b"src/bad\xff.py", b"src/caf\xe9/mod.py"):
        with open(os.path.join(os.fsencode(repo), name), "w") as handle:
            handle.write(CODE)
    if in_git:
        git(repo, "init", "-q")
    found = discover(repo, Config())
    assert found.paths == ["src/ok.py"]
    assert reasons(found) == {
        "src/bad\ufffd.py": "file name is not valid UTF-8",
        "src/caf\ufffd/mod.py": "file name is not valid UTF-8",
    }


# --- folders that are not the repository's own -------------------------------------------


def _refuse_to_list(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Root reads any folder: an unreadable one is simulated (os.scandir, or git's warning)."""
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if Path(path) == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    real_run = subprocess.run

    def run(argv, *args, **kwargs):  # type: ignore[no-untyped-def]
        done = real_run(argv, *args, **kwargs)
        if "ls-files" in argv:
            # What git does with a folder it cannot open (seen as a user without rights):
            # it lists nothing of it and warns.
            inside = folder.name.encode() + b"/"
            kept = [r for r in done.stdout.split(b"\0") if not r.startswith(inside)]
            done.stdout = b"\0".join(kept)
            warning = f"warning: could not open directory '{folder.name}/': Permission denied\n"
            done.stderr += warning.encode()
        return done

    monkeypatch.setattr(subprocess, "run", run)


@pytest.mark.parametrize("in_git", [True, False], ids=["git", "walk"])
def test_a_submodule_a_symlink_loop_and_an_unreadable_folder_each_get_their_own_reason(
    tmp_path: Path, in_git: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_tree(tmp_path / "repo", {"main.py": CODE, "src/app.py": CODE})
    (repo / "src" / "loop").symlink_to("..")
    (repo / "self").symlink_to("self")
    (repo / "docs").symlink_to("src")
    # A submodule's checkout: a folder whose .git is a file pointing into the superproject.
    write_tree(repo, {"lib/.git": "gitdir: ../.git/modules/lib\n", "lib/dep.py": CODE})
    if in_git:
        git(repo, "init", "-q")
        sub = write_tree(tmp_path / "sub", {"dep.py": CODE})
        git(sub, "init", "-q")
        git(sub, "add", "-A")
        git(sub, "commit", "-q", "-m", "sub")
        (repo / "lib" / ".git").unlink()
        shutil.copytree(sub / ".git", repo / "lib" / ".git")
        git(repo, "add", "main.py", "src", "lib", "docs")  # lib: a gitlink, mode 160000
        # A repository inside the checkout that git was never told of.
        write_tree(repo, {"nested/x.py": CODE})
        git(repo / "nested", "init", "-q")
    # Listable to git itself (it does not get the scandir refusal): it just warns.
    write_tree(repo, {"locked/secret.py": CODE})
    _refuse_to_list(monkeypatch, repo / "locked")
    found = discover(repo, Config())
    assert found.git is in_git
    assert found.paths == ["main.py", "src/app.py"]
    why = reasons(found)
    assert why["lib/"] == "git submodule (a repository of its own)"
    assert why["src/loop"] == "symlink loop (to a folder above it)"
    assert why["self"] == "symlink loop"
    assert why["docs"] == "symlink to a folder (not followed)"
    assert why["locked/"] == "unreadable folder (Permission denied)"
    if in_git:
        assert why["nested/"] == "nested git repository (a repository of its own)"
    assert not any(r.startswith("not a source file type") for r in why.values()), why
    assert_each_path_once(found)
