"""A Ray worker setup hook for the write-task fault test: the first write task (across every
worker of the job) that stages a part exits its process right after the part is on disk, before
it can return its summary. Which worker goes first is decided by creating the ticket file named
by $IE_BATCH_TEST_KILL_TICKET exclusively."""

from __future__ import annotations

import os


def install() -> None:
    from ie_batch.engines.fake import claim_once
    from ie_batch.io.layout import OutputLayout

    ticket = os.environ["IE_BATCH_TEST_KILL_TICKET"]
    stage_part = OutputLayout.stage_part

    def stage_then_die(self, shard, part, table):  # type: ignore[no-untyped-def]
        path = stage_part(self, shard, part, table)
        if not claim_once(ticket):
            return path
        os._exit(1)  # the process dies with its part written and its summary unsent

    OutputLayout.stage_part = stage_then_die  # type: ignore[method-assign]
