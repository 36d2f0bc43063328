"""Settings, and where each one comes from.

Precedence for every setting (docs/contracts.md §3): command-line flag > environment > ``--config FILE``
> the user config file > defaults. The environment names only the Claude binary
(``CLAUDE_TUI_CLAUDE_BIN``); ``CLAUDE_TUI_CONFIG_DIR`` moves the user config folder (tests
and people with several set-ups use it).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tui_orchestrator.engine.errors import ConfigError

STRATEGIES = ("directory", "balanced", "filetype", "equal")
# What a Dask worker gets of the repository: the chunk's files, or the whole repository at
# its commit with the chunk's files over it.
CONTEXTS = ("chunk", "repo")
# Which findings a second session verifies (verify.py): none, critical and high, or all.
VERIFY_MODES = ("off", "high", "all")

DEFAULT_FILE_TYPES: tuple[str, ...] = (
    "py", "pyi", "js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts", "vue", "svelte",
    "go", "rs", "java", "kt", "kts", "scala", "groovy", "rb", "php", "c", "h", "cc",
    "cpp", "cxx", "hpp", "hh", "hxx", "m", "mm", "cs", "fs", "swift", "dart", "lua",
    "pl", "pm", "r", "jl", "ex", "exs", "erl", "hs", "ml", "clj", "elm", "zig", "nim",
    "sh", "bash", "zsh", "ps1", "sql", "tf", "sol",
)  # fmt: skip

ENV_CLAUDE_BIN = "CLAUDE_TUI_CLAUDE_BIN"
ENV_CONFIG_DIR = "CLAUDE_TUI_CONFIG_DIR"


@dataclass(slots=True, frozen=True)
class Config:
    """Every setting claude-tui reads; see ``sample_configs/`` for commented examples."""

    workers: int = 4
    strategy: str = "directory"
    max_files_per_chunk: int = 10
    # Estimated tokens (bytes / 4) one chunk may hold; a single larger file gets a chunk alone.
    max_tokens_per_chunk: int = 60_000
    file_types: tuple[str, ...] = DEFAULT_FILE_TYPES
    max_file_bytes: int = 1_000_000
    model: str = ""
    max_budget_usd: float = 0.0
    claude_bin: str = ""
    theme: str = "claude-tui-dark"
    chunk_timeout_s: float = 900.0
    max_turns: int = 0
    max_attempts: int = 3
    # How long a rate limit or an outage may last before the run gives up (docs/engine.md §3).
    patience_s: float = 900.0
    # The longest wait for a usage limit's reset before a headless run stops (exit 1;
    # 0: never wait). 0 by default when the environment has CI set: a CI job cannot wait
    # hours. The app always waits, and says so.
    max_usage_wait_s: float = 21600.0
    bare: bool = False
    executor: str = "local"
    # Dask executor only: the repository's path on every worker (a shared filesystem);
    # "" ships each chunk's files with its task.
    shared_root: str = ""
    # Dask executor only: "repo" ships the repository at its commit (once a run) besides
    # each chunk's files, so the agent can read the rest of it.
    context: str = "chunk"
    prompt_file: str = ""
    # Which findings a fresh read-only session verifies after the review (docs/verification.md).
    verify: str = "high"
    # Refuted findings in SARIF and Markdown reports too (JSON has them always).
    include_refuted: bool = False

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


_INT_MIN = {
    "workers": 1,
    "max_files_per_chunk": 1,
    "max_tokens_per_chunk": 1,
    "max_file_bytes": 1,
    "max_turns": 0,
    "max_attempts": 1,
}
_FLOAT_MIN = {
    "max_budget_usd": 0.0,
    "chunk_timeout_s": 1.0,
    "patience_s": 0.0,
    "max_usage_wait_s": 0.0,
}


def _field_types() -> dict[str, str]:
    return {f.name: str(f.type) for f in fields(Config)}


def validate_value(key: str, value: Any, source: str) -> Any:
    """Check one setting's type and range; return it in the form Config holds."""
    kinds = _field_types()
    if key not in kinds:
        known = ", ".join(sorted(kinds))
        raise ConfigError(f"{source}: unknown setting {key!r} (known: {known})")
    kind = kinds[key]
    where = f"{source}: {key!r}"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        if value < _INT_MIN[key]:
            raise ConfigError(f"{where} must be at least {_INT_MIN[key]}, got {value}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number, got {value!r}")
        if value < _FLOAT_MIN[key]:
            raise ConfigError(f"{where} must be at least {_FLOAT_MIN[key]}, got {value}")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        if key == "strategy" and value not in STRATEGIES:
            raise ConfigError(f"{where} must be one of {', '.join(STRATEGIES)}, got {value!r}")
        if key == "context" and value not in CONTEXTS:
            raise ConfigError(f"{where} must be one of {', '.join(CONTEXTS)}, got {value!r}")
        if key == "verify" and value not in VERIFY_MODES:
            raise ConfigError(f"{where} must be one of {', '.join(VERIFY_MODES)}, got {value!r}")
        if key == "executor" and not (value == "local" or value.startswith("dask://")):
            raise ConfigError(f"{where} must be 'local' or 'dask://HOST:PORT', got {value!r}")
        return value
    # tuple[str, ...]: file types, written with or without the dot.
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of file extensions, got {value!r}")
    return tuple(dict.fromkeys(v.lower().lstrip(".") for v in value))


