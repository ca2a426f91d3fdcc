"""Is the scheduler alive: every job showed a sign of life (a run started or ended, or a beat from a
long run such as a delivery drain) within its expected interval. `/healthz` reads `problems()`.

A job may go quiet for twice its interval, plus the longest a run of it may take (a poll pass up to
its lease), plus a grace; quieter than that, it is stuck or no longer scheduled. A job whose every run
has raised for longer than `failing_s` is not alive either, though it runs on time: it does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

GRACE_S = 60.0
# How long every run of a job may raise before /healthz says so (settings: metrics.failing_s).
FAILING_S = 600.0


@dataclass(slots=True)
class _Job:
    every_s: float
    may_run_s: float
    last_sign: float
    running_since: float | None = None
    # When the current run of failed runs began (None after a run that ended well), and the last error.
    failing_since: float | None = None
    last_error: str = ""

    @property
    def allowed_s(self) -> float:
        return 2 * self.every_s + self.may_run_s + GRACE_S


class Liveness:
    """Signs of life from the scheduler's jobs, on a monotonic clock (injectable for tests)."""

    def __init__(
        self, monotonic: Callable[[], float] = time.monotonic, *, failing_s: float = FAILING_S
    ) -> None:
        self._now = monotonic
        self._failing_s = failing_s
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

    def failed(self, name: str, error: str) -> None:
        """A run raised `error` (the exception's type: its message may carry a feed's text)."""
        job = self._jobs.get(name)
        if job is not None:
            if job.failing_since is None:
                job.failing_since = self._now()
            job.last_error = error

    def succeeded(self, name: str) -> None:
        job = self._jobs.get(name)
        if job is not None:
            job.failing_since = None

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
            elif job.failing_since is not None and now - job.failing_since > self._failing_s:
                found.append(
                    f"job {name}: every run failed for {now - job.failing_since:.0f} s "
                    f"(last: {job.last_error}; runs every {job.every_s:g} s)"
                )
        return found
