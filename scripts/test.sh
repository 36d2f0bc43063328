#!/usr/bin/env bash
# Install everything the tests need and run every test tier (unit, fake-claude integration,
# app, the real Claude Code CLI against a loopback Messages-API server, and the Dask executor
# on a local cluster).
#   bash scripts/test.sh            # all tiers
#   bash scripts/test.sh -k pause   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    "$PYTHON" -m venv .venv
fi
echo "== installing claude-tui with its test dependencies and the Dask extra"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,dask]'
echo "== installing the pinned Claude Code CLI into .tools/ (for the real-CLI tier)"
bash scripts/install_claude_code.sh
echo "== installing Microsoft's SARIF Multitool into .tools/ (GitHub's rules for our SARIF)"
bash scripts/install_sarif_multitool.sh
echo "== running the tests"
# The suite takes about 10 minutes here; a run past 45 is broken: stop it loudly.
exec timeout --kill-after=30s 45m .venv/bin/python -m pytest -q "$@"
