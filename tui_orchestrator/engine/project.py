"""A repository opened for work: its config, what discovery found, and the plan to use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tui_orchestrator.engine.changes import Changes
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.discovery import Discovery, Progress, discover, resolve_repo
from tui_orchestrator.engine.errors import ClaudeTuiError, PlanError, RepoError
from tui_orchestrator.engine.exit_codes import EXIT_OK
from tui_orchestrator.engine.partition import Limits, make_plan
from tui_orchestrator.engine.plan import Plan, load_plan_file, reconcile
from tui_orchestrator.engine.statedir import default_plan_path, since_plan_path
from tui_orchestrator.engine.wording import agree, plural


@dataclass(slots=True)
class Project:
    root: Path
    config: Config
    discovery: Discovery
    plan: Plan
    # Where the plan came from, said to the user: "plan file …" or "computed (directory)".
    plan_source: str
    notes: list[str] = field(default_factory=list)
    # The plan file the plan was read from (None when it was computed).
    plan_file: Path | None = None
    # Bytes of every discovered file, by path.
    sizes: dict[str, int] = field(default_factory=dict)
    # A change review's changes (``--since``): discovery found only the changed files.
    since: Changes | None = None

    def __post_init__(self) -> None:
        if not self.sizes:
            self.sizes = {f.path: f.size for f in self.discovery.files}

    @property
    def plan_path(self) -> Path:
        """Where the plan is saved: a change review's apart from the full review's."""
        return since_plan_path(self.root) if self.since else default_plan_path(self.root)


def nothing_to_review(root: Path, discovery: Discovery) -> RepoError:
    """The one line for a repository where discovery finds no file to review."""
    return RepoError(
        f"nothing to analyze in {root}: no source files found "
        f"({plural(len(discovery.skipped), 'path')} skipped; see `claude-tui plan` or file_types)"
    )


class NothingChanged(ClaudeTuiError):
    """A change review with nothing to review (a docs-only change, say): no error, the
    run ends at once with an empty report (exit 0)."""

    exit_code = EXIT_OK


def nothing_changed(root: Path, since: Changes, discovery: Discovery) -> NothingChanged:
    changed = len(since.files)
    skipped = len(discovery.skipped)
    why = (
        f"{plural(changed, 'file')} changed, none of them a source file to review "
        f"({skipped} skipped; see file_types)"
        if changed
        else "no file changed"
    )
    return NothingChanged(f"nothing to review since {since.ref} in {root}: {why}")


def _no_change_any_more(count: int) -> str:
    return (
        f"{plural(count, 'file')} of the change review's plan {agree(count, 'has', 'have')} "
        "no change any more (or discovery skips it); dropped"
    )


def limits_of(config: Config) -> Limits:
    return Limits(
        max_files=config.max_files_per_chunk,
        max_tokens=config.max_tokens_per_chunk,
        chunk_workers=config.workers,
    )


def open_project(
    repo: Path,
    config: Config,
    plan_file: Path | None = None,
    partition_flags_given: bool = False,
    progress: Progress | None = None,
    since: Changes | None = None,
) -> Project:
    """Discover the repository and pick its plan (docs/plan-and-checkpoint.md §1).

    ``--plan FILE`` if given; else ``.claude-tui/plan.toml`` when it exists and no partition
    flag was given; else a plan computed from the config. (A checkpoint, which wins over
    all of these, is the run's business.) ``progress`` hears how discovery goes.

    ``since``: a change review (docs/change-review.md) finds only the changed files, and
    keeps its plan in ``.claude-tui/since/plan.toml`` (plan.toml is the full review's); a
    saved one none of whose files changed any more gives way to a computed plan.
    """
    root = resolve_repo(repo)
    if since is not None and plan_file is not None:
        raise PlanError(
            "--plan and --since do not go together: a change review plans the changed "
            "files itself (its chunks can be edited in the app)"
        )
    discovery = discover(root, config, progress, only=None if since is None else since.files)
    if not discovery.files:
        raise (
            nothing_to_review(root, discovery)
            if since is None
            else nothing_changed(root, since, discovery)
        )
    notes: list[str] = []
    saved = default_plan_path(root) if since is None else since_plan_path(root)
    if saved.exists() and not saved.is_file():
        raise PlanError(f"{saved} is not a file: move it away, claude-tui keeps the plan there")
    chosen = plan_file if plan_file is not None else None
    if chosen is None and saved.is_file() and not partition_flags_given:
        chosen = saved
    plan: Plan | None = None
    if chosen is not None:
        plan, notes = reconcile(
            load_plan_file(chosen), discovery.paths, None if since is None else _no_change_any_more
        )
        source = f"plan file {chosen}"
        if not plan.chunks and since is not None:
            plan, notes = None, []  # an older change's plan: the files changed since differ
        elif not plan.chunks:
            raise RepoError(f"the plan file {chosen} has no chunk with a file that exists")
    if plan is None:
        if progress is not None:
            progress(f"partitioning {len(discovery.files):,} files")
        plan = make_plan(discovery.files, config.strategy, limits_of(config))
        source = f"computed ({config.strategy})"
        chosen = None
        if saved.is_file() and partition_flags_given:
            notes.append(f"{saved} ignored: partition flags given")
    if since is not None:
        source += f", files changed since {since.ref}"
    return Project(root, config, discovery, plan, source, notes, plan_file=chosen, since=since)
