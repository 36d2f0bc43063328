"""The plan: named chunks of files, plus the files left unassigned or excluded.

A plan is immutable data; edits (``edits.py``) return new plans, which makes undo a stack.
Invariant: every discovered file is in exactly one chunk, unassigned, or excluded.
It is saved as ``.claude-tui/plan.toml`` (docs/plan-and-checkpoint.md §5) so hand-tuned boundaries survive.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tui_orchestrator.engine.config import STRATEGIES
from tui_orchestrator.engine.errors import PlanError
from tui_orchestrator.engine.wording import agree, plural

PLAN_VERSION = 1
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


@dataclass(slots=True, frozen=True)
class Chunk:
    """A named, ordered list of repo-relative files that one worker reviews."""

    name: str
    files: tuple[str, ...]
    priority: int = 0


@dataclass(slots=True, frozen=True)
class Plan:
    """Chunks in the user's order, and the files in no chunk."""

    chunks: tuple[Chunk, ...]
    unassigned: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    strategy: str = "directory"
    max_files_per_chunk: int = 10
    # Whether the plan names the files it leaves unassigned (plan files before that did
    # not: a file they do not name may be one the user left out, not a new one).
    lists_unassigned: bool = True
    _index: dict[str, int] | None = field(default=None, compare=False, repr=False, hash=False)

    def chunk(self, name: str) -> Chunk:
        for chunk in self.chunks:
            if chunk.name == name:
                return chunk
        raise PlanError(f"no chunk named {name!r}")

    def has_chunk(self, name: str) -> bool:
        return any(chunk.name == name for chunk in self.chunks)

    @property
    def names(self) -> list[str]:
        return [chunk.name for chunk in self.chunks]

    def owner_of(self, path: str) -> str | None:
        """The chunk holding ``path``; None when unassigned, excluded or unknown."""
        index = self._index
        if index is None:
            index = {f: i for i, chunk in enumerate(self.chunks) for f in chunk.files}
            object.__setattr__(self, "_index", index)
        position = index.get(path)
        return None if position is None else self.chunks[position].name

    def all_files(self) -> Iterator[str]:
        """Every file the plan knows: in chunks, unassigned and excluded."""
        for chunk in self.chunks:
            yield from chunk.files
        yield from self.unassigned
        yield from self.excluded

    @property
    def assigned_count(self) -> int:
        return sum(len(chunk.files) for chunk in self.chunks)

    def with_chunks(self, chunks: Iterable[Chunk], **changes: object) -> Plan:
        """A copy with other chunks (drops empty ones), keeping everything else."""
        kept = tuple(chunk for chunk in chunks if chunk.files)
        return replace(self, chunks=kept, _index=None, **changes)


def slug(label: str) -> str:
    """A readable chunk name from a folder or label: ``src/auth`` -> ``src-auth``."""
    parts = [p for p in label.strip("/").split("/") if p]
    if not parts:
        return "root"
    # Deep paths keep their last parts: they tell chunks apart, the prefix rarely does.
    while len(parts) > 1 and len("-".join(parts)) > 40:
        parts = parts[1:]
    text = re.sub(r"[^A-Za-z0-9._+-]+", "-", "-".join(parts)).strip("-._+")
    return (text or "root")[:48]


def unique_name(base: str, taken: set[str], counters: dict[str, int] | None = None) -> str:
    """``base``, or ``base-2``, ``base-3`` … whichever is free; adds it to ``taken``.

    ``counters`` (kept by the caller across calls) remembers where each base's search
    stopped, so naming thousands of chunks after one folder stays linear.
    """
    name = base
    n = 2 if counters is None else counters.get(base, 2)
    while name in taken:
        name = f"{base}-{n}"
        n += 1
    taken.add(name)
    if counters is not None:
        counters[base] = n
    return name


