"""What the repository tree shows: folders, their children, and each path's chunk tag.

Built once from discovery in one pass (no file is read), so a 100,000-file repository
costs a few dictionary inserts a file; the tree widget asks for one folder's children only
when that folder is expanded. Tags depend on the plan and are computed on demand, once
per plan (plans are immutable, so a new plan simply means a new ``PlanTags``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tui_orchestrator.engine.discovery import Discovery
from tui_orchestrator.engine.plan import Plan


class Kind(StrEnum):
    FOLDER = "folder"
    FILE = "file"
    SKIPPED_FOLDER = "skipped-folder"
    SKIPPED_FILE = "skipped-file"


@dataclass(slots=True, frozen=True)
class Entry:
    """One row of the tree: a repo-relative path ('' is the repository root)."""

    path: str
    name: str
    kind: Kind
    reason: str = ""

    @property
    def skipped(self) -> bool:
        return self.kind in (Kind.SKIPPED_FILE, Kind.SKIPPED_FOLDER)

    @property
    def is_folder(self) -> bool:
        return self.kind == Kind.FOLDER


@dataclass(slots=True)
class Folder:
    path: str
    folders: dict[str, Folder] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    skipped: list[Entry] = field(default_factory=list)


class TagKind(StrEnum):
    CHUNK = "chunk"
    UNASSIGNED = "unassigned"
    EXCLUDED = "excluded"
    MIXED = "mixed"


@dataclass(slots=True, frozen=True)
class Tag:
    """A path's place in the plan: one chunk, unassigned, excluded, or mixed (folders)."""

    kind: TagKind
    chunk: str = ""
    # Position of the chunk in the plan, which picks its colour.
    position: int = -1

    @property
    def text(self) -> str:
        return self.chunk if self.kind == TagKind.CHUNK else str(self.kind)


UNASSIGNED = Tag(TagKind.UNASSIGNED)
EXCLUDED = Tag(TagKind.EXCLUDED)
MIXED = Tag(TagKind.MIXED)


class RepoIndex:
    """The folder structure of a discovery, with reviewable and skipped entries."""

    def __init__(self, discovery: Discovery) -> None:
        self.root = Folder("")
        self._folders: dict[str, Folder] = {"": self.root}
        for source in discovery.files:
            folder, _, _ = source.path.rpartition("/")
            self._folder(folder).files.append(source.path)
        for item in discovery.skipped:
            path = item.path.rstrip("/")
            parent, _, name = path.rpartition("/")
            kind = Kind.SKIPPED_FOLDER if item.path.endswith("/") else Kind.SKIPPED_FILE
            self._folder(parent).skipped.append(Entry(path, name, kind, item.reason))

    def _folder(self, path: str) -> Folder:
        folder = self._folders.get(path)
        if folder is None:
            parent, _, name = path.rpartition("/")
            folder = Folder(path)
            self._folders[path] = folder
            self._folder(parent).folders[name] = folder
        return folder

    def folder(self, path: str) -> Folder | None:
        return self._folders.get(path)

    def children(self, path: str) -> list[Entry]:
        """A folder's entries: sub-folders first, then files, each sorted by name."""
        folder = self._folders.get(path)
        if folder is None:
            return []
        folders = [Entry(sub.path, name, Kind.FOLDER) for name, sub in folder.folders.items()]
        folders += [e for e in folder.skipped if e.kind == Kind.SKIPPED_FOLDER]
        files = [Entry(p, p.rpartition("/")[2], Kind.FILE) for p in folder.files]
        files += [e for e in folder.skipped if e.kind == Kind.SKIPPED_FILE]
        folders.sort(key=lambda e: e.name)
        files.sort(key=lambda e: e.name)
        return folders + files

    def search(self, text: str) -> list[str]:
        """The paths of the entries whose name holds ``text`` (any case), in the tree's
        order (depth first): what ``/`` in the plan view steps through."""
        needle = text.casefold()
        if not needle:
            return []
        found: list[str] = []
        stack = [iter(self.children(""))]
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
                continue
            if needle in entry.name.casefold():
                found.append(entry.path)
            if entry.kind == Kind.FOLDER:
                stack.append(iter(self.children(entry.path)))
        return found

    def file_count(self, path: str) -> int:
        """Reviewable files at or below a folder (skipped ones do not count)."""
        folder = self._folders.get(path)
        if folder is None:
            return 0
        return len(folder.files) + sum(self.file_count(sub.path) for sub in folder.folders.values())


class PlanTags:
    """Tags of files and folders for one plan, computed lazily and remembered."""

    def __init__(self, index: RepoIndex, plan: Plan) -> None:
        self.index = index
        self.plan = plan
        self._positions = {chunk.name: i for i, chunk in enumerate(plan.chunks)}
        self._excluded = frozenset(plan.excluded)
        self._folders: dict[str, Tag | None] = {}

    def of_file(self, path: str) -> Tag:
        owner = self.plan.owner_of(path)
        if owner is not None:
            return Tag(TagKind.CHUNK, owner, self._positions[owner])
        return EXCLUDED if path in self._excluded else UNASSIGNED

    def of_folder(self, path: str) -> Tag | None:
        """One tag when every file below agrees, MIXED when not, None when it has no file."""
        if path in self._folders:
            return self._folders[path]
        folder = self.index.folder(path)
        tag: Tag | None = None
        if folder is not None:
            for file in folder.files:
                tag = _combine(tag, self.of_file(file))
                if tag is MIXED:
                    break
            else:
                for sub in folder.folders.values():
                    below = self.of_folder(sub.path)
                    if below is not None:
                        tag = _combine(tag, below)
                        if tag is MIXED:
                            break
        self._folders[path] = tag
        return tag

    def of(self, entry: Entry) -> Tag | None:
        if entry.kind == Kind.FILE:
            return self.of_file(entry.path)
        if entry.kind == Kind.FOLDER:
            return self.of_folder(entry.path)
        return None


def _combine(tag: Tag | None, other: Tag) -> Tag:
    if tag is None or tag == other:
        return other
    return MIXED
