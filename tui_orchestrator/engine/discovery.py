"""Find the files of a repository worth reviewing, and say why every other one was skipped.

In a git checkout ``git ls-files --cached --others --exclude-standard`` is the truth;
elsewhere the folder is walked and every ``.gitignore`` on the way is honoured. Vendored
and generated folders, binary files (a NUL byte in the first 8 KiB), files over the size
cap, symlinks that leave the repository and unreadable files are skipped with a reason.
"""

from __future__ import annotations

import errno
import os
import re
import stat as stat_mod
import subprocess
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.errors import RepoError

STATE_DIR = ".claude-tui"

VENDORED_DIRS = frozenset(
    {"node_modules", "vendor", "third_party", "third-party", "bower_components", "jspm_packages",
     "site-packages", "Pods", "Carthage"}
)  # fmt: skip
GENERATED_DIRS = frozenset(
    {"dist", "build", "out", "target", ".venv", "venv", "__pycache__", ".tox", ".nox",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".next", ".nuxt", ".svelte-kit",
     "coverage", ".coverage", "htmlcov", ".gradle", ".parcel-cache", ".turbo", ".cache",
     "__snapshots__", ".eggs", ".terraform"}
)  # fmt: skip
VCS_DIRS = frozenset({".git", ".hg", ".svn", STATE_DIR})
WORKFLOWS = ".github/workflows/"
GENERATED_SUFFIXES = (".min.js", ".min.css", ".bundle.js", ".pb.go", "_pb2.py", ".generated.ts")

SUBMODULE = "git submodule (a repository of its own)"
NESTED_REPOSITORY = "nested git repository (a repository of its own)"
SYMLINK_LOOP = "symlink loop"
# git's warning for a folder it cannot list (its message, with LC_ALL=C).
_GIT_UNREADABLE = re.compile(r"could not open directory '(.+)': (.+)$")

BINARY_SNIFF_BYTES = 8192
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)

# Told how far discovery has got ("12,000 paths listed"); raising from it stops discovery
# (the app's way to stop a walk it no longer needs).
Progress = Callable[[str], None]
# Paths between two progress reports.
PROGRESS_EVERY = 4096


@dataclass(slots=True, frozen=True)
class SourceFile:
    """A file that will be reviewed: its repo-relative path (with ``/``) and size in bytes."""

    path: str
    size: int

    @property
    def tokens(self) -> int:
        """Estimated tokens: about four bytes of source code a token."""
        return self.size // 4 or 1

    @property
    def folder(self) -> str:
        head, _, _ = self.path.rpartition("/")
        return head


@dataclass(slots=True, frozen=True)
class Skipped:
    """A path left out of the plan by discovery, and why (a folder stands for all below it)."""

    path: str
    reason: str


@dataclass(slots=True)
class Discovery:
    """What discovery found: reviewable files sorted by path, and everything it skipped."""

    root: Path
    files: list[SourceFile]
    skipped: list[Skipped]
    git: bool
    _by_path: dict[str, SourceFile] | None = field(default=None, repr=False)

    def get(self, path: str) -> SourceFile | None:
        if self._by_path is None:
            self._by_path = {f.path: f for f in self.files}
        return self._by_path.get(path)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]


def resolve_repo(path: Path) -> Path:
    """Check that ``path`` is a folder and return it absolute."""
    if not path.exists():
        raise RepoError(f"repository not found: {path}")
    if not path.is_dir():
        raise RepoError(f"not a folder: {path} (give the repository's folder)")
    return path.resolve()


