"""Split files into chunks: by directory, balanced work, file type, or equal counts.

Every strategy honours ``max_files_per_chunk`` and the estimated-token cap (a single file
larger than the cap gets a chunk of its own) and gives chunks stable, readable names.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from tui_orchestrator.engine.config import STRATEGIES
from tui_orchestrator.engine.discovery import SourceFile
from tui_orchestrator.engine.errors import PlanError
from tui_orchestrator.engine.plan import Chunk, Plan, common_folder, slug, unique_name


@dataclass(slots=True, frozen=True)
class Limits:
    """The bounds a chunk must respect, and the worker count a balanced plan is cut for."""

    max_files: int = 10
    max_tokens: int = 60_000
    chunk_workers: int = 4


@dataclass(slots=True)
class _Group:
    label: str
    files: list[SourceFile]
    tokens: int = 0

    def __post_init__(self) -> None:
        self.tokens = sum(f.tokens for f in self.files)


def partition(
    files: Sequence[SourceFile], strategy: str, limits: Limits, taken: set[str] | None = None
) -> list[Chunk]:
    """Chunks for ``files`` by ``strategy``; names avoid those in ``taken`` (which is updated)."""
    if strategy not in STRATEGIES:
        raise PlanError(f"unknown strategy {strategy!r} (use {', '.join(STRATEGIES)})")
    ordered = sorted(files, key=lambda f: f.path)
    if strategy == "directory":
        groups = _by_directory(ordered, limits)
    elif strategy == "balanced":
        groups = _balanced(ordered, limits)
    elif strategy == "filetype":
        groups = _by_filetype(ordered, limits)
    else:
        groups = [
            _Group(common_folder([f.path for f in piece]), piece)
            for piece in _greedy_pieces(ordered, limits.max_files, limits.max_tokens)
        ]
    names = set() if taken is None else taken
    counters: dict[str, int] = {}
    return [
        Chunk(unique_name(slug(g.label), names, counters), tuple(f.path for f in g.files))
        for g in groups
        if g.files
    ]


def make_plan(files: Sequence[SourceFile], strategy: str, limits: Limits) -> Plan:
    """A whole plan for the discovered files."""
    return Plan(
        chunks=tuple(partition(files, strategy, limits)),
        strategy=strategy,
        max_files_per_chunk=limits.max_files,
    )


def _fits(files: int, tokens: int, limits: Limits) -> bool:
    return files <= limits.max_files and tokens <= limits.max_tokens


def _even_pieces(files: list[SourceFile], limits: Limits) -> list[list[SourceFile]]:
    """Cut an ordered run of files into as few pieces as the limits allow, of even size."""
    if not files:
        return []
    tokens = sum(f.tokens for f in files)
    count = max(math.ceil(len(files) / limits.max_files), math.ceil(tokens / limits.max_tokens))
    size = math.ceil(len(files) / count)
    pieces: list[list[SourceFile]] = []
    for start in range(0, len(files), size):
        # An even cut can still break the token cap where big files cluster.
        pieces.extend(
            _greedy_pieces(files[start : start + size], limits.max_files, limits.max_tokens)
        )
    return pieces


def _greedy_pieces(
    files: Sequence[SourceFile], max_files: int, max_tokens: int
) -> list[list[SourceFile]]:
    pieces: list[list[SourceFile]] = []
    current: list[SourceFile] = []
    tokens = 0
    for f in files:
        size = f.tokens
        if current and (len(current) >= max_files or tokens + size > max_tokens):
            pieces.append(current)
            current, tokens = [], 0
        current.append(f)
        tokens += size
    if current:
        pieces.append(current)
    return pieces


@dataclass(slots=True)
class _Folder:
    files: list[SourceFile] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    total_files: int = 0
    total_tokens: int = 0


def _by_directory(files: list[SourceFile], limits: Limits) -> list[_Group]:
    """A folder that fits is one chunk; a big one is split; small siblings are merged."""
    folders: dict[str, _Folder] = {"": _Folder()}
    for f in files:
        folder = f.folder
        node = folders.get(folder)
        if node is None:
            # Create the chain of parents the first time a folder is seen.
            parts = folder.split("/")
            for depth in range(1, len(parts) + 1):
                path = "/".join(parts[:depth])
                if path not in folders:
                    folders[path] = _Folder()
                    folders["/".join(parts[: depth - 1])].children.append(path)
            node = folders[folder]
        node.files.append(f)
    # Totals bottom-up: deeper folders first.
    for path in sorted(folders, key=lambda p: p.count("/") + (p != ""), reverse=True):
        node = folders[path]
        node.total_files = len(node.files) + sum(folders[c].total_files for c in node.children)
        node.total_tokens = sum(f.tokens for f in node.files) + sum(
            folders[c].total_tokens for c in node.children
        )

    def all_files(path: str) -> list[SourceFile]:
        node = folders[path]
        out = list(node.files)
        for child in node.children:
            out.extend(all_files(child))
        return out

    def visit(path: str) -> list[_Group]:
        node = folders[path]
        if _fits(node.total_files, node.total_tokens, limits):
            return [_Group(path, sorted(all_files(path), key=lambda f: f.path))]
        groups = [_Group(path, piece) for piece in _even_pieces(node.files, limits)]
        for child in sorted(node.children):
            groups.extend(visit(child))
        return _merge_small(groups, path, limits)

    return visit("")


def _merge_small(groups: list[_Group], parent: str, limits: Limits) -> list[_Group]:
    """Join neighbouring tiny groups (under half the limits) while together they fit."""

    def tiny(group: _Group) -> bool:
        return len(group.files) * 2 <= limits.max_files and group.tokens * 2 <= limits.max_tokens

    merged: list[_Group] = []
    labels: list[list[str]] = []
    for group in groups:
        last = merged[-1] if merged else None
        if (
            last is not None
            and tiny(last)
            and tiny(group)
            and _fits(len(last.files) + len(group.files), last.tokens + group.tokens, limits)
        ):
            labels[-1].append(group.label)
            merged[-1] = _Group(
                _merged_label(labels[-1], last.files + group.files, parent),
                last.files + group.files,
            )
        else:
            merged.append(group)
            labels.append([group.label])
    return merged


def _merged_label(labels: list[str], files: list[SourceFile], parent: str) -> str:
    """``src/a`` + ``src/b`` -> ``src/a+b``: the parent, then the folders' own names."""
    distinct = list(dict.fromkeys(labels))
    if len(distinct) == 1:
        return distinct[0]
    base = common_folder([f.path for f in files]) or parent
    tails = [
        label[len(base) :].strip("/") if label.startswith(base) else label for label in distinct
    ]
    tails = [t.replace("/", "-") or "files" for t in tails]
    shown = "+".join(tails[:2]) + (f"+{len(tails) - 2}more" if len(tails) > 2 else "")
    return f"{base}/{shown}" if base else shown