def common_folder(paths: Sequence[str]) -> str:
    """The deepest folder that holds every path ('' for the repository root)."""
    if not paths:
        return ""
    folders = [p.split("/")[:-1] for p in paths]
    first = folders[0]
    depth = len(first)
    for other in folders[1:]:
        depth = min(depth, len(other))
        for i in range(depth):
            if other[i] != first[i]:
                depth = i
                break
    return "/".join(first[:depth])


def home_chunk(path: str, chunks: Iterable[tuple[str, Sequence[str]]]) -> str | None:
    """The chunk whose files share the deepest folder with ``path`` (None when none has files).

    Where a new file goes: beside the files of its folder.
    """
    best, best_depth = None, -1
    for name, files in chunks:
        if not files:
            continue
        shared = common_folder([path, files[0]])
        depth = len(shared.split("/")) if shared else 0
        if depth > best_depth:
            best, best_depth = name, depth
    return best


def check_name(name: str, plan: Plan, *, allow: str | None = None) -> str:
    """Validate a chunk name a user typed; returns it stripped."""
    name = name.strip()
    if not NAME_RE.match(name):
        raise PlanError(
            f"invalid chunk name {name!r}: use letters, digits, '.', '_', '+', '-' (64 at most)"
        )
    if name != allow and plan.has_chunk(name):
        raise PlanError(f"a chunk named {name!r} exists already")
    return name


def reconcile(
    plan: Plan, discovered: Sequence[str], gone_note: Callable[[int], str] | None = None
) -> tuple[Plan, list[str]]:
    """Fit a saved plan to what discovery finds now.

    Files gone from the repository (or now skipped) leave the plan. Files the plan leaves
    unassigned stay so: that is the user's choice. A file the plan does not name at all is
    new: it joins the chunk whose files share its deepest folder (a plan file written
    before plans listed their unassigned files leaves it unassigned instead, since it may
    be one the user took out). Returns the fitted plan and notes for the user
    (``gone_note`` says why files left, for a plan of something else than the repository).
    """
    present = set(discovered)
    seen: set[str] = set()
    notes: list[str] = []
    gone = 0
    chunks = []
    for chunk in plan.chunks:
        files = []
        for path in chunk.files:
            if path in seen:
                notes.append(f"{path} is listed twice in the plan; kept in its first chunk")
                continue
            seen.add(path)
            if path in present:
                files.append(path)
            else:
                gone += 1
        chunks.append(replace(chunk, files=tuple(files)))
    excluded = []
    for path in plan.excluded:
        if path in present and path not in seen:
            excluded.append(path)
            seen.add(path)
    unassigned = []
    for path in plan.unassigned:
        if path in present and path not in seen:
            unassigned.append(path)
            seen.add(path)
    new = [p for p in discovered if p not in seen]
    if gone and gone_note is not None:
        notes.append(gone_note(gone))
    elif gone:
        notes.append(
            f"{plural(gone, 'file')} of the plan no longer {agree(gone, 'exists or is', 'exist or are')} skipped; dropped"
        )
    if new and plan.lists_unassigned and any(c.files for c in chunks):
        files_of = {c.name: list(c.files) for c in chunks}
        homes = [(c.name, files_of[c.name]) for c in chunks]
        for path in new:
            home = home_chunk(path, homes)
            if home is not None:
                files_of[home].append(path)
        chunks = [replace(c, files=tuple(files_of[c.name])) for c in chunks]
        notes.append(f"{plural(len(new), 'new file')} joined the chunks of their folders")
    elif new:
        unassigned += new
        notes.append(
            f"{plural(len(new), 'file')} {agree(len(new), 'is', 'are')} in no chunk (unassigned)"
        )
    emptied = [c.name for c in chunks if not c.files]
    if emptied:
        notes.append(
            f"{agree(len(emptied), 'a chunk', 'chunks')} left empty and dropped: {', '.join(emptied)}"
        )
    fitted = plan.with_chunks(
        chunks, unassigned=tuple(unassigned), excluded=tuple(excluded), lists_unassigned=True
    )
    return fitted, notes


