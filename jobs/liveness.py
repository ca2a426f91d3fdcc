"""Is the scheduler alive: every job showed a sign of life (a run started or ended, or a beat from a
long run such as a delivery drain) within its expected interval. `/healthz` reads `problems()`.

A job may go quiet for twice its interval, plus the longest a run of it may take (a poll pass up to
its lease), plus a grace; quieter than that, it is stuck or no longer scheduled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

GRACE_S = 60.0


@dataclass(slots=True)
class _Job:
    every_s: float
    may_run_s: float
    last_sign: float
    running_since: float | None = None

    @property
    def allowed_s(self) -> float:
        return 2 * self.every_s + self.may_run_s + GRACE_S


class Liveness:
    """Signs of life from the scheduler's jobs, on a monotonic clock (injectable for tests)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._jobs: dict[str, _Job] = {}
        self._state = "not started"

    def expect(self, name: str, *, every_s: float, may_run_s: float = 0.0) -> None:
        """A job that runs every `every_s` seconds, a run taking at most `may_run_s` without a beat."""
        self._jobs[name] = _Job(every_s, may_run_s, self._now())

    def scheduler_started(self) -> None:
        self._state = "running"
        now = self._now()
        for job in self._jobs.values():
            job.last_sign = now

    def scheduler_stopped(self) -> None:
        self._state = "stopped"

    def started(self, name: str) -> None:
        job = self._jobs.get(name)
        if job is not None:
            job.last_sign = job.running_since = self._now()

    def beat(self, name: str) -> None:
        job = self._jobs.get(name)
        if job is not None:
            job.last_sign = self._now()

    def finished(self, name: str) -> None:
        job = self._jobs.get(name)
        if job is not None:
            job.last_sign = self._now()
            job.running_since = None

    def problems(self) -> list[str]:
        """Why the scheduler is not alive; empty when it is."""
        if self._state != "running":
            return [f"scheduler {self._state}"]
        now = self._now()
        found = []
        for name, job in sorted(self._jobs.items()):
            quiet = now - job.last_sign
            if quiet > job.allowed_s:
                doing = (
                    f"running for {now - job.running_since:.0f} s"
                    if job.running_since is not None
                    else "not running"
                )
                found.append(
                    f"job {name}: no sign of life for {quiet:.0f} s ({doing}; runs every {job.every_s:g} s)"
                )
        return found
