"""A repository opened for work: its config, what discovery found, and the plan to use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.discovery import Discovery, Progress, discover, resolve_repo
from tui_orchestrator.engine.errors import PlanError, RepoError
from tui_orchestrator.engine.partition import Limits, make_plan
from tui_orchestrator.engine.plan import Plan, load_plan_file, reconcile
from tui_orchestrator.engine.statedir import default_plan_path
from tui_orchestrator.engine.wording import plural


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

    def __post_init__(self) -> None:
        if not self.sizes:
            self.sizes = {f.path: f.size for f in self.discovery.files}

    @property
    def plan_path(self) -> Path:
        return default_plan_path(self.root)


def nothing_to_review(root: Path, discovery: Discovery) -> RepoError:
    """The one line for a repository where discovery finds no file to review."""
    return RepoError(
        f"nothing to analyze in {root}: no source files found "
        f"({plural(len(discovery.skipped), 'path')} skipped; see `claude-tui plan` or file_types)"
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
) -> Project:
    """Discover the repository and pick its plan (docs/plan-and-checkpoint.md §1).

    ``--plan FILE`` if given; else ``.claude-tui/plan.toml`` when it exists and no partition
    flag was given; else a plan computed from the config. (A checkpoint, which wins over
    all of these, is the run's business.) ``progress`` hears how discovery goes.
    """
    root = resolve_repo(repo)
    discovery = discover(root, config, progress)
    if not discovery.files:
        raise nothing_to_review(root, discovery)
    notes: list[str] = []
    saved = default_plan_path(root)
    if saved.exists() and not saved.is_file():
        raise PlanError(f"{saved} is not a file: move it away, claude-tui keeps the plan there")
    chosen = plan_file if plan_file is not None else None
    if chosen is None and saved.is_file() and not partition_flags_given:
        chosen = saved
    if chosen is not None:
        plan, notes = reconcile(load_plan_file(chosen), discovery.paths)
        source = f"plan file {chosen}"
        if not plan.chunks:
            raise RepoError(f"the plan file {chosen} has no chunk with a file that exists")
    else:
        if progress is not None:
            progress(f"partitioning {len(discovery.files):,} files")
        plan = make_plan(discovery.files, config.strategy, limits_of(config))
        source = f"computed ({config.strategy})"
        if saved.is_file():
            notes.append(f"{saved} ignored: partition flags given")
    return Project(root, config, discovery, plan, source, notes, plan_file=chosen)