def plan_to_toml(plan: Plan) -> str:
    """The plan file's text (docs/plan-and-checkpoint.md §5)."""
    from tui_orchestrator.engine.tomlout import toml_array, toml_str

    lines = [
        "# claude-tui plan: chunk boundaries, safe to edit by hand and to commit.",
        f"version = {PLAN_VERSION}",
        f"strategy = {toml_str(plan.strategy)}",
        f"max_files_per_chunk = {plan.max_files_per_chunk}",
        f"excluded = {toml_array(plan.excluded)}",
        "# Files in no chunk, left out of the review until you put them in one.",
        f"unassigned = {toml_array(plan.unassigned)}",
    ]
    for chunk in plan.chunks:
        lines += [
            "",
            "[[chunks]]",
            f"name = {toml_str(chunk.name)}",
            f"priority = {chunk.priority}",
            f"files = {toml_array(chunk.files)}",
        ]
    return "\n".join(lines) + "\n"


def plan_from_toml(text: str, source: str = "plan") -> Plan:
    """Parse a plan file; any problem is a PlanError naming the file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{source} is not valid TOML ({exc}); left unchanged") from None

    def bad(what: str) -> PlanError:
        return PlanError(f"{source}: {what}; left unchanged")

    version = data.get("version", PLAN_VERSION)
    if version != PLAN_VERSION:
        raise bad(f"unsupported plan version {version!r} (this claude-tui reads {PLAN_VERSION})")
    strategy = data.get("strategy", "directory")
    max_files = data.get("max_files_per_chunk", 10)
    excluded = data.get("excluded", [])
    unassigned = data.get("unassigned", [])
    raw_chunks = data.get("chunks", [])
    if strategy not in STRATEGIES:
        raise bad(f"'strategy' must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if isinstance(max_files, bool) or not isinstance(max_files, int) or max_files < 1:
        raise bad("'max_files_per_chunk' must be a whole number of at least 1")
    if not _is_str_list(excluded):
        raise bad("'excluded' must be a list of paths")
    if not _is_str_list(unassigned):
        raise bad("'unassigned' must be a list of paths")
    if not isinstance(raw_chunks, list):
        raise bad("'chunks' must be an array of tables ([[chunks]])")
    chunks = []
    names: set[str] = set()
    for position, raw in enumerate(raw_chunks, start=1):
        if not isinstance(raw, dict):
            raise bad(f"chunk {position} is not a table")
        name = raw.get("name")
        files = raw.get("files")
        priority = raw.get("priority", 0)
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise bad(f"chunk {position} has no valid 'name'")
        if name in names:
            raise bad(f"chunk name {name!r} is used twice")
        if not _is_str_list(files):
            raise bad(f"chunk {name!r}: 'files' must be a list of paths")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise bad(f"chunk {name!r}: 'priority' must be a whole number")
        names.add(name)
        chunks.append(Chunk(name, tuple(_norm(f) for f in files), priority))
    return Plan(
        chunks=tuple(chunks),
        excluded=tuple(_norm(f) for f in excluded),
        unassigned=tuple(_norm(f) for f in unassigned),
        strategy=strategy,
        max_files_per_chunk=max_files,
        lists_unassigned="unassigned" in data,
    )


def load_plan_file(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"plan file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read plan file {path}: {exc}") from None
    return plan_from_toml(text, str(path))


def save_plan_file(plan: Plan, path: Path) -> None:
    from tui_orchestrator.engine.atomic import write_text_atomic
    from tui_orchestrator.engine.statedir import ensure_state_dir

    ensure_state_dir(path.parent)
    write_text_atomic(path, plan_to_toml(plan))


def backup_plan_file(path: Path) -> Path | None:
    """Copy the plan file to ``plan.toml.bak`` before it is replaced; None when there is none.

    The plan is the user's hand-tuned work: a command that writes a new one keeps the old.
    """
    if not path.is_file():
        return None
    from tui_orchestrator.engine.atomic import write_text_atomic

    backup = path.with_name(path.name + ".bak")
    write_text_atomic(backup, path.read_text(encoding="utf-8"))
    return backup


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _norm(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path
