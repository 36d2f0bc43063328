"""Getting a run ready: which plan it uses, the checkpoint it resumes, what went stale.

docs/plan-and-checkpoint.md: an existing checkpoint wins over partition flags unless
``--fresh`` moves it aside; a plan file that differs from it is shown and applied only when
the user says so (``--apply-plan``, or the app's question); without a checkpoint the plan
comes from ``--plan``, the saved plan, or the config. On resume, done chunks are kept; a
file changed or added since its chunk finished makes that chunk stale, re-queued for the
changed and new files only; a changed prompt (or backend) makes every chunk stale.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

from tui_orchestrator.engine.changes import Changes
from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    CheckpointStore,
    ChunkState,
    ChunkStatus,
    file_hash,
)
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.discovery import Discovery, discover, resolve_repo
from tui_orchestrator.engine.errors import CheckpointError, PlanError, PlanMismatchError
from tui_orchestrator.engine.plan import Chunk, Plan, home_chunk, load_plan_file
from tui_orchestrator.engine.plan_diff import PlanChange, diff_plans, plan_to_apply
from tui_orchestrator.engine.project import (
    Project,
    nothing_changed,
    nothing_to_review,
    open_project,
)
from tui_orchestrator.engine.prompt import fingerprint, load_instructions
from tui_orchestrator.engine.statedir import (
    default_checkpoint_path,
    default_plan_path,
    since_checkpoint_path,
    since_plan_path,
)
from tui_orchestrator.engine.wording import agree, plural


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
    # A plan file that differs from the resumed checkpoint, for the app to ask about.
    plan_change: PlanChange | None = None


def checkpoint_from_plan(plan: Plan, root: Path, backend: str) -> Checkpoint:
    return Checkpoint(
        repo=str(root),
        chunks=[ChunkState(c.name, list(c.files), priority=c.priority) for c in plan.chunks],
        backend=backend,
        unassigned=list(plan.unassigned),
        excluded=list(plan.excluded),
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
    apply_plan_file: bool = False,
    project: Project | None = None,
    since: Changes | None = None,
) -> RunSetup:
    """Load or create the checkpoint for a run. Call it while holding the repo lock.

    Every input (checkpoint, plan file, discovery) is read and checked before anything is
    moved or written: bad input leaves every file as it was (docs/plan-and-checkpoint.md).
    ``project``: the repository already opened with the same settings (the app shows it
    first); its discovery and plan are used instead of walking the repository again, and
    its notes are the caller's to show.

    ``since``: a change review (docs/change-review.md): only the changed files, its own
    checkpoint and plan in ``.claude-tui/since/``, which record the change.
    """
    root = resolve_repo(repo)
    own = default_checkpoint_path(root) if since is None else since_checkpoint_path(root)
    store = CheckpointStore(checkpoint_path or own)
    instructions = load_instructions(config.prompt_file)
    prompt_fingerprint = fingerprint(f"{backend}\n{instructions}")
    existing = _existing_checkpoint(store, root, fresh, own)
    if existing is not None:
        _check_same_kind(existing, store.path, since)
    notes: list[str] = []
    if existing is None or fresh:
        if project is None:
            project = open_project(root, config, plan_file, partition_flags_given, since=since)
            notes += project.notes
        checkpoint = checkpoint_from_plan(project.plan, root, backend)
        checkpoint.fingerprint = prompt_fingerprint
        checkpoint.change = since
        # Only now, with every input read: the old checkpoint goes aside.
        if fresh:
            backup = store.move_aside()
            if backup is not None:
                notes.append(f"--fresh: the old checkpoint was moved to {backup}")
        store.remove_stale_temp_files()
        notes += left_out_notes(checkpoint)
        return RunSetup(
            root, checkpoint, store, instructions, project.sizes, False, notes,
            project.discovery, project.plan,
        )  # fmt: skip
    checkpoint = existing
    if partition_flags_given:
        notes.append(
            "the checkpoint wins: --strategy/--max-files-per-chunk are ignored "
            "(use --fresh to start over with them)"
        )
    if project is not None:
        discovery = project.discovery
    else:
        discovery = discover(root, config, only=None if since is None else since.files)
    if not discovery.files:
        raise (
            nothing_to_review(root, discovery)
            if since is None
            else nothing_changed(root, since, discovery)
        )
    sizes = {f.path: f.size for f in discovery.files}
    _refuse_losing_findings(checkpoint, root, sizes, None if since is None else since.files)
    if since is not None:
        notes += _follow_change(checkpoint, since, set(sizes))
    notes += refresh(checkpoint, root, sizes, prompt_fingerprint, headless, config)
    saved_plan = default_plan_path(root) if since is None else since_plan_path(root)
    change = plan_file_change(checkpoint, root, plan_file, set(sizes), saved_plan)
    setup = RunSetup(root, checkpoint, store, instructions, sizes, True, notes, discovery)
    if change is not None:
        if apply_plan_file:
            notes.append(f"applied {change.source}: {change.diff.summary()}")
            notes += apply_plan(checkpoint, change.target)
        elif headless:
            raise PlanMismatchError(
                f"{change.source} differs from the run's checkpoint ({change.diff.summary()}): "
                "run with --apply-plan to follow it (changed chunks are reviewed again), or "
                "open the app to see the difference"
            )
        else:
            setup.plan_change = change  # the app shows it and asks
    store.remove_stale_temp_files()
    notes += left_out_notes(checkpoint)
    return setup


def _existing_checkpoint(
    store: CheckpointStore, root: Path, fresh: bool, own: Path
) -> Checkpoint | None:
    """The checkpoint there is, checked to be this repository's; None when there is none.

    With ``--fresh`` a checkpoint that cannot be parsed is no obstacle (it is moved aside),
    but only when it is this repository's own: another one's is never touched.
    """
    try:
        checkpoint = store.load()
    except CheckpointError:
        if not fresh:
            raise
        if store.path != own:
            raise CheckpointError(
                f"{store.path} cannot be parsed, so whose it is cannot be told: --fresh "
                "moves aside only a checkpoint it can read, or this repository's own"
            ) from None
        return None
    if checkpoint is not None:
        _check_same_repo(checkpoint.repo, root, store.path, own)
    return checkpoint


def _check_same_kind(checkpoint: Checkpoint, path: Path, since: Changes | None) -> None:
    """A change review's checkpoint serves only a change review, and a full review's only
    a full review: resuming one as the other would rewrite it with other files."""
    if since is not None and checkpoint.change is None:
        raise CheckpointError(
            f"{path} is the checkpoint of a full review, not of a change review: --since "
            "keeps its own (leave out --checkpoint)"
        )
    if since is None and checkpoint.change is not None:
        raise CheckpointError(
            f"{path} is the checkpoint of a change review (--since "
            f"{checkpoint.change.ref}): give --since to go on with it"
        )


def _follow_change(checkpoint: Checkpoint, since: Changes, reviewable: set[str]) -> list[str]:
    """Record the change as it is now; say what moved since the checkpoint's."""
    before = checkpoint.change
    checkpoint.change = since
    if before is None:
        return []
    notes = []
    if before.base != since.base:
        notes.append(
            f"the change review's base moved ({before.ref} {before.base[:10]} → "
            f"{since.ref} {since.base[:10]}): files reviewed before are kept where unchanged"
        )
    kept = {f for c in checkpoint.chunks for f in c.files}
    dropped = len(kept - reviewable)
    if dropped:
        notes.append(
            f"{plural(dropped, 'file')} of the last change review "
            f"{agree(dropped, 'has', 'have')} no change any more: left out, with "
            f"{agree(dropped, 'its', 'their')} findings"
        )
    return notes


