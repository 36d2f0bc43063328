"""The request rate an API allowed, remembered between runs (docs/engine.md §3).

A run that met rate limits learned the rate the API allows (``pool.py``). Without a memory
the next run starts every worker at once and meets the same limits again: on a low tier
the first burst alone costs more refused requests than the rest of the run. The rate is
kept in ``rates.toml`` beside the user's config, by a hash of the API's address, the
credential and the model (never the credential itself), and a run against the same API
paces its first starts to it. A rate older than ``KEEP_S`` is forgotten: tiers change.

A rate is kept only by a run that met a refusal: a run that met none grows its rate as it
goes (to find out whether more is allowed), and keeping that would forget the limit. So the
entry's age is the age of the last limit met, and a week without one forgets it.

A run that knew no rate and met no refusal keeps how many workers it started without one
(``free_workers``): its first round went one by one (``pool.py``), and the next run against
the same API starts that many at once.

The file is claude-tui's own cache: one that cannot be read is said once and removed,
never a reason to stop a run. Two runs ending at once may each keep only their own entry
(the last write wins): a cache can lose an entry, a run learns it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tui_orchestrator.engine.atomic import write_text_atomic
from tui_orchestrator.engine.tomlout import toml_float, toml_str

RATES_FILE = "rates.toml"
KEEP_S = 7 * 24 * 3600.0
# A time this far ahead of the clock is no time a rate was learned (a hand edit, a skew).
FUTURE_S = 24 * 3600.0
DEFAULT_BASE_URL = "https://api.anthropic.com"
# The variables that say which account the requests count against, in the CLI's order.
CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")


def api_identity(env: Mapping[str, str], model: str) -> str:
    """Which API and account a rate belongs to: a hash (the credential is never kept)."""
    base = env.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
    credential = next((env[name] for name in CREDENTIALS if env.get(name)), "")
    text = f"{base.rstrip('/')}\0{credential}\0{model}"
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=10).hexdigest()


@dataclass(frozen=True, slots=True)
class Recalled:
    rate: float | None  # requests a second (None: nothing known)
    note: str = ""  # said to the user: the file could not be read
    # Workers an earlier run started against this API without a refusal (0: none known).
    free_workers: int = 0


@dataclass(frozen=True, slots=True)
class RateMemory:
    """``rates.toml`` in ``folder``, for the API ``identity``."""

    folder: Path
    identity: str

    @property
    def path(self) -> Path:
        return self.folder / RATES_FILE

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        rates = data.get("rates", {})
        if not isinstance(rates, dict) or not all(isinstance(v, dict) for v in rates.values()):
            raise ValueError("'rates' must be a table of tables")
        return rates

    def recall(self, now: float) -> Recalled:
        """The rate learned for this API within ``KEEP_S`` of ``now`` (wall time)."""
        try:
            entry = self._read().get(self.identity)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
            with contextlib.suppress(OSError):
                self.path.unlink()  # our cache: said once, then gone
            return Recalled(None, f"{self.path} could not be read ({exc}); it was removed")
        if entry is None or not _usable(entry, now):
            return Recalled(None)
        if "rps" in entry:
            return Recalled(float(entry["rps"]))  # type: ignore[arg-type]
        return Recalled(None, free_workers=int(entry["free_workers"]))  # type: ignore[call-overload]

    def remember(self, rate: float, now: float) -> str:
        """Keep ``rate`` for this API (other APIs' rates stay); "" or why it could not."""
        if not _positive(rate):
            return ""
        return self._keep({"rps": rate, "learned": now}, now)

    def remember_free(self, workers: int, now: float) -> str:
        """Keep that ``workers`` started against this API without a refusal."""
        if workers <= 0:
            return ""
        return self._keep({"free_workers": workers, "learned": now}, now)

    def _keep(self, entry: dict[str, object], now: float) -> str:
        try:
            rates = self._read()
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError):
            rates = {}  # unreadable: what was learned now replaces it
        rates[self.identity] = entry
        lines = [
            "# claude-tui: the request rates APIs allowed, learned from their rate limits and",
            "# used to pace the next run's starts (or the workers started without a limit).",
            "# By a hash of the API's address, credential and model. Safe to delete.",
            "version = 1",
        ]
        for identity, kept in sorted(rates.items()):
            if not _usable(kept, now):
                continue
            lines += ["", f"[rates.{toml_str(identity)}]"]
            if "rps" in kept:
                lines.append(f"rps = {toml_float(float(kept['rps']))}")  # type: ignore[arg-type]
            else:
                lines.append(f"free_workers = {int(kept['free_workers'])}")  # type: ignore[call-overload]
            lines.append(f"learned = {toml_float(float(kept['learned']))}")  # type: ignore[arg-type]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path, "\n".join(lines) + "\n")
        except OSError as exc:
            return f"could not keep what this run learned of the API in {self.path}: {exc.strerror}"
        return ""


def _usable(entry: Mapping[str, object], now: float) -> bool:
    """A rate (or a count of workers) and the time it was learned, both numbers, within
    KEEP_S before ``now``."""
    learned = entry.get("learned")
    if "rps" in entry:
        known = _positive(entry["rps"])
    else:
        workers = entry.get("free_workers")
        known = isinstance(workers, int) and not isinstance(workers, bool) and workers > 0
    if not (known and _positive(learned)):
        return False
    return -FUTURE_S <= now - float(learned) <= KEEP_S  # type: ignore[arg-type]


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
