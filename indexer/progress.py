"""Progress reporting for long work (embedding, indexing) on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

ProgressFn = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    return None


def stderr_progress(label: str, min_total: int = 64) -> ProgressFn:
    """A callback printing ``label: done/total (rate/s)`` at most a few times a second."""
    start = time.monotonic()
    last = [0.0]

    def report(done: int, total: int) -> None:
        if total < min_total:
            return
        now = time.monotonic()
        if done < total and now - last[0] < 0.5:
            return
        last[0] = now
        rate = done / max(now - start, 1e-6)
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label}: {done}/{total} ({rate:.0f}/s){end}")
        sys.stderr.flush()

    return report
