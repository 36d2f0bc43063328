"""Processes a test started, found in ``/proc`` by a tag in their environment (Linux)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

TAG_VAR = "CLAUDE_TUI_LEAK_TAG"


@dataclass
class Tag:
    """This test's processes: everything started with ``TAG_VAR`` set to ``value``."""

    value: str

    def env(self, base: dict[str, str], **extra: str) -> dict[str, str]:
        return {**base, TAG_VAR: self.value, **extra}

    def processes(self) -> dict[int, str]:
        """Tagged processes alive now (pid -> the program's name); zombies have no environ."""
        needle = f"{TAG_VAR}={self.value}".encode()
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    environ = handle.read().split(b"\0")
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    program = handle.read().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if needle in environ:
                found[int(entry)] = os.path.basename(program)
        return found

    def left_behind(self) -> list[int]:
        """The ``sleep`` processes the fake started."""
        return [pid for pid, name in self.processes().items() if name == "sleep"]

    def wait_for_left_behind(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.left_behind()) < count:
            assert time.monotonic() < deadline, "the fake never started what it leaves behind"
            time.sleep(0.02)

    def none_left(self, within: float = 5.0) -> dict[int, str]:
        """Wait up to ``within`` seconds for every tagged process to go; what is left."""
        deadline = time.monotonic() + within
        while True:
            left = self.processes()
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.05)


def alive(pid: int) -> bool:
    """Running (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