def user_config_path() -> Path:
    """The user's config file: ``$CLAUDE_TUI_CONFIG_DIR/config.toml`` or the platform's folder."""
    folder = os.environ.get(ENV_CONFIG_DIR)
    if folder:
        return Path(folder) / "config.toml"
    from platformdirs import user_config_path as platform_config_path

    return platform_config_path("claude-tui") / "config.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse and validate one config file; unknown keys and wrong types are errors."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file is a folder: {path}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file is not UTF-8 text: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    extra_types = data.pop("extra_file_types", None)
    settings = {key: validate_value(key, value, str(path)) for key, value in data.items()}
    if extra_types is not None:
        extra = validate_value("file_types", extra_types, str(path))
        base = settings.get("file_types", DEFAULT_FILE_TYPES)
        settings["file_types"] = tuple(dict.fromkeys((*base, *extra)))
    return settings


@dataclass(slots=True)
class ConfigSources:
    """Where settings came from, lowest precedence first; for messages and tests."""

    user_file: Path | None = None
    config_file: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)


def load_config(
    flags: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    user_file: Path | None = None,
) -> Config:
    """Merge defaults, user file, ``--config`` file, environment and flags, in that order.

    ``flags`` holds only the options the user gave (None values are ignored).
    """
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    user_file = user_config_path() if user_file is None else user_file
    if user_file.is_file():
        merged.update(read_config_file(user_file))
    if config_file is not None:
        merged.update(read_config_file(config_file))
    if environ.get(ENV_CLAUDE_BIN):
        merged["claude_bin"] = environ[ENV_CLAUDE_BIN]
    for key, value in (flags or {}).items():
        if value is None:
            continue
        if key == "file_types" and isinstance(value, tuple):
            value = list(value)
        merged[key] = validate_value(key, value, f"--{key.replace('_', '-')}")
    if "max_usage_wait_s" not in merged and environ.get("CI"):
        merged["max_usage_wait_s"] = 0.0  # a CI job does not wait hours for a reset
    return Config(**merged)


def save_user_setting(key: str, value: Any, path: Path | None = None) -> Path:
    """Write one setting into the user config file, keeping the others (used for the theme)."""
    import tomli_w

    path = user_config_path() if path is None else path
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML, not changed: {exc}") from None
    old_text = path.read_text(encoding="utf-8") if path.is_file() else ""
    data[key] = validate_value(key, value, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    from tui_orchestrator.engine.atomic import write_text_atomic

    text = _with_top_level_line(old_text, key, tomli_w.dumps({key: data[key]}).strip())
    if text is None or tomllib.loads(text) != data:
        # A layout the line edit cannot follow (the key inside a multi-line value, say):
        # write the settings out whole; the values are kept, the comments are not.
        text = tomli_w.dumps(data)
    write_text_atomic(path, text)
    return path


def _with_top_level_line(text: str, key: str, line: str) -> str | None:
    """``text`` with the top-level ``key = …`` line replaced by ``line`` (or added), so
    the user's comments and layout stay as they were; None when that is not safe."""
    lines = text.splitlines()
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    first_table = next(
        (i for i, raw in enumerate(lines) if raw.lstrip().startswith("[")), len(lines)
    )
    found = [i for i, raw in enumerate(lines[:first_table]) if pattern.match(raw)]
    if len(found) > 1:
        return None
    if found:
        lines[found[0]] = line
    else:
        at = first_table
        while at > 0 and not lines[at - 1].strip():
            at -= 1  # keep the blank lines that set off the first table
        lines.insert(at, line)
    return "\n".join(lines) + "\n"
