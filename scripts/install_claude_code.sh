#!/usr/bin/env bash
# Install the Claude Code CLI from the npm registry into a project-local folder,
# .tools/claude-code (never globally). Idempotent: does nothing when the pinned
# version is already installed. Fails loudly when the binary does not run.
#
#   bash scripts/install_claude_code.sh            # pinned version
#   CLAUDE_CODE_VERSION=2.1.328 bash scripts/...   # another version (tests were run on the pin)
#
# The binary lands at .tools/claude-code/node_modules/.bin/claude.
set -euo pipefail

# Pinned: the version the real-CLI test tier (tests/e2e/) passes with, and the one
# the transcripts in shared/reference/claude-cli-transcripts/ were recorded with.
PINNED_VERSION="2.1.197"
VERSION="${CLAUDE_CODE_VERSION:-$PINNED_VERSION}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.tools/claude-code"
BIN="$PREFIX/node_modules/.bin/claude"
PKG_JSON="$PREFIX/node_modules/@anthropic-ai/claude-code/package.json"

installed_version() {
    [ -f "$PKG_JSON" ] || return 0
    node -e 'process.stdout.write(require(process.argv[1]).version || "")' "$PKG_JSON" 2>/dev/null || true
}

if ! command -v npm >/dev/null 2>&1; then
    echo "install_claude_code: npm not found; install Node.js (>= 18) first" >&2
    exit 1
fi

if [ "$(installed_version)" = "$VERSION" ] && [ -x "$BIN" ]; then
    echo "install_claude_code: @anthropic-ai/claude-code@$VERSION already in .tools/claude-code"
else
    echo "install_claude_code: installing @anthropic-ai/claude-code@$VERSION into .tools/claude-code"
    mkdir -p "$PREFIX"
    # Keep npm from walking up to the project's root for a package.json.
    [ -f "$PREFIX/package.json" ] || echo '{"name":"claude-code-local","private":true}' >"$PREFIX/package.json"
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error --save-exact \
        "@anthropic-ai/claude-code@$VERSION"
fi

if [ ! -x "$BIN" ]; then
    echo "install_claude_code: $BIN is missing after install" >&2
    exit 1
fi

# The binary must run; --version needs no network and no login.
if ! out="$(DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 "$BIN" --version </dev/null 2>&1)"; then
    echo "install_claude_code: '$BIN --version' failed:" >&2
    echo "$out" >&2
    exit 1
fi
case "$out" in
    *"$VERSION"*) echo "install_claude_code: ok: $out" ;;
    *)
        echo "install_claude_code: expected version $VERSION, the binary says: $out" >&2
        exit 1
        ;;
esac
