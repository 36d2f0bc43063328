"""Errors a user can cause: each is printed as one line and the command exits 2."""

from tui_orchestrator.engine.exit_codes import EXIT_USAGE


class ClaudeTuiError(Exception):
    """A problem with the user's input or environment, not a bug."""

    exit_code = EXIT_USAGE


class ConfigError(ClaudeTuiError):
    """A setting, flag or config file is invalid."""


class RepoError(ClaudeTuiError):
    """The repository path is missing, not a folder, or has nothing to analyze."""


class PlanError(ClaudeTuiError):
    """A plan file cannot be read, or a plan edit is not possible."""


class PlanMismatchError(PlanError):
    """The plan file differs from the run's checkpoint, and nobody said to apply it."""


class CheckpointError(ClaudeTuiError):
    """A checkpoint cannot be read; it is left in place."""


class LockError(ClaudeTuiError):
    """Another claude-tui is running on this repository."""


class ClaudeNotFoundError(ClaudeTuiError):
    """The Claude Code executable cannot be found or run."""


class ExecutorError(ClaudeTuiError):
    """The executor cannot be used: the Dask extra is missing or the scheduler is unreachable."""


class WriteError(ClaudeTuiError):
    """A file claude-tui must write (its lock, the checkpoint, a report) cannot be written:
    the disk is full, the file system is read-only, or the path refuses it."""
