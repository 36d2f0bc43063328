#!/usr/bin/env bash
# Install Microsoft's SARIF Multitool from the npm registry into .tools/sarif-multitool
# (never globally), for the test that validates claude-tui's SARIF with GitHub's rules.
# Idempotent; fails loudly when the validator does not run.
#
#   bash scripts/install_sarif_multitool.sh
#
# The validator lands at .tools/sarif-multitool/node_modules/@microsoft/
# sarif-multitool-<platform>/Sarif.Multitool (the npm shim splits --rule-kind "Gh;Sarif"
# through a shell, so tests call the platform's binary itself).
set -euo pipefail

VERSION="${SARIF_MULTITOOL_VERSION:-5.7.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.tools/sarif-multitool"
PKG_JSON="$PREFIX/node_modules/@microsoft/sarif-multitool/package.json"

if ! command -v npm >/dev/null 2>&1; then
    echo "install_sarif_multitool: npm not found; install Node.js (>= 18) first" >&2
    exit 1
fi

installed=""
[ -f "$PKG_JSON" ] && installed="$(node -e 'process.stdout.write(require(process.argv[1]).version || "")' "$PKG_JSON" 2>/dev/null || true)"
if [ "$installed" = "$VERSION" ]; then
    echo "install_sarif_multitool: @microsoft/sarif-multitool@$VERSION already in .tools/sarif-multitool"
else
    echo "install_sarif_multitool: installing @microsoft/sarif-multitool@$VERSION into .tools/sarif-multitool"
    mkdir -p "$PREFIX"
    [ -f "$PREFIX/package.json" ] || echo '{"name":"sarif-multitool-local","private":true}' >"$PREFIX/package.json"
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error --save-exact \
        "@microsoft/sarif-multitool@$VERSION"
fi

BIN="$(find "$PREFIX/node_modules/@microsoft" -maxdepth 2 -name Sarif.Multitool -type f | head -n 1)"
if [ -z "$BIN" ]; then
    echo "install_sarif_multitool: no Sarif.Multitool binary for this platform after install" >&2
    exit 1
fi
chmod +x "$BIN"
if ! out="$("$BIN" --version 2>&1)"; then
    echo "install_sarif_multitool: '$BIN --version' failed:" >&2
    echo "$out" >&2
    exit 1
fi
echo "install_sarif_multitool: ok: $(echo "$out" | head -n 1)"
