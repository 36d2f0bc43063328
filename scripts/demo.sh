#!/usr/bin/env bash
# Install claude-tui and open the app on a copy of the bundled sample repository.
# With Claude Code on PATH (and a key or login) the real agents run; without it the
# clearly labelled DEMO backend simulates them.
#   bash scripts/demo.sh            # extra arguments go to claude-tui
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# Installed once, and again only when the dependencies change (the install is editable:
# the code itself needs none).
stamp=.venv/.claude-tui-installed
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || [ ! -x .venv/bin/claude-tui ]; then
    echo "== installing claude-tui into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
    echo "$wanted" > "$stamp"
fi

sample="${CLAUDE_TUI_SAMPLE:-${TMPDIR:-/tmp}/claude-tui-sample/shopfront}"
if [ ! -d "$sample" ]; then
    mkdir -p "$(dirname "$sample")"
    cp -r tui_orchestrator/sample_repo "$sample"
    (cd "$sample" && git init -q && git add -A \
        && git -c user.name=claude-tui -c user.email=demo@localhost commit -qm "sample repository")
fi
if command -v claude >/dev/null 2>&1 || [ -n "${CLAUDE_TUI_CLAUDE_BIN:-}" ]; then
    exec .venv/bin/claude-tui "$sample" "$@"
fi
# The app's header says DEMO while it runs; this line stays on the terminal after it.
status=0
.venv/bin/claude-tui --demo "$sample" "$@" || status=$?
echo "That was the DEMO backend (simulated agents): Claude Code is not on PATH. Install it" \
    "(npm install -g @anthropic-ai/claude-code) to review with real agents."
exit "$status"
