"""The exit codes of claude-tui's commands (docs/contracts.md §2)."""

from __future__ import annotations

EXIT_OK = 0  # every chunk done
EXIT_UNFINISHED = 1  # a chunk failed or is unfinished: the checkpoint and the report say which
EXIT_USAGE = 2  # bad usage or input, Claude Code missing, another claude-tui on the repository
EXIT_FAIL_ON = 3  # --fail-on met
EXIT_INTERRUPTED = 130  # SIGINT, SIGTERM or SIGHUP; the checkpoint is written first