def left_out_notes(checkpoint: Checkpoint) -> list[str]:
    """Say how many files the run leaves out, and where to see them."""
    if not checkpoint.unassigned:
        return []
    return [
        f"{plural(len(checkpoint.unassigned), 'file')} {agree(len(checkpoint.unassigned), 'is', 'are')} in no chunk and not reviewed: see them "
        "(unassigned) in the app's plan view or with `claude-tui plan REPO --skipped`"
    ]


def plan_file_change(
    checkpoint: Checkpoint,
    root: Path,
    plan_file: Path | None,
    present: set[str],
    saved_plan: Path | None = None,
) -> PlanChange | None:
    """How the plan file (``--plan``, else ``.claude-tui/plan.toml``) differs from the run.

    None when there is no plan file or it agrees with the checkpoint. A plan file that
    cannot be read is bad input (PlanError), as it is without a checkpoint.
    """
    path = plan_file if plan_file is not None else saved_plan or default_plan_path(root)
    if plan_file is None and not path.is_file():
        if path.exists():
            raise PlanError(f"{path} is not a file: move it away, claude-tui keeps the plan there")
        return None
    wanted = load_plan_file(path)
    run = plan_of(checkpoint)
    diff = diff_plans(run, wanted, present)
    if not diff:
        return None
    return PlanChange(str(path), diff, plan_to_apply(run, wanted, present))


