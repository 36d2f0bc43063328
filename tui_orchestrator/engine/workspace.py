"""Getting a run ready: which plan it uses, the checkpoint it resumes, what went stale.

SPEC §4: an existing checkpoint wins (its chunks, whatever partition flags say) unless
``--fresh`` moves it aside; otherwise the plan comes from ``--plan``, the saved plan, or
the config. On resume, done chunks are kept; a file changed or added since its chunk
finished makes that chunk stale, re-queued for the changed and new files only; a changed
prompt (or backend) makes every chunk stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    CheckpointStore,
    ChunkState,
    ChunkStatus,
    file_hash,
)
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.discovery import Discovery, discover, resolve_repo
from tui_orchestrator.engine.errors import CheckpointError
from tui_orchestrator.engine.plan import Plan, common_folder
from tui_orchestrator.engine.project import Project, open_project
from tui_orchestrator.engine.prompt import fingerprint, load_instructions
from tui_orchestrator.engine.statedir import default_checkpoint_path


@dataclass(slots=True)
class RunSetup:
    root: Path
    checkpoint: Checkpoint
    store: CheckpointStore
    instructions: str
    sizes: dict[str, int]
    resumed: bool
    notes: list[str] = field(default_factory=list)
    discovery: Discovery | None = None
    plan: Plan | None = None


def checkpoint_from_plan(plan: Plan, root: Path, backend: str) -> Checkpoint:
    return Checkpoint(
        repo=str(root),
        chunks=[ChunkState(c.name, list(c.files), priority=c.priority) for c in plan.chunks],
        backend=backend,
    )


def prepare_run(
    repo: Path,
    config: Config,
    *,
    backend: str,
    plan_file: Path | None = None,
    checkpoint_path: Path | None = None,
    fresh: bool = False,
    partition_flags_given: bool = False,
    headless: bool = True,
    project: Project | None = None,
) -> RunSetup:
    """Load or create the checkpoint for a run. Call it while holding the repo lock.

    ``project``: the repository already opened with the same settings (the app shows it
    first); its discovery and plan are used instead of walking the repository again.
    """
    root = resolve_repo(repo)
    store = CheckpointStore(checkpoint_path or default_checkpoint_path(root))
    store.remove_stale_temp_files()
    notes: list[str] = []
    instructions = load_instructions(config.prompt_file)
    print_ = fingerprint(f"{backend}\n{instructions}")
    if fresh:
        backup = store.move_aside()
        if backup is not None:
            notes.append(f"--fresh: the old checkpoint was moved to {backup}")
    cp = store.load()
    if cp is None:
        if project is None:
            project = open_project(root, config, plan_file, partition_flags_given)
        notes += project.notes
        cp = checkpoint_from_plan(project.plan, root, backend)
        cp.fingerprint = print_
        return RunSetup(
            root, cp, store, instructions, project.sizes, False, notes,
            project.discovery, project.plan,
        )  # fmt: skip
    _check_same_repo(cp.repo, root, store.path)
    if partition_flags_given or plan_file is not None:
        notes.append(
            "the checkpoint wins: --plan/--strategy/--max-files-per-chunk are ignored "
            "(use --fresh to start over with them)"
        )
    discovery = project.discovery if project is not None else discover(root, config)
    sizes = {f.path: f.size for f in discovery.files}
    notes += refresh(cp, root, sizes, print_, headless)
    cp.repo = str(root)
    cp.backend = backend
    return RunSetup(root, cp, store, instructions, sizes, True, notes, discovery)


def _check_same_repo(recorded: str, root: Path, path: Path) -> None:
    """A checkpoint of another repository is refused: resuming it here would rewrite it.

    A repository that moved keeps its checkpoint in its own `.claude-tui/`, which is fine;
    a checkpoint given with --checkpoint that names a repository still there is not ours.
    """
    if not recorded or Path(recorded) == root or path == default_checkpoint_path(root):
        return
    if Path(recorded).is_dir():
        raise CheckpointError(
            f"{path} is the checkpoint of {recorded}, not of {root}: "
            "give that repository, or another --checkpoint"
        )


def refresh(
    cp: Checkpoint, root: Path, sizes: dict[str, int], print_: str, headless: bool
) -> list[str]:
    """Mark stale chunks and place new files; returns notes for the user."""
    notes: list[str] = []
    if cp.fingerprint and cp.fingerprint != print_:
        redo = [c for c in cp.chunks if c.status is not ChunkStatus.PENDING or c.issues]
        for state in cp.chunks:
            _requeue(state, list(state.files), fresh_session=True)
            state.issues = []
        if redo:
            notes.append(
                f"the prompt or backend changed: all {len(cp.chunks)} chunks will be reviewed again"
            )
    cp.fingerprint = print_
    known: set[str] = set()
    stale = 0
    for state in cp.chunks:
        gone = [f for f in state.files if f not in sizes]
        if gone:
            state.files = [f for f in state.files if f in sizes]
            state.issues = [i for i in state.issues if i.file not in set(gone)]
            state.files_read = [f for f in state.files_read if f in sizes]
        known.update(state.files)
        if state.status is ChunkStatus.DONE:
            changed = [f for f in state.files if state.hashes.get(f) != file_hash(root / f)]
            if changed:
                _requeue(state, changed, fresh_session=True)
                stale += 1
        if headless and state.status in (
            ChunkStatus.PAUSED,
            ChunkStatus.FAILED,
            ChunkStatus.CANCELLED,
        ):
            # Headless runs finish what is unfinished; the app leaves that to the user.
            state.status = ChunkStatus.PENDING
            state.error = ""
        if state.status is ChunkStatus.RUNNING:
            state.status = ChunkStatus.PENDING
    added = [p for p in sizes if p not in known]
    for path in added:
        state = _home_for(cp, path)
        state.files.append(path)
        if state.status is ChunkStatus.DONE:
            _requeue(state, [path], fresh_session=True)
            stale += 1
        elif state.todo:
            state.todo.append(path)
    if stale:
        notes.append(
            f"{stale} finished chunk(s) have changed or new files: only those are reviewed again"
        )
    if added:
        notes.append(f"{len(added)} new file(s) joined the chunks of their folders")
    empty = [c.name for c in cp.chunks if not c.files]
    if empty:
        cp.chunks = [c for c in cp.chunks if c.files]
        notes.append(f"chunk(s) whose files are all gone were dropped: {', '.join(empty)}")
    return notes


def _requeue(state: ChunkState, files: list[str], fresh_session: bool) -> None:
    """Queue a chunk again for ``files`` only; findings of its other files are kept."""
    state.todo = (
        sorted(set(state.todo) | set(files))
        if state.status is not ChunkStatus.DONE and state.todo
        else sorted(set(files))
    )
    if fresh_session:
        state.session_id = ""
    state.status = ChunkStatus.PENDING
    state.error = ""


def _home_for(cp: Checkpoint, path: str) -> ChunkState:
    """The chunk whose files share the deepest folder with ``path``."""
    best = cp.chunks[0]
    best_depth = -1
    for state in cp.chunks:
        if not state.files:
            continue
        shared = common_folder([path, state.files[0]])
        depth = len(shared.split("/")) if shared else 0
        if depth > best_depth:
            best, best_depth = state, depth
    return best


def plan_of(cp: Checkpoint) -> Plan:
    """The checkpoint's chunks as a plan (the app edits this when a run exists)."""
    from tui_orchestrator.engine.plan import Chunk

    return Plan(
        chunks=tuple(Chunk(c.name, tuple(c.files), c.priority) for c in cp.chunks if c.files)
    )


