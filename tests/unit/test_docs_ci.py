"""docs/ci.md's workflow uses claude-tui as it is: every command it gives parses.

A flag renamed or dropped would leave the documented workflow failing in users' CI; this
reads each `claude-tui …` command of the workflow and hands it to the real parser.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tui_orchestrator.cli import SUBCOMMANDS, build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"


def workflow_commands() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    workflow = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert workflow is not None, "docs/ci.md has no workflow"
    joined = workflow.group(1).replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.strip().removeprefix("run: ")
        if not line.startswith("claude-tui "):
            continue
        line = line.split(">>")[0]  # the shell's redirection is no argument
        # GitHub's expressions and shell arrays stand for plain values here.
        line = re.sub(r"\$\{\{[^}]*\}\}", "main", line).replace('"${baseline[@]}"', "")
        commands.append(shlex.split(line)[1:])
    return commands


def test_the_workflow_has_the_commands_the_issue_asks_for() -> None:
    commands = [" ".join(c) for c in workflow_commands()]
    assert any("--since origin/main" in c and "--fail-on high" in c for c in commands)
    assert any(c.startswith("report ") and "--format sarif" in c for c in commands)
    text = DOC.read_text(encoding="utf-8")
    assert "fetch-depth: 0" in text and "github/codeql-action/upload-sarif" in text


@pytest.mark.parametrize("argv", workflow_commands(), ids=" ".join)
def test_every_workflow_command_parses(argv: list[str]) -> None:
    command = argv[0] if argv[0] in SUBCOMMANDS else None
    build_parser(command).parse_args(argv[1:] if command else argv)


def test_no_plain_yaml_value_of_the_workflow_holds_a_colon_and_a_space() -> None:
    """YAML reads `name: a: b` as a mapping where a string was meant, and GitHub refuses the
    workflow (the test has no YAML parser to lean on: none is a dependency)."""
    workflow = re.search(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert workflow is not None
    for line in workflow.group(1).splitlines():
        key, sep, value = line.strip().removeprefix("- ").partition(": ")
        if not sep or value.startswith(("'", '"', "|", "$")) or key.startswith("#"):
            continue
        assert ": " not in value.split(" #")[0], line
