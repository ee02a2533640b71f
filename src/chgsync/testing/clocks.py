"""Clocks a test moves by hand, for code that takes ``clock=`` and ``sleep=`` (pacers, rate limits).

Why: pacing is only testable if waiting costs no time and every wait is visible. Give the code
under test the clock itself as ``clock`` and its :meth:`ManualClock.sleep` as ``sleep``: each wait
is recorded in ``sleeps`` and moves the clock on, as a real sleep would.
"""

from __future__ import annotations


class ManualClock:
    """Monotonic seconds that move only when the test moves them (``now``, :meth:`advance`) or the
    code under test sleeps. Assigning to ``now`` may also move it back, as a misbehaving clock would."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Time passing without the code under test waiting (its own work, another caller's)."""
        self.now += seconds
