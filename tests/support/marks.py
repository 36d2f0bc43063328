"""pytest marks shared by the test tiers that need the real Claude Code CLI."""

from __future__ import annotations

import pytest

from tests.support.real_cli import find_claude_bin

# A module's ``pytestmark`` when its tests drive the real CLI: skipped, saying how to
# install it, when .tools/ has none (scripts/test.sh always installs it, and fails loudly
# when it cannot).
NEEDS_REAL_CLI = [
    pytest.mark.real_cli,
    pytest.mark.skipif(
        find_claude_bin() is None,
        reason="Claude Code CLI not installed in .tools/claude-code "
        "(run: bash scripts/install_claude_code.sh)",
    ),
]
