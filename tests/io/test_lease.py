"""The output lease on the local filesystem: exclusive, renewed, expiring, breakable."""

import json
import time

import pytest

from ie_batch.io.layout import OutputLayout
from ie_batch.io.lease import LeaseHeld, LeaseLost, OutputLease, break_lease


def _layout(tmp_path):
    return OutputLayout.open(str(tmp_path / "out"))


def test_a_second_job_fails_fast_naming_the_holder_and_how_to_break_it(tmp_path):
    first = OutputLease(_layout(tmp_path))
    first.acquire("out/")
    try:
        second = OutputLease(_layout(tmp_path))
        with pytest.raises(LeaseHeld) as caught:
            second.acquire("out/")
        message = str(caught.value)
        assert first.owner in message and "ie-batch unlock out/" in message
    finally:
        first.release()
    again = OutputLease(_layout(tmp_path))
    again.acquire("out/")  # released: free again
    again.release()


def test_a_lease_whose_holder_died_expires_and_is_taken_over(tmp_path):
    dead = OutputLease(_layout(tmp_path), ttl_s=0.2)
    dead.acquire("out/")
    dead._stop.set()  # the holder is killed: no more heartbeats, no release
    time.sleep(0.5)
    taker = OutputLease(_layout(tmp_path))
    taker.acquire("out/")
    assert taker.read().owner == taker.owner
    taker.release()


def test_the_holder_renews_its_lease_so_it_does_not_expire(tmp_path):
    holder = OutputLease(_layout(tmp_path), ttl_s=0.3)
    holder.acquire("out/")
    try:
        time.sleep(0.8)
        with pytest.raises(LeaseHeld):
            OutputLease(_layout(tmp_path)).acquire("out/")
        assert holder.read().heartbeat_at > holder.read().acquired_at
    finally:
        holder.release()


def test_a_holder_whose_lease_was_taken_stops_committing(tmp_path):
    layout = _layout(tmp_path)
    holder = OutputLease(layout, ttl_s=0.3)
    holder.acquire("out/")
    holder.check()
    lease_file = tmp_path / "out" / "_lease.json"
    record = json.loads(lease_file.read_text())
    lease_file.write_text(json.dumps({**record, "owner": "someone-else"}))
    time.sleep(0.3)
    with pytest.raises(LeaseLost, match="someone-else"):
        holder.check()
    holder.release()
    assert lease_file.exists()  # not ours to remove


def test_unlock_breaks_a_lease_by_hand(tmp_path):
    holder = OutputLease(_layout(tmp_path))
    holder.acquire("out/")
    holder._stop.set()
    broken = break_lease(_layout(tmp_path))
    assert broken.owner == holder.owner
    OutputLease(_layout(tmp_path)).acquire("out/")