def discover(
    root: Path,
    config: Config,
    progress: Progress | None = None,
    only: Collection[str] | None = None,
) -> Discovery:
    """List the reviewable files of ``root`` and the skipped paths with their reasons.

    ``only``: the paths a change review looks at (changes.py); every other path is left
    out, neither found nor skipped, and these go through the same filters.
    """
    root = resolve_repo(root)
    wanted = None if only is None else frozenset(only)
    listed = _git_ls_files(root)
    git = listed is not None
    candidates: Iterable[str | Skipped]
    untracked: frozenset[str] = frozenset()
    if listed is not None:
        candidates, untracked = listed
    else:
        candidates = _walk(root)
    types = frozenset(config.file_types)
    skipped: list[Skipped] = []
    skipped_dirs: set[str] = set()
    to_check: list[str] = []
    # Thousands of files share a folder: decide each folder once.
    folder_verdicts: dict[str, tuple[str, str] | None] = {}
    for listed_count, rel in enumerate(candidates, 1):
        if progress is not None and listed_count % PROGRESS_EVERY == 0:
            progress(f"{listed_count:,} paths listed")
        # A folder the listing decided on already (a submodule, an unreadable folder, a
        # symlink loop) still folds into a skipped folder above it.
        decided: Skipped | None = None
        if isinstance(rel, Skipped):
            decided, rel = rel, rel.path.rstrip("/")
        if wanted is not None and rel not in wanted:
            continue
        if not rel.isascii() and not _valid_utf8(rel):
            # TOML (plan, checkpoint) and the prompt hold text: such a name cannot be kept.
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            skipped.append(Skipped(shown, "file name is not valid UTF-8"))
            continue
        parent = rel.rpartition("/")[0]
        if parent in folder_verdicts:
            reason_dir = folder_verdicts[parent]
        else:
            reason_dir = folder_verdicts[parent] = _skipped_folder(rel)
        if reason_dir is not None:
            folder, reason = reason_dir
            if folder == STATE_DIR:
                continue  # claude-tui's own folder is not part of the review, nor news
            if folder not in skipped_dirs:
                skipped_dirs.add(folder)
                skipped.append(Skipped(folder + "/", reason))
            continue
        if decided is not None:
            skipped.append(decided)
            continue
        name = rel.rpartition("/")[2]
        ext = name.rpartition(".")[2].lower() if "." in name else ""
        if ext not in types and not _reviewed_anyway(root, rel, name, ext):
            link = _folder_link(root, rel) if rel in untracked else None
            skipped.append(link or Skipped(rel, _not_a_source_file(name, ext)))
            continue
        if name.endswith(GENERATED_SUFFIXES):
            skipped.append(Skipped(rel, "generated file"))
            continue
        to_check.append(rel)
    files: list[SourceFile] = []
    cap = config.max_file_bytes
    prefix = os.path.join(root, "")
    # One thread: with the page cache warm these system calls take microseconds, and a
    # thread pool only adds interpreter-lock contention (twice as slow, measured on 100k).
    for checked, rel in enumerate(to_check):
        if progress is not None and checked % PROGRESS_EVERY == 0:
            progress(f"{checked:,} of {len(to_check):,} files read")
        item = _check_file(root, prefix + rel, rel, cap)
        if isinstance(item, SourceFile):
            files.append(item)
        else:
            skipped.append(item)
    files.sort(key=lambda f: f.path)
    skipped.sort(key=lambda s: s.path)
    return Discovery(root=root, files=files, skipped=skipped, git=git)


def _reviewed_anyway(root: Path, rel: str, name: str, ext: str) -> bool:
    """What attackers target and reviewers read, whatever its extension: CI workflows
    (``.github/workflows/*.yml``), ``Dockerfile*``, and executable scripts without an
    extension that start with ``#!`` (docs/contracts.md §3)."""
    if ext in ("yml", "yaml") and rel.startswith(WORKFLOWS) and rel.count("/") == 2:
        return True
    if name.startswith("Dockerfile"):
        return True
    return not ext and _is_script(os.path.join(root, rel))


def _is_script(full: str) -> bool:
    """An executable file that starts with ``#!`` (a shebang)."""
    try:
        if not os.access(full, os.X_OK) or not os.path.isfile(full):
            return False
        fd = os.open(full, _READ_FLAGS)
        try:
            return os.read(fd, 2) == b"#!"
        finally:
            os.close(fd)
    except OSError:
        return False


def _not_a_source_file(name: str, ext: str) -> str:
    if ext:
        return f"not a source file type (.{ext})"
    return f"not a source file type ({name}: no extension, and not an executable #! script)"


