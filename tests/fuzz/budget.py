"""How much the fuzz suite runs, and how a fuzz run is turned into one clear
failure.

``FAQBOT_FUZZ_EXAMPLES`` (default 200) is the number of generated cases per
endpoint; CI runs the default, so the suite's time is predictable. Runs are
derandomized and use no example database: the same cases every time, in CI
and locally. For a longer local run: ``FAQBOT_FUZZ_EXAMPLES=2000 pytest tests/fuzz``."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import Phase, settings

from faqbot.config import PROJECT_ROOT
from tests.fuzz.target import Target

EXAMPLES = int(os.environ.get("FAQBOT_FUZZ_EXAMPLES", "200"))
SUMMARY = PROJECT_ROOT / "test-artifacts" / "fuzz-summary.txt"


def fuzz_settings(share: float = 1.0) -> settings:
    """``share`` of ``FAQBOT_FUZZ_EXAMPLES`` cases, the same ones on every run, no time limit per case.

    No shrinking: a case that fails by timing out would be retried for minutes
    while Hypothesis shrinks it; the cases are small already, and a failure is
    reported as it was found."""
    return settings(
        max_examples=max(1, round(EXAMPLES * share)),
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),
    )


def run_fuzz(target: Target, fuzz: Callable[[], None], statuses: Counter[int]) -> None:
    """Run a ``@given`` function; if a server went down, fail with the requests
    that preceded it (Hypothesis's own minimal example is then meaningless:
    every case fails once the server is gone)."""
    started, sent, target.slowest = time.monotonic(), target.sent, (0.0, "")
    try:
        fuzz()
    except Exception:
        if target.down is None:
            raise
        down = target.down
    else:
        down = None
    if down is not None:
        pytest.fail(
            f"a server went down during the fuzz ({sum(statuses.values())} outcomes counted before: "
            f"{dict(statuses)}).\n{down}",
            pytrace=False,
        )
    line = (
        f"{os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]}: {target.sent - sent} requests in "
        f"{time.monotonic() - started:.1f}s; outcomes {dict(sorted(statuses.items()))}; "
        f"slowest answer {target.slowest[0]:.2f}s: {target.slowest[1]}"
    )
    print(line)
    SUMMARY.parent.mkdir(exist_ok=True)
    with SUMMARY.open("a", encoding="utf-8") as out:  # CI keeps test-artifacts/
        out.write(line + "\n")
