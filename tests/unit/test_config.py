"""Config: precedence flag > environment > --config file > user file > defaults, and
every mistake in a setting is a ConfigError with a one-line message naming it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui_orchestrator.engine.config import (
    DEFAULT_FILE_TYPES,
    Config,
    load_config,
    read_config_file,
    save_user_setting,
    user_config_path,
)
from tui_orchestrator.engine.errors import ConfigError

from ._helpers import PROJECT_ROOT

SAMPLE_CONFIGS = sorted((PROJECT_ROOT / "sample_configs").glob("*.toml"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_ones_the_spec_names(user_config_dir: Path) -> None:
    config = load_config(environ={})
    assert config == Config()
    assert config.workers == 4
    assert config.strategy == "directory"
    assert config.max_files_per_chunk == 10
    assert config.max_file_bytes == 1_000_000
    assert config.chunk_timeout_s == 15 * 60
    assert config.claude_bin == ""
    assert config.verify == "high"  # critical and high findings get a second look
    assert {"py", "js", "jsx", "ts", "tsx", "go", "rs", "java", "kt", "rb", "php", "c", "h",
            "cpp", "hpp", "cs", "swift", "scala", "sh", "sql"} <= set(config.file_types)  # fmt: skip
    assert not {"md", "json", "yaml", "lock", "svg"} & set(config.file_types)


def test_each_layer_overrides_the_ones_below_it(user_config_dir: Path, tmp_path: Path) -> None:
    write(
        user_config_dir / "config.toml",
        'workers = 2\nmodel = "user-model"\nclaude_bin = "/user/claude"\ntheme = "user-theme"\n',
    )
    project = write(
        tmp_path / "project.toml",
        'workers = 3\nmodel = "file-model"\nclaude_bin = "/file/claude"\n',
    )
    env = {"CLAUDE_TUI_CLAUDE_BIN": "/env/claude"}
    flags = {"workers": 5, "claude_bin": "/flag/claude"}

    everything = load_config(flags=flags, config_file=project, environ=env)
    assert (everything.workers, everything.claude_bin) == (5, "/flag/claude")
    assert everything.model == "file-model"
    assert everything.theme == "user-theme"
    assert everything.max_files_per_chunk == 10

    no_flags = load_config(config_file=project, environ=env)
    assert (no_flags.workers, no_flags.claude_bin) == (3, "/env/claude")

    no_env = load_config(config_file=project, environ={})
    assert no_env.claude_bin == "/file/claude"

    user_only = load_config(environ={})
    assert (user_only.workers, user_only.model, user_only.claude_bin) == (
        2, "user-model", "/user/claude"
    )  # fmt: skip


def test_the_user_config_folder_comes_from_the_environment(user_config_dir: Path) -> None:
    assert user_config_path() == user_config_dir / "config.toml"


def test_the_process_environment_is_read_by_default(
    user_config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_TUI_CLAUDE_BIN", "/opt/claude/bin/claude")
    assert load_config().claude_bin == "/opt/claude/bin/claude"


def test_an_empty_environment_variable_does_not_count(user_config_dir: Path) -> None:
    assert load_config(environ={"CLAUDE_TUI_CLAUDE_BIN": ""}).claude_bin == ""


def test_flags_left_unset_do_not_override(user_config_dir: Path, tmp_path: Path) -> None:
    project = write(tmp_path / "c.toml", "workers = 7\n")
    config = load_config(flags={"workers": None, "model": None}, config_file=project, environ={})
    assert config.workers == 7


def test_file_types_are_normalised_and_extra_types_extend_the_defaults(tmp_path: Path) -> None:
    exact = read_config_file(write(tmp_path / "a.toml", 'file_types = [".PY", "ts", "ts"]\n'))
    assert exact["file_types"] == ("py", "ts")
    extra = read_config_file(write(tmp_path / "b.toml", 'extra_file_types = ["md", "py"]\n'))
    assert extra["file_types"] == (*DEFAULT_FILE_TYPES, "md")


def test_integers_are_accepted_where_seconds_or_dollars_are_wanted(tmp_path: Path) -> None:
    settings = read_config_file(write(tmp_path / "c.toml", "max_budget_usd = 3\npatience_s = 0\n"))
    assert settings == {"max_budget_usd": 3.0, "patience_s": 0.0}
    assert isinstance(settings["max_budget_usd"], float)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('workers = "4"', "'workers' must be a whole number"),
        ("workers = 0", "'workers' must be at least 1"),
        ("workers = true", "'workers' must be a whole number"),
        ("workers = 2.5", "'workers' must be a whole number"),
        ("max_files_per_chunk = -1", "'max_files_per_chunk' must be at least 1"),
        ('max_budget_usd = "ten"', "'max_budget_usd' must be a number"),
        ("max_budget_usd = -1.0", "'max_budget_usd' must be at least 0.0"),
        ("chunk_timeout_s = 0.5", "'chunk_timeout_s' must be at least 1.0"),
        ('bare = "yes"', "'bare' must be true or false"),
        ("model = 4", "'model' must be a string"),
        ('strategy = "fastest"', "'strategy' must be one of directory, balanced, filetype, equal"),
        ('executor = "ssh://box"', "'executor' must be 'local' or 'dask://HOST:PORT'"),
        ('file_types = "py"', "'file_types' must be a list of file extensions"),
        ('file_types = ["py", ""]', "'file_types' must be a list of file extensions"),
        ("file_types = [1]", "'file_types' must be a list of file extensions"),
        ("extra_file_types = 3", "'file_types' must be a list of file extensions"),
        ("colour = 'red'", "unknown setting 'colour'"),
        ("[workers]\nn = 3", "'workers' must be a whole number"),
    ],
)
def test_a_bad_setting_in_a_file_is_a_config_error_naming_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path / "bad.toml", text + "\n")
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    message = str(info.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_an_unknown_setting_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"known: .*max_files_per_chunk.*workers"):
        read_config_file(write(tmp_path / "c.toml", "worker = 3\n"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"workers = \n", "is not valid TOML"),
        (b"[section\n", "is not valid TOML"),
        (b"workers = 3\nworkers = 4\n", "is not valid TOML"),
        (b"\xff\xfe workers", "is not UTF-8 text"),
    ],
)
def test_a_config_file_that_is_not_toml_is_a_config_error(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(config_file=path, environ={}, user_file=tmp_path / "none.toml")
    assert "\n" not in str(info.value)


def test_a_missing_config_file_or_a_folder_is_a_config_error(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(config_file=tmp_path / "missing.toml", environ={}, user_file=none)
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(config_file=tmp_path, environ={}, user_file=none)


def test_a_broken_user_config_file_is_reported_too(user_config_dir: Path) -> None:
    write(user_config_dir / "config.toml", "workers = 'many'\n")
    with pytest.raises(ConfigError, match=re.escape("config.toml: 'workers'")):
        load_config(environ={})


def test_a_missing_user_config_file_is_fine(tmp_path: Path) -> None:
    assert load_config(environ={}, user_file=tmp_path / "nowhere" / "config.toml") == Config()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"workers": 0}, "--workers: 'workers' must be at least 1"),
        ({"strategy": "random"}, "--strategy: 'strategy' must be one of"),
        ({"max_budget_usd": "1"}, "--max-budget-usd: 'max_budget_usd' must be a number"),
        ({"nonsense": 1}, "unknown setting 'nonsense'"),
    ],
)
def test_a_bad_flag_value_is_a_config_error_naming_the_flag(
    user_config_dir: Path, flags: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config(flags=flags, environ={})


def test_saving_a_user_setting_keeps_the_others(user_config_dir: Path) -> None:
    path = write(user_config_dir / "config.toml", "workers = 6\n")
    assert save_user_setting("theme", "claude-tui-light") == path
    config = load_config(environ={})
    assert (config.workers, config.theme) == (6, "claude-tui-light")


def test_saving_a_user_setting_keeps_the_users_comments_and_layout(user_config_dir: Path) -> None:
    original = (
        "# My settings.\n"
        "workers = 6   # the laptop has room for six\n"
        'theme = "claude-tui-dark"\n'
        "\n"
        "# Checks before a release.\n"
        "max_budget_usd = 2.5\n"
    )
    path = write(user_config_dir / "config.toml", original)
    path.chmod(0o640)
    save_user_setting("theme", "claude-tui-light")
    assert path.read_text() == original.replace("claude-tui-dark", "claude-tui-light")
    assert path.stat().st_mode & 0o777 == 0o640
    # A key not there yet is added as a line of its own; the rest is untouched.
    save_user_setting("model", "claude-test-1")
    text = path.read_text()
    assert text.startswith(original.replace("claude-tui-dark", "claude-tui-light"))
    assert text.endswith('model = "claude-test-1"\n')
    assert load_config(environ={}).model == "claude-test-1"


def test_saving_a_user_setting_creates_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "config.toml"
    save_user_setting("theme", "claude-tui-midnight", path)
    assert read_config_file(path) == {"theme": "claude-tui-midnight"}


def test_saving_into_a_broken_user_file_refuses_and_keeps_it(user_config_dir: Path) -> None:
    path = user_config_dir / "config.toml"
    path.write_bytes(b"theme = [oops\n")
    with pytest.raises(ConfigError, match="not changed"):
        save_user_setting("theme", "claude-tui-light")
    assert path.read_bytes() == b"theme = [oops\n"


def test_saving_a_bad_value_is_refused(user_config_dir: Path) -> None:
    with pytest.raises(ConfigError):
        save_user_setting("workers", "lots")
    assert not (user_config_dir / "config.toml").exists()


# --- sample configs -----------------------------------------------------------------------


def test_there_are_at_least_three_sample_configs() -> None:
    names = {p.stem for p in SAMPLE_CONFIGS}
    assert len(names) >= 3
    assert {"small-repo", "large-monorepo", "ci"} <= names


@pytest.mark.parametrize("path", SAMPLE_CONFIGS, ids=lambda p: p.name)
def test_every_sample_config_loads_and_is_commented(path: Path, tmp_path: Path) -> None:
    settings = read_config_file(path)
    assert settings, "a sample config should set something"
    config = load_config(config_file=path, environ={}, user_file=tmp_path / "none.toml")
    for key, value in settings.items():
        assert getattr(config, key) == value
    lines = path.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.lstrip().startswith("#")]
    assert len(comments) >= len(settings) // 2, "explain the settings"
