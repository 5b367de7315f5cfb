"""The database lease as a tool held for a piece of work (``Leases.hold``), on the real SQLite
and PostgreSQL: waited for while another holds it, renewed while held, released at the end."""

from __future__ import annotations

import threading

import pytest

from bot.handoff.lease import Leases, LeaseTaken
from tests.databases import scratch_database
from tests.polling import wait_until


@pytest.fixture(params=["sqlite", "postgresql"])
def leases(request, tmp_path):
    with scratch_database(request.param, tmp_path) as url:
        yield Leases(url)


def test_a_held_lease_is_waited_for_then_taken_and_released_at_the_end(leases):
    assert leases.take("job", "other", 60)
    with pytest.raises(LeaseTaken) as taken:
        with leases.hold("job", "me", 60, wait=0.2):
            pytest.fail("ran while another held the lease")
    assert taken.value.holder == "other" and leases.holder("job")[0] == "other"

    inside = threading.Event()

    def work() -> None:
        with leases.hold("job", "me", 60, wait=30, poll=0.05):
            inside.set()

    waiting = threading.Thread(target=work)
    waiting.start()
    assert not inside.is_set()
    assert leases.release("job", "other")
    waiting.join(timeout=30)
    assert inside.is_set() and leases.holder("job") is None
    assert not leases.release("job", "other")  # nothing of theirs left to release


def test_a_lease_is_renewed_while_its_work_runs(leases):
    with leases.hold("job", "me", 0.9, wait=0):
        first = leases.holder("job")[1]
        wait_until(lambda: leases.holder("job")[1] > first, 5, "the lease renewed")
        assert not leases.take("job", "other", 60)
    assert leases.take("job", "other", 60)  # released at the end