def _balanced(files: list[SourceFile], limits: Limits) -> list[_Group]:
    """Even estimated work per chunk: longest-processing-time first into k bins.

    k is the fewest chunks the limits allow, rounded up to a multiple of the worker
    count, so the chunks also spread evenly over the workers (no lone last wave).
    """
    if not files:
        return []
    total = sum(f.tokens for f in files)
    k = max(math.ceil(len(files) / limits.max_files), math.ceil(total / limits.max_tokens), 1)
    k = min(len(files), math.ceil(k / limits.chunk_workers) * limits.chunk_workers)
    bins: list[list[SourceFile]] = [[] for _ in range(k)]
    heap = [(0, i) for i in range(k)]
    for f in sorted(files, key=lambda f: (-f.tokens, f.path)):
        load, index = heapq.heappop(heap)
        if bins[index] and load + f.tokens > limits.max_tokens:
            # Not even the least loaded chunk has room under the token cap: open another.
            heapq.heappush(heap, (load, index))
            bins.append([])
            load, index = 0, len(bins) - 1
        bins[index].append(f)
        if len(bins[index]) < limits.max_files:
            heapq.heappush(heap, (load + f.tokens, index))
    groups = []
    for members in bins:
        members.sort(key=lambda f: f.path)
        groups.append(_Group(_balanced_label(members), members))
    groups.sort(key=lambda g: g.files[0].path if g.files else "")
    return groups


def _balanced_label(members: list[SourceFile]) -> str:
    """The common folder, or else the folder most of the chunk's files live in."""
    common = common_folder([f.path for f in members])
    if common or not members:
        return common
    counts: dict[str, int] = {}
    for f in members:
        counts[f.folder] = counts.get(f.folder, 0) + 1
    return max(sorted(counts), key=lambda folder: counts[folder])


def _by_filetype(files: list[SourceFile], limits: Limits) -> list[_Group]:
    by_ext: dict[str, list[SourceFile]] = {}
    for f in files:
        name = f.path.rpartition("/")[2]
        ext = name.rpartition(".")[2].lower() if "." in name else "other"
        by_ext.setdefault(ext, []).append(f)
    groups = []
    for ext in sorted(by_ext):
        groups.extend(_Group(ext, piece) for piece in _even_pieces(by_ext[ext], limits))
    return groups
