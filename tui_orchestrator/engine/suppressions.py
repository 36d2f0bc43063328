"""Suppressions: findings the team decided not to act on, by fingerprint (docs/baseline.md §2).

``.claude-tui/suppressions.toml`` is the team's file (commit it; the state folder's
.gitignore lets it through)::

    [[suppressions]]
    fingerprint = "3f9a…"        # the finding's (docs/findings.md §2)
    reason = "test fixture, never deployed"
    by = "alice"
    date = "2026-12-07"          # optional

A suppressed finding stays in every report, marked; ``--fail-on`` does not count it, and
SARIF gives it a ``suppressions`` entry (kind ``external``, the reason as justification),
which code scanning shows as dismissed. A file that cannot be read is one line and exit 2,
left as it is.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tui_orchestrator.engine.atomic import write_text_atomic
from tui_orchestrator.engine.errors import ConfigError, WriteError
from tui_orchestrator.engine.git import git_output
from tui_orchestrator.engine.statedir import state_dir
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.tomlout import toml_str

HEADER = (
    "# Findings the team decided not to act on, by fingerprint (commit this file).\n"
    "# claude-tui reports them marked, --fail-on leaves them out, SARIF dismisses them.\n"
)


@dataclass(frozen=True, slots=True)
class Suppression:
    fingerprint: str
    reason: str
    by: str
    date: str = ""


def suppressions_path(repo: Path) -> Path:
    return state_dir(repo) / "suppressions.toml"


def load_suppressions(repo: Path) -> dict[str, Suppression]:
    """The repository's suppressions by fingerprint ({} without a file)."""
    path = suppressions_path(repo)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}); left as it is") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not TOML ({exc}); left as it is") from None
    raw = data.get("suppressions", [])
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise ConfigError(f"{path}: 'suppressions' must be an array of tables; left as it is")
    out: dict[str, Suppression] = {}
    for number, item in enumerate(raw, 1):
        fp, reason, by = item.get("fingerprint"), item.get("reason"), item.get("by")
        if not all(isinstance(v, str) and v.strip() for v in (fp, reason, by)):
            raise ConfigError(
                f"{path}: suppression {number} needs a fingerprint, a reason and who decided "
                "(by); left as it is"
            )
        when = item.get("date", "")
        out[str(fp).strip()] = Suppression(str(fp).strip(), str(reason), str(by), str(when))
    return out


def who_decides(repo: Path) -> str:
    """The name a suppression made here is signed with: git's user.name, else the login."""
    name = git_output(repo, "config", "user.name", timeout=5)
    return name or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def add_suppression(repo: Path, fingerprint: str, reason: str, by: str) -> Suppression:
    """Add one to the repository's file (made when missing; what it held is kept)."""
    if not fingerprint or not reason.strip() or not by.strip():
        raise ConfigError("a suppression needs a fingerprint, a reason and who decided")
    load_suppressions(repo)  # a file that cannot be read is not written over
    path = suppressions_path(repo)
    try:
        before = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        before = HEADER
    entry = Suppression(
        fingerprint, printable(reason.strip()), printable(by.strip()), str(date.today())
    )
    block = (
        f"\n[[suppressions]]\nfingerprint = {toml_str(entry.fingerprint)}\n"
        f"reason = {toml_str(entry.reason)}\nby = {toml_str(entry.by)}\n"
        f"date = {toml_str(entry.date)}\n"
    )
    try:
        write_text_atomic(path, before.rstrip("\n") + "\n" + block)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror}") from None
    return entry
