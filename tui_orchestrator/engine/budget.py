"""The run's budget: how much may still be spent, and whether new work may start.

The budget covers the whole checkpoint (every run of it): a resumed run that hit its budget
starts nothing until the budget is raised, and each process gets what is left as
``--max-budget-usd``, so a run overshoots by at most what running workers spend.
"""

from __future__ import annotations

from dataclasses import dataclass

# A process is never started with nothing to spend (the CLI would refuse 0 as "no limit").
MIN_PROCESS_USD = 0.01


@dataclass(slots=True)
class Budget:
    limit_usd: float  # 0: no budget
    reached: bool = False

    def remaining(self, spent_usd: float) -> float:
        """What one process may still spend (0: no budget)."""
        if self.limit_usd <= 0:
            return 0.0
        return max(MIN_PROCESS_USD, self.limit_usd - spent_usd)

    def check(self, spent_usd: float) -> bool:
        """Is the budget spent? True the first time it is (``reached`` says so after)."""
        if self.reached or not (self.limit_usd > 0 and spent_usd >= self.limit_usd):
            return False
        self.reached = True
        return True

    def text(self, spent_usd: float) -> str:
        return (
            f"budget of ${self.limit_usd:.2f} reached (${spent_usd:.2f} spent): "
            "no new chunk is started"
        )