def _check_same_repo(recorded: str, root: Path, path: Path, own: Path) -> None:
    """A checkpoint of another repository is refused: resuming it here would rewrite it.

    A repository that moved keeps its checkpoint in its own `.claude-tui/`, which is fine;
    a checkpoint given with --checkpoint that names a repository still there is not ours.
    """
    if not recorded or Path(recorded) == root or path == own:
        return
    if Path(recorded).is_dir():
        raise CheckpointError(
            f"{path} is the checkpoint of {recorded}, not of {root}: "
            "give that repository, or another --checkpoint"
        )


def _refuse_losing_findings(
    checkpoint: Checkpoint,
    root: Path,
    sizes: dict[str, int],
    looked_at: Collection[str] | None = None,
) -> None:
    """Settings that would drop files of chunks holding findings are refused.

    A file gone from the repository takes its findings with it; a file still there that
    discovery now skips (other ``file_types``, a smaller ``max_file_bytes``, an ignore
    rule) is a change of settings, and the checkpoint is never rewritten with less than it
    holds because of one. ``looked_at``: the files a change review looked at (a file no
    longer changed is no setting's doing).
    """
    losing: dict[str, int] = {}
    for state in checkpoint.chunks:
        if not state.issues:
            continue
        skipped = [
            f
            for f in state.files
            if f not in sizes and (looked_at is None or f in looked_at) and (root / f).exists()
        ]
        if skipped:
            losing[state.name] = len(skipped)
    if losing:
        names = sorted(losing)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise CheckpointError(
            f"the settings now skip {plural(sum(losing.values()), 'file')} of {agree(len(losing), 'a chunk', 'chunks')} holding "
            f"findings ({shown}): the checkpoint is left as it is; run with the settings "
            "it was made with, or --fresh to start over"
        )


