"""Where a piece of work spends its time, stage by stage (decode, cut-out, theme, search, ...).

`stages_recorded()` collects, for the block it wraps, the wall and CPU seconds of each
`stage(name)` entered inside it (in this thread or task, through a context variable, so the
engine bridge and the services can mark their stages without passing a timer around). Stages
nest exclusively: time in an inner stage is not counted again in the outer one, so the shares
add up to the block's total. Outside `stages_recorded()` a stage costs a context-variable read.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class StageTimes:
    """Seconds per stage: `wall` (time.perf_counter) and `cpu` (time.process_time, this process)."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    _open: list[list] = field(default_factory=list)  # [name, wall mark, cpu mark] of the stages entered, innermost last

    def _charge(self, entry: list, wall: float, cpu: float) -> None:
        name = entry[0]
        self.wall[name] = self.wall.get(name, 0.0) + wall - entry[1]
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu - entry[2]
        entry[1], entry[2] = wall, cpu

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            "wall": {k: round(v, 4) for k, v in self.wall.items()},
            "cpu": {k: round(v, 4) for k, v in self.cpu.items()},
        }


_recording: ContextVar[StageTimes | None] = ContextVar("stage_times", default=None)


@contextmanager
def stages_recorded() -> Iterator[StageTimes]:
    """Record the stages entered in the block; the time outside every stage is counted as "other"."""
    times = StageTimes()
    token = _recording.set(times)
    try:
        with stage("other"):
            yield times
    finally:
        _recording.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Count the block's time to `name` (and not to the stage it is nested in) while recording."""
    times = _recording.get()
    if times is None:
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    if times._open:
        times._charge(times._open[-1], wall, cpu)
    entry = [name, wall, cpu]
    times._open.append(entry)
    try:
        yield
    finally:
        wall, cpu = time.perf_counter(), time.process_time()
        times._charge(entry, wall, cpu)
        times._open.pop()
        if times._open:  # the outer stage resumes from now
            times._open[-1][1], times._open[-1][2] = wall, cpu
