"""Helpers for running the real Claude Code CLI against the scripted Messages-API server.

``scripts/install_claude_code.sh`` installs the CLI into ``.tools/claude-code`` at the root of
this repository; :func:`find_claude_bin` finds it there (or returns None, and the real-CLI
tests skip). :func:`real_cli_env` builds the environment of one offline, non-interactive run.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tui_orchestrator.engine.findings import FINDINGS_SCHEMA

REPO_ROOT = Path(__file__).resolve().parents[2]
CLAUDE_BIN = REPO_ROOT / ".tools" / "claude-code" / "node_modules" / ".bin" / "claude"

# What the review prompts ask for: the engine's own schema.
FINDINGS_SCHEMA_JSON = json.dumps(FINDINGS_SCHEMA, separators=(",", ":"))

# Variables of the calling environment that would change what the CLI does or where it
# goes: credentials, another provider, a config folder, a model, a nested-session marker.
_DROPPED_PREFIXES = ("ANTHROPIC_", "CLAUDE_CODE_", "CLAUDECODE", "CLAUDE_CONFIG_DIR")
_DROPPED_NAMES = {
    "CLAUDE_CONFIG_DIR",
    "CLAUDECODE",
    "CLAUDE_ENV_FILE",
    "MCP_TIMEOUT",
    "MCP_TOOL_TIMEOUT",
    "DISABLE_AUTOUPDATER",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
}


def find_claude_bin() -> Path | None:
    """``.tools/claude-code/node_modules/.bin/claude`` of this repository, or None."""
    if CLAUDE_BIN.exists() and os.access(CLAUDE_BIN, os.X_OK):
        return CLAUDE_BIN
    return None


def claude_version(bin_path: Path | None = None) -> str | None:
    """The installed CLI's version, from its package.json (no process started)."""
    pkg = REPO_ROOT / ".tools" / "claude-code" / "node_modules" / "@anthropic-ai" / "claude-code"
    try:
        return json.loads((pkg / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def real_cli_env(home: Path, base_url: str, **extra: str) -> dict[str, str]:
    """The environment of one real-CLI worker: isolated HOME, loopback API, nothing online.

    Inherits ``os.environ`` (PATH, locale, ...) less anything that would point the CLI at
    another account, provider, proxy or config folder, then sets:

    * ``HOME`` to ``home`` (created): config (``~/.claude.json``) and sessions
      (``~/.claude/projects/<cwd with / as ->/<session>.jsonl``) stay in the test's folder;
    * ``ANTHROPIC_BASE_URL`` / ``ANTHROPIC_API_KEY``: the scripted server, any key;
    * ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``: no telemetry, error reporting,
      auto-update or feedback calls (also set one by one below, for older versions);
    * ``CLAUDE_CODE_MAX_RETRIES=0``: an error reaches the result line at once;
    * ``NO_PROXY`` for loopback, so a proxy in the environment never sees the requests.

    No onboarding or trust file is needed in ``-p`` mode with an API key (checked on 2.1.197:
    a fresh HOME works, the CLI writes ``~/.claude.json`` itself).
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROPPED_NAMES and not k.startswith(_DROPPED_PREFIXES)
    }
    env.update(
        {
            "HOME": str(home),
            "USERPROFILE": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_API_KEY": "test-key",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_BUG_COMMAND": "1",
            "DISABLE_NON_ESSENTIAL_MODEL_CALLS": "1",
            "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "NO_COLOR": "1",
        }
    )
    env.update(extra)
    return env


def project_dir_name(cwd: Path | str) -> str:
    """The folder under ``~/.claude/projects`` that holds the sessions run in ``cwd``.

    Claude Code replaces every character that is not a letter, digit or ``-`` by ``-``.
    """
    return re.sub(r"[^A-Za-z0-9-]", "-", str(cwd))


def session_file(home: Path, cwd: Path | str, session_id: str) -> Path:
    return Path(home) / ".claude" / "projects" / project_dir_name(cwd) / f"{session_id}.jsonl"


def parse_stream(stdout: str) -> list[dict]:
    """The JSON objects of a stream-json output (lines that are not JSON are skipped)."""
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out