def _valid_utf8(rel: str) -> bool:
    """False for a name decoded with surrogate escapes (bytes that are not UTF-8)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _skipped_folder(rel: str) -> tuple[str, str] | None:
    parts = rel.split("/")
    for index, part in enumerate(parts[:-1]):
        if part in VCS_DIRS:
            return "/".join(parts[: index + 1]), "version control or claude-tui state"
        if part in VENDORED_DIRS:
            return "/".join(parts[: index + 1]), "vendored folder"
        if part in GENERATED_DIRS or part.endswith(".egg-info"):
            return "/".join(parts[: index + 1]), "generated folder"
    return None


def _check_file(root: Path, full: str, rel: str, cap: int) -> SourceFile | Skipped:
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        return Skipped(rel, "deleted (still tracked by git)")
    except OSError as exc:
        return Skipped(rel, f"unreadable ({exc.strerror})")
    if stat_mod.S_ISLNK(st.st_mode):
        link = _folder_link(root, rel)
        if link is not None:
            return link
        target = os.path.realpath(full)
        if os.path.commonpath([target, str(root)]) != str(root):
            return Skipped(rel, "symlink leaves the repository")
        try:
            st = os.stat(full)
        except OSError:
            return Skipped(rel, "broken symlink")
    if stat_mod.S_ISDIR(st.st_mode):
        if os.path.lexists(os.path.join(full, ".git")):
            return Skipped(rel + "/", SUBMODULE)
        return Skipped(rel + "/", "a folder, not a file")
    if not stat_mod.S_ISREG(st.st_mode):
        return Skipped(rel, "not a regular file")
    if st.st_size > cap:
        return Skipped(rel, f"too large ({_human_bytes(st.st_size)} > {_human_bytes(cap)})")
    if st.st_size == 0:
        return Skipped(rel, "empty file")
    try:
        # os.open/os.read: a buffered file object costs more than the read itself here.
        fd = os.open(full, _READ_FLAGS)
        try:
            head = os.read(fd, BINARY_SNIFF_BYTES)
        finally:
            os.close(fd)
    except OSError as exc:
        return Skipped(rel, f"unreadable ({exc.strerror})")
    if b"\0" in head:
        return Skipped(rel, "binary file")
    return SourceFile(rel, st.st_size)


def _human_bytes(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.0f} kB"
    return f"{size} B"


def _git_ls_files(root: Path) -> tuple[list[str | Skipped], frozenset[str]] | None:
    """The files git knows (tracked, plus untracked not ignored), and which of them are
    untracked; None outside a checkout.

    Submodules, nested repositories, symlinks to folders and folders git could not read
    come back as Skipped, with their reasons.
    """
    if not (root / ".git").exists() and not _inside_work_tree(root):
        return None
    try:
        done = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
                # The mode of each tracked entry: 160000 is a submodule, 120000 a symlink.
                "--stage",
            ],
            capture_output=True,
            check=True,
            stdin=subprocess.DEVNULL,
            # git's warnings are read below: untranslated.
            env={**os.environ, "LC_ALL": "C"},
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    text = done.stdout.decode("utf-8", "surrogateescape")
    records = text.split("\0")
    # Tracked: "MODE SHA STAGE<tab>path", the tab at 49 (SHA-1) or 73 (SHA-256); untracked:
    # the path alone, the very same object below (``is``). Comprehensions, not a loop with
    # branches: on 100,000 paths about 20 ms more than a plain listing, the loop twice that.
    paths = [r[50:] if r[49:50] == "\t" else r[74:] if r[73:74] == "\t" else r for r in records]
    untracked = frozenset(p for r, p in zip(records, paths, strict=True) if p is r and p)
    listed: dict[str, str | Skipped] = {p: p for p in paths if p}
    if "160000 " in text or "120000 " in text:
        for record, path in zip(records, paths, strict=True):
            if path is record:
                continue  # untracked: no mode
            if record.startswith("160000 "):
                listed[path] = Skipped(path + "/", SUBMODULE)
            elif record.startswith("120000 "):
                listed[path] = _folder_link(root, path) or path
    for path in untracked:
        if path.endswith("/"):
            # git does not enter a repository inside the checkout: it lists the folder.
            listed[path] = Skipped(path, NESTED_REPOSITORY)
    for line in done.stderr.decode("utf-8", "surrogateescape").splitlines():
        unreadable = _GIT_UNREADABLE.search(line)
        if unreadable is not None:
            folder = unreadable.group(1).rstrip("/") + "/"
            listed.setdefault(folder, Skipped(folder, f"unreadable folder ({unreadable[2]})"))
    # A folder git ignores as a whole (a checkout inside .venv, a vendored copy) lists
    # nothing: the user asked for that folder, so walk it with its own .gitignore files.
    if not listed:
        return None
    return list(listed.values()), frozenset(untracked)


def _folder_link(root: Path, rel: str) -> Skipped | None:
    """A symlink to a folder, skipped with why; None when ``rel`` is no symlink to a folder.

    Never followed: the folder's files are reviewed where they are, and a link to a
    folder above itself would be walked forever.
    """
    full = os.path.join(root, rel)
    try:
        if not stat_mod.S_ISLNK(os.lstat(full).st_mode):
            return None
        st = os.stat(full)
    except OSError as exc:
        return Skipped(rel, SYMLINK_LOOP) if exc.errno == errno.ELOOP else None
    if not stat_mod.S_ISDIR(st.st_mode):
        return None
    target = os.path.realpath(full)
    if os.path.commonpath([target, os.path.realpath(os.path.dirname(full))]) == target:
        return Skipped(rel, f"{SYMLINK_LOOP} (to a folder above it)")
    if os.path.commonpath([target, str(root)]) != str(root):
        return Skipped(rel, "symlink leaves the repository")
    return Skipped(rel, "symlink to a folder (not followed)")


def _inside_work_tree(root: Path) -> bool:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == b"true"


def _gitignore_rules(lines: list[str]) -> list[tuple[object, bool]]:
    """Compiled .gitignore patterns, each with whether it names folders only (``dir/``).

    A folder-only pattern is kept as the same pattern without its slash, applied to
    folders only: so every rule is matched against the path itself, never a parent.
    """
    import pathspec

    rules: list[tuple[object, bool]] = []
    for pattern in pathspec.GitIgnoreSpec.from_lines(lines).patterns:
        if pattern.include is None:
            continue
        text = pattern.pattern.rstrip()
        dir_only = text.endswith("/") and not text.endswith("\\/") and text.strip("!/") != ""
        if dir_only:
            pattern = type(pattern)(text.rstrip("/"))
            if pattern.include is None:
                continue
        rules.append((pattern, dir_only))
    return rules


def _walk(root: Path) -> Iterator[str | Skipped]:
    """Walk a folder that is not a git checkout, honouring every .gitignore on the way.

    git's rules: the last pattern matching a path decides (deeper files last); a folder
    that is ignored is not entered, so nothing below it can be re-included.
    """

    def load_rules(folder: str) -> list[tuple[object, bool]] | None:
        try:
            with open(os.path.join(folder, ".gitignore"), encoding="utf-8", errors="replace") as f:
                rules = _gitignore_rules(f.read().splitlines())
        except OSError:
            return None
        return rules or None

    def ignored(specs: list[tuple[str, list]], rel: str, is_dir: bool) -> bool:
        verdict = False
        for base, rules in specs:
            sub = rel[len(base) + 1 :] if base else rel
            for pattern, dir_only in rules:
                if dir_only and not is_dir:
                    continue
                match = pattern.regex.search(sub)
                # A match through a parent folder (the ``ps_d`` group) is no match of the
                # path itself: that parent was decided, and walked, already.
                if match is not None and not match.groupdict().get("ps_d"):
                    verdict = pattern.include
        return verdict

    def visit(folder: str, rel_folder: str, specs: list) -> Iterator[str | Skipped]:
        rules = load_rules(folder)
        if rules is not None:
            specs = [*specs, (rel_folder, rules)]
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            if rel_folder:
                yield Skipped(rel_folder + "/", f"unreadable folder ({exc.strerror})")
            return
        # A ".git" file (not folder) is a submodule's: its files belong to another repository.
        if rel_folder and any(e.name == ".git" and not _is_dir(e) for e in entries):
            yield Skipped(rel_folder + "/", SUBMODULE)
            return
        for entry in entries:
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if specs and ignored(specs, rel, is_dir):
                continue
            if is_dir:
                if (
                    entry.name in VCS_DIRS
                    or entry.name in VENDORED_DIRS
                    or entry.name in GENERATED_DIRS
                ):
                    # One path inside stands for the folder, so it is listed as skipped once.
                    yield rel + "/…"
                    continue
                yield from visit(entry.path, rel, specs)
            elif entry.is_symlink():
                yield _folder_link(root, rel) or rel
            else:
                yield rel

    yield from visit(str(root), "", [])


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def count_lines(root: Path, rel: str) -> int:
    """Lines of one file (read on demand: discovery never reads whole files)."""
    try:
        with open(os.path.join(root, rel), "rb") as handle:
            data = handle.read()
    except OSError:
        return 0
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


class LineCounter:
    """Counts lines lazily and remembers them, so figures never block the first frame."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, int] = {}

    def lines(self, rel: str) -> int:
        cached = self._cache.get(rel)
        if cached is None:
            cached = self._cache[rel] = count_lines(self.root, rel)
        return cached

    def cached(self, rel: str) -> int | None:
        """The count if it is known already, without reading the file."""
        return self._cache.get(rel)

    def total(self, paths: Iterable[str]) -> int:
        return sum(self.lines(p) for p in paths)
