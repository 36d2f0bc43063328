"""Plan edits: pure functions from a plan to a new plan, and the undo/redo history.

Each edit keeps the invariant that every file is in exactly one chunk, unassigned, or
excluded. A path argument may name a file or a folder (all files below it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from tui_orchestrator.engine.discovery import SourceFile
from tui_orchestrator.engine.errors import PlanError
from tui_orchestrator.engine.partition import STRATEGIES, Limits, partition
from tui_orchestrator.engine.plan import Chunk, Plan, check_name, slug, unique_name

Edit = Callable[[Plan], Plan]


def expand(plan: Plan, paths: Iterable[str], *, with_excluded: bool = False) -> list[str]:
    """The files named by ``paths`` (files, or folders meaning every file below them)."""
    wanted = [p.strip("/") for p in paths]
    files = set(wanted)
    folders = tuple(p + "/" for p in wanted if p)
    take_all = "" in wanted
    excluded = set(plan.excluded)
    out = []
    for path in plan.all_files():
        named = path in files
        if named or take_all or path.startswith(folders):
            # An excluded file moves only when it is named itself, not through its folder.
            if path in excluded and not (named or with_excluded):
                continue
            out.append(path)
    return out


def _without(plan: Plan, moving: set[str]) -> tuple[list[Chunk], list[str], list[str]]:
    chunks = [replace(c, files=tuple(f for f in c.files if f not in moving)) for c in plan.chunks]
    unassigned = [f for f in plan.unassigned if f not in moving]
    excluded = [f for f in plan.excluded if f not in moving]
    return chunks, unassigned, excluded


def move(plan: Plan, paths: Iterable[str], target: str) -> Plan:
    """Move files or folders into chunk ``target`` (appended in path order)."""
    plan.chunk(target)
    files = expand(plan, paths)
    if not files:
        raise PlanError("nothing to move: no file of the plan is under that path")
    moving = set(files)
    chunks, unassigned, excluded = _without(plan, moving)
    chunks = [
        replace(c, files=c.files + tuple(sorted(moving))) if c.name == target else c for c in chunks
    ]
    return plan.with_chunks(chunks, unassigned=tuple(unassigned), excluded=tuple(excluded))


def split(plan: Plan, name: str, at: str | int | None = None, new_name: str | None = None) -> Plan:
    """Split a chunk in half, or before the file ``at`` (a path or an index)."""
    chunk = plan.chunk(name)
    if len(chunk.files) < 2:
        raise PlanError(f"chunk {name!r} has fewer than two files; nothing to split")
    if at is None:
        index = (len(chunk.files) + 1) // 2
    elif isinstance(at, int):
        index = at
    else:
        if at not in chunk.files:
            raise PlanError(f"{at} is not in chunk {name!r}")
        index = chunk.files.index(at)
    if not 0 < index < len(chunk.files):
        raise PlanError(f"cannot split {name!r} there: each part needs at least one file")
    taken = set(plan.names)
    second = check_name(new_name, plan) if new_name else unique_name(slug(name), taken)
    chunks: list[Chunk] = []
    for c in plan.chunks:
        if c.name == name:
            chunks.append(replace(c, files=c.files[:index]))
            chunks.append(Chunk(second, c.files[index:], c.priority))
        else:
            chunks.append(c)
    return plan.with_chunks(chunks)


def merge(plan: Plan, name: str, other: str) -> Plan:
    """Join chunk ``other`` into chunk ``name`` (``name`` keeps its place and name)."""
    if name == other:
        raise PlanError("cannot join a chunk with itself")
    first, second = plan.chunk(name), plan.chunk(other)
    chunks = [
        replace(c, files=first.files + second.files) if c.name == name else c
        for c in plan.chunks
        if c.name != other
    ]
    return plan.with_chunks(chunks)


def rename(plan: Plan, name: str, new_name: str) -> Plan:
    plan.chunk(name)
    new_name = check_name(new_name, plan, allow=name)
    return plan.with_chunks(replace(c, name=new_name) if c.name == name else c for c in plan.chunks)


def create(plan: Plan, name: str, paths: Iterable[str] = ()) -> Plan:
    """A new chunk at the end, holding ``paths`` (taken from wherever they are)."""
    name = check_name(name, plan)
    files = expand(plan, paths)
    if not files:
        raise PlanError("a new chunk needs at least one file (select a file or folder)")
    moving = set(files)
    chunks, unassigned, excluded = _without(plan, moving)
    chunks.append(Chunk(name, tuple(sorted(moving))))
    return plan.with_chunks(chunks, unassigned=tuple(unassigned), excluded=tuple(excluded))


def delete(plan: Plan, name: str) -> Plan:
    """Remove a chunk; its files become unassigned."""
    chunk = plan.chunk(name)
    chunks = [c for c in plan.chunks if c.name != name]
    unassigned = tuple(sorted((*plan.unassigned, *chunk.files)))
    return plan.with_chunks(chunks, unassigned=unassigned)


def exclude(plan: Plan, paths: Iterable[str]) -> Plan:
    """Exclude files or folders from review."""
    files = expand(plan, paths)
    moving = set(files) - set(plan.excluded)
    if not moving:
        raise PlanError("nothing to exclude there")
    chunks, unassigned, excluded = _without(plan, moving)
    return plan.with_chunks(
        chunks, unassigned=tuple(unassigned), excluded=tuple(sorted((*excluded, *moving)))
    )


def include(plan: Plan, paths: Iterable[str]) -> Plan:
    """Bring excluded files back; they become unassigned."""
    files = [f for f in expand(plan, paths, with_excluded=True) if f in set(plan.excluded)]
    if not files:
        raise PlanError("nothing excluded there")
    back = set(files)
    excluded = tuple(f for f in plan.excluded if f not in back)
    return plan.with_chunks(
        plan.chunks, unassigned=tuple(sorted((*plan.unassigned, *back))), excluded=excluded
    )


def toggle_exclude(plan: Plan, paths: Iterable[str]) -> Plan:
    """Exclude the paths, or include them when every file named is excluded already."""
    paths = list(paths)
    files = expand(plan, paths, with_excluded=True)
    excluded = set(plan.excluded)
    if files and all(f in excluded for f in files):
        return include(plan, paths)
    return exclude(plan, paths)


def set_priority(plan: Plan, name: str, priority: int) -> Plan:
    plan.chunk(name)
    return plan.with_chunks(
        replace(c, priority=priority) if c.name == name else c for c in plan.chunks
    )


def rebalance(
    plan: Plan,
    sizes: Mapping[str, int],
    strategy: str,
    limits: Limits,
    subtree: str = "",
) -> Plan:
    """Re-run ``strategy`` on the files under ``subtree`` ('' = the whole repository).

    Chunks wholly inside the sub-tree are replaced; chunks reaching outside it keep their
    other files. Excluded files stay excluded. A new chunk is named after what it holds (by
    the strategy) and keeps the priority most of its files had: a re-balance changes the
    cut, not what the user said should run first.
    """
    if strategy not in STRATEGIES:
        raise PlanError(f"unknown strategy {strategy!r} (use {', '.join(STRATEGIES)})")
    files = expand(plan, [subtree])
    if not files:
        raise PlanError(f"no file to re-balance under {subtree or 'the repository'}")
    moving = set(files)
    chunks, unassigned, excluded = _without(plan, moving)
    kept = [c for c in chunks if c.files]
    taken = {c.name for c in kept}
    priority_of = {f: c.priority for c in plan.chunks if c.priority for f in c.files}
    fresh = [
        replace(chunk, priority=_most_said(priority_of.get(f, 0) for f in chunk.files))
        for chunk in partition(
            [SourceFile(p, sizes.get(p, 0)) for p in files], strategy, limits, taken=taken
        )
    ]
    # New chunks go where the first replaced chunk stood, so the list keeps its shape.
    position = next(
        (i for i, c in enumerate(plan.chunks) if any(f in moving for f in c.files)),
        len(plan.chunks),
    )
    before = [c for c in kept if plan.names.index(c.name) < position]
    after = [c for c in kept if plan.names.index(c.name) >= position]
    changes: dict[str, object] = {"unassigned": tuple(unassigned), "excluded": tuple(excluded)}
    if subtree in ("", "/"):
        changes.update(strategy=strategy, max_files_per_chunk=limits.max_files)
    return plan.with_chunks([*before, *fresh, *after], **changes)


def _most_said(priorities: Iterable[int]) -> int:
    """The priority most files had (on a tie, the higher one)."""
    counts = Counter(priorities)
    return max(counts.items(), key=lambda item: (item[1], item[0]))[0] if counts else 0


@dataclass(slots=True)
class PlanHistory:
    """The current plan with undo and redo stacks; every edit goes through ``apply``.

    Each step keeps the words the user was told when it was made ("Split src-api in
    half"), so undo and redo can say what they undid.
    """

    plan: Plan
    limit: int = 500
    _undo: list[tuple[Plan, str]] = field(default_factory=list)
    _redo: list[tuple[Plan, str]] = field(default_factory=list)

    def apply(self, edit: Edit, label: str = "") -> Plan:
        """Run an edit; on PlanError nothing changes and the error propagates."""
        new = edit(self.plan)
        if new == self.plan:
            return self.plan
        self._undo.append((self.plan, label))
        del self._undo[: -self.limit]
        self._redo.clear()
        self.plan = new
        return new

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str:
        """What ``undo`` would take back ("" when unnamed or nothing)."""
        return self._undo[-1][1] if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1][1] if self._redo else ""

    def undo(self) -> bool:
        if not self._undo:
            return False
        plan, label = self._undo.pop()
        self._redo.append((self.plan, label))
        self.plan = plan
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        plan, label = self._redo.pop()
        self._undo.append((self.plan, label))
        self.plan = plan
        return True
