"""Microsoft's SARIF Multitool with GitHub's rules (``--rule-kind "Gh;Sarif"``).

Installed by ``scripts/install_sarif_multitool.sh`` into ``.tools/sarif-multitool``; the
tests call the platform's binary itself (the npm shim passes the arguments through a
shell, which splits ``Gh;Sarif``). The validator exits 0 whatever it finds: the errors
are read from its output, one ``file(line,col): error CODE: text`` line each.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFIX = REPO_ROOT / ".tools" / "sarif-multitool" / "node_modules" / "@microsoft"
ERROR_LINE = re.compile(r": error [A-Z]+\d+", re.IGNORECASE)


def find_validator() -> Path | None:
    for path in sorted(PREFIX.glob("sarif-multitool-*/Sarif.Multitool")):
        if os.access(path, os.X_OK):
            return path
    return None


def validate(paths: list[Path]) -> tuple[list[str], str]:
    """Validate every file in one call: its error lines, and its whole output."""
    validator = find_validator()
    if validator is None:
        raise AssertionError(
            "the SARIF Multitool is not installed: bash scripts/install_sarif_multitool.sh"
        )
    done = subprocess.run(
        [str(validator), "validate", "--rule-kind", "Gh;Sarif", *map(str, paths)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"},
    )  # fmt: skip
    output = done.stdout + done.stderr
    errors = [line for line in output.splitlines() if ERROR_LINE.search(line)]
    if f"{len(paths)} files scanned" not in output and "1 files scanned" not in output:
        errors.append(f"the validator did not scan the {len(paths)} files:\n{output[-2000:]}")
    return errors, output
