"""claude-tui: review a repository with parallel Claude Code workers."""

__version__ = "0.1.0"