def apply_plan(cp: Checkpoint, plan: Plan) -> list[str]:
    """Make the checkpoint's chunks follow an edited plan, keeping the work already done.

    A chunk keeps its state when its name stays; files added to a finished chunk make it
    stale for those files only; files taken out of a chunk take their findings with them;
    a new chunk starts pending; a chunk gone from the plan leaves the checkpoint.
    Call it only while no chunk runs.
    """
    old = {c.name: c for c in cp.chunks}
    chunks: list[ChunkState] = []
    notes: list[str] = []
    for chunk in plan.chunks:
        state = old.pop(chunk.name, None)
        if state is None:
            chunks.append(ChunkState(chunk.name, list(chunk.files), priority=chunk.priority))
            continue
        files = list(chunk.files)
        removed = set(state.files) - set(files)
        added = [f for f in files if f not in set(state.files)]
        state.files = files
        state.priority = chunk.priority
        if removed:
            state.issues = [i for i in state.issues if i.file not in removed]
            state.files_read = [f for f in state.files_read if f not in removed]
            state.todo = [f for f in state.todo if f not in removed]
            for path in removed:
                state.hashes.pop(path, None)
        if added:
            if state.status is ChunkStatus.DONE:
                _requeue(state, added, fresh_session=True)
                notes.append(f"{chunk.name}: {len(added)} new file(s) to review")
            elif state.todo:
                state.todo = [*state.todo, *added]
        chunks.append(state)
    if old:
        notes.append(f"chunk(s) no longer in the plan: {', '.join(sorted(old))}")
    cp.chunks = chunks
    return notes
