"""How a plan file differs from the run's checkpoint, and the plan that applying it gives.

A plan file edited after a run started (by hand, or by ``claude-tui plan --write``) is the
user's work: it is never ignored and never overwritten without their say
(docs/plan-and-checkpoint.md). This module says what differs, in the user's words (chunks
added, removed, renamed, files moved, priorities), and builds the plan a run follows when
the user applies the file.

Only files the plan file names are compared: a file added to the repository since the file
was written is in no plan file, so its place in the run (the chunk of its folder) is no
disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tui_orchestrator.engine.plan import Chunk, Plan, home_chunk

# What a file's place is when it is in no chunk.
UNASSIGNED = "(unassigned)"
EXCLUDED = "(excluded)"


@dataclass(slots=True, frozen=True)
class FileMove:
    path: str
    before: str  # a chunk name, UNASSIGNED or EXCLUDED
    after: str


@dataclass(slots=True, frozen=True)
class PlanDiff:
    """What the plan file changes in the run's plan."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()  # (run's name, the file's name)
    moved: tuple[FileMove, ...] = ()
    priorities: tuple[tuple[str, int, int], ...] = ()  # (chunk, run's, the file's)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.renamed or self.moved or self.priorities)

    def summary(self) -> str:
        """One line: '2 chunks added (a, b); 1 renamed (x → y); 5 files moved'."""
        parts: list[str] = []
        if self.added:
            parts.append(f"{_count(self.added, 'chunk')} added ({_names(self.added)})")
        if self.removed:
            parts.append(f"{_count(self.removed, 'chunk')} removed ({_names(self.removed)})")
        if self.renamed:
            pairs = [f"{old} → {new}" for old, new in self.renamed]
            parts.append(f"{_count(self.renamed, 'chunk')} renamed ({_names(pairs)})")
        if self.moved:
            parts.append(f"{_count(self.moved, 'file')} moved")
        if self.priorities:
            parts.append(f"{_count(self.priorities, 'priority', 'priorities')} changed")
        return "; ".join(parts)

    def lines(self, limit: int = 40) -> list[str]:
        """Every difference, one a line (the app's dialog shows them)."""
        out = [f"+ chunk {name}" for name in self.added]
        for name in self.removed:
            left = sum(m.before == name and m.after == UNASSIGNED for m in self.moved)
            note = f" ({left} of its files become unassigned)" if left else ""
            out.append(f"- chunk {name}{note}")
        out += [f"~ chunk {old} renamed to {new}" for old, new in self.renamed]
        out += [f"  {m.path}: {m.before} → {m.after}" for m in self.moved]
        out += [f"  {name}: priority {a} → {b}" for name, a, b in self.priorities]
        if len(out) > limit:
            out = [*out[:limit], f"  … and {len(out) - limit} more"]
        return out

    @property
    def renames(self) -> dict[str, str]:
        """The file's name of each renamed chunk → the run's name."""
        return {new: old for old, new in self.renamed}


@dataclass(slots=True, frozen=True)
class PlanChange:
    """A plan file that differs from the run: the difference and the plan applying it gives."""

    source: str  # the plan file, for the user
    diff: PlanDiff
    target: Plan


def _count(items: tuple[object, ...] | list[object], word: str, plural: str = "") -> str:
    n = len(items)
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _names(names: tuple[str, ...] | list[str], limit: int = 5) -> str:
    shown = ", ".join(list(names)[:limit])
    return shown + (f", … {len(names) - limit} more" if len(names) > limit else "")


def _places(plan: Plan, mentioned: set[str] | None = None) -> dict[str, str]:
    places: dict[str, str] = {}
    for chunk in plan.chunks:
        for path in chunk.files:
            places[path] = chunk.name
    for path in plan.unassigned:
        places.setdefault(path, UNASSIGNED)
    for path in plan.excluded:
        places.setdefault(path, EXCLUDED)
    if mentioned is not None:
        places = {p: where for p, where in places.items() if p in mentioned}
    return places


def diff_plans(run: Plan, wanted: Plan, present: set[str]) -> PlanDiff:
    """How ``wanted`` (a plan file as written) differs from ``run`` (the checkpoint's plan).

    ``present``: the files discovery finds now; files of either plan that are gone, and
    files ``wanted`` does not name, are no difference.
    """
    mentioned = {p for p in wanted.all_files() if p in present}
    run_places = _places(run, mentioned)
    wanted_places = _places(wanted, mentioned)
    run_files = {c.name: frozenset(p for p in c.files if p in mentioned) for c in run.chunks}
    wanted_files = {c.name: frozenset(p for p in c.files if p in mentioned) for c in wanted.chunks}
    only_run = [name for name in run_files if name not in wanted_files and run_files[name]]
    only_wanted = [name for name in wanted_files if name not in run_files]
    renamed: list[tuple[str, str]] = []
    for new in list(only_wanted):
        match = next(
            (old for old in only_run if run_files[old] and run_files[old] == wanted_files[new]),
            None,
        )
        if match is not None:
            renamed.append((match, new))
            only_run.remove(match)
            only_wanted.remove(new)
    new_name = {old: new for old, new in renamed}
    moved = tuple(
        FileMove(path, run_places.get(path, UNASSIGNED), after)
        for path, after in wanted_places.items()
        if new_name.get(run_places.get(path, UNASSIGNED), run_places.get(path, UNASSIGNED)) != after
    )
    run_priority = {new_name.get(c.name, c.name): c.priority for c in run.chunks}
    priorities = tuple(
        (c.name, run_priority[c.name], c.priority)
        for c in wanted.chunks
        if c.name in run_priority and run_priority[c.name] != c.priority
    )
    return PlanDiff(
        added=tuple(only_wanted),
        removed=tuple(only_run),
        renamed=tuple(renamed),
        moved=moved,
        priorities=priorities,
    )


def plan_to_apply(run: Plan, wanted: Plan, present: set[str]) -> Plan:
    """The plan a run follows once the user applies ``wanted`` (the plan file).

    Every file ``wanted`` names goes where it says. A file it does not name (new since it
    was written) keeps its place in the run when that chunk is still there, else joins the
    chunk whose files share its deepest folder.
    """
    mentioned = {p for p in wanted.all_files() if p in present}
    renames = {old: new for old, new in diff_plans(run, wanted, present).renamed}
    chunks: dict[str, list[str]] = {
        c.name: [p for p in c.files if p in present] for c in wanted.chunks
    }
    unassigned = [p for p in wanted.unassigned if p in present]
    excluded = [p for p in wanted.excluded if p in present]
    for chunk in run.chunks:
        home = renames.get(chunk.name, chunk.name)
        for path in chunk.files:
            if path in mentioned or path not in present:
                continue
            if home not in chunks:
                home = home_chunk(path, chunks.items()) or home
            chunks.setdefault(home, []).append(path)
    for path in (*run.unassigned, *run.excluded):
        if path in present and path not in mentioned:
            (excluded if path in run.excluded else unassigned).append(path)
    priority = {c.name: c.priority for c in wanted.chunks}
    return replace(
        wanted,
        chunks=tuple(
            Chunk(name, tuple(files), priority.get(name, 0))
            for name, files in chunks.items()
            if files
        ),
        unassigned=tuple(unassigned),
        excluded=tuple(excluded),
        _index=None,
    )