def refresh(
    checkpoint: Checkpoint,
    root: Path,
    sizes: dict[str, int],
    prompt_fingerprint: str,
    headless: bool,
    config: Config | None = None,
) -> list[str]:
    """Mark stale chunks and place new files; returns notes for the user.

    Files the plan left unassigned or excluded stay so; only a file in no plan at all is
    new, and joins the chunk of its folder (chunks of their own when no chunk is left).
    """
    notes: list[str] = []
    if checkpoint.fingerprint and checkpoint.fingerprint != prompt_fingerprint:
        redo = [c for c in checkpoint.chunks if c.status is not ChunkStatus.PENDING or c.issues]
        for state in checkpoint.chunks:
            _requeue(state, list(state.files), fresh_session=True)
            state.issues = []
        if redo:
            notes.append(
                f"the prompt or backend changed: all {plural(len(checkpoint.chunks), 'chunk')} will be reviewed again"
            )
    checkpoint.fingerprint = prompt_fingerprint
    known: set[str] = set()
    stale = 0
    for state in checkpoint.chunks:
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
    checkpoint.unassigned = [p for p in checkpoint.unassigned if p in sizes and p not in known]
    known.update(checkpoint.unassigned)
    checkpoint.excluded = [p for p in checkpoint.excluded if p in sizes and p not in known]
    known.update(checkpoint.excluded)
    empty = [c.name for c in checkpoint.chunks if not c.files]
    checkpoint.chunks = [c for c in checkpoint.chunks if c.files]
    added = [p for p in sizes if p not in known]
    if added and not checkpoint.chunks:
        # Every chunk's files are gone: the new files get chunks of their own.
        checkpoint.chunks = _new_chunks(added, sizes, config)
    elif added:
        by_name = {c.name: c for c in checkpoint.chunks}
        homes = [(c.name, c.files) for c in checkpoint.chunks]
        for path in added:
            state = by_name[home_chunk(path, homes) or checkpoint.chunks[0].name]
            state.files.append(path)
            if state.status is ChunkStatus.DONE:
                _requeue(state, [path], fresh_session=True)
                stale += 1
            elif state.todo:
                state.todo.append(path)
    if stale:
        notes.append(
            f"{plural(stale, 'finished chunk')} {agree(stale, 'has', 'have')} changed or new files: only those are reviewed again"
        )
    if added:
        notes.append(f"{plural(len(added), 'new file')} joined the chunks of their folders")
    if empty:
        notes.append(
            f"{agree(len(empty), 'a chunk', 'chunks')} whose files are all gone {agree(len(empty), 'was', 'were')} dropped: {', '.join(empty)}"
        )
    return notes


def _new_chunks(files: list[str], sizes: dict[str, int], config: Config | None) -> list[ChunkState]:
    from tui_orchestrator.engine.discovery import SourceFile
    from tui_orchestrator.engine.partition import make_plan
    from tui_orchestrator.engine.project import limits_of

    config = config or Config()
    plan = make_plan(
        [SourceFile(path, sizes[path]) for path in files], config.strategy, limits_of(config)
    )
    return [ChunkState(c.name, list(c.files), priority=c.priority) for c in plan.chunks]


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


def plan_of(checkpoint: Checkpoint) -> Plan:
    """The checkpoint's chunks as a plan (the app edits this when a run exists)."""
    return Plan(
        chunks=tuple(
            Chunk(c.name, tuple(c.files), c.priority) for c in checkpoint.chunks if c.files
        ),
        unassigned=tuple(checkpoint.unassigned),
        excluded=tuple(checkpoint.excluded),
    )


def apply_plan(checkpoint: Checkpoint, plan: Plan) -> list[str]:
    """Make the checkpoint's chunks follow an edited plan, keeping the work already done.

    A chunk keeps its state when its name stays, or when it was renamed (another name, the
    same files); files added to a finished chunk make it stale for those files only;
    files taken out of a chunk take their findings with them; a new chunk starts pending;
    a chunk gone from the plan leaves the checkpoint. Call it only while no chunk runs.
    """
    present = set(plan.all_files()) | {f for c in checkpoint.chunks for f in c.files}
    renames = diff_plans(plan_of(checkpoint), plan, present).renames
    old = {c.name: c for c in checkpoint.chunks}
    chunks: list[ChunkState] = []
    notes: list[str] = []
    for chunk in plan.chunks:
        state = old.pop(chunk.name, None)
        if state is None and chunk.name in renames:
            state = old.pop(renames[chunk.name], None)
            if state is not None:
                state.name = chunk.name
                state.issues = [replace(i, chunk=chunk.name) for i in state.issues]
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
                notes.append(f"{chunk.name}: {plural(len(added), 'new file')} to review")
            elif state.todo:
                state.todo = [*state.todo, *added]
        chunks.append(state)
    if old:
        notes.append(
            f"{agree(len(old), 'a chunk', 'chunks')} no longer in the plan: {', '.join(sorted(old))}"
        )
    checkpoint.chunks = chunks
    checkpoint.unassigned = list(plan.unassigned)
    checkpoint.excluded = list(plan.excluded)
    return notes
