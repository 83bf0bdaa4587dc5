"""Tally: shard figures that add up, the prefix-cache hit rate among them."""

import pyarrow as pa

from ie_batch.job.tally import Tally
from ie_batch.job.write_stage import tally_of
from ie_batch.metrics import Evaluation


def test_the_hit_rate_comes_from_summed_tokens_not_averaged_rates():
    total = Tally(prompt_tokens=100, cached_prompt_tokens=90)
    total += Tally(prompt_tokens=900, cached_prompt_tokens=0)
    figures = total.to_dict()
    assert figures["cached_prompt_tokens"] == 90
    assert figures["prefix_cache_hit_rate"] == 0.09
    assert Tally().to_dict()["prefix_cache_hit_rate"] is None  # nothing asked yet


def test_parts_written_before_cached_tokens_were_counted_still_add_up():
    old_part = pa.table(
        {"errors": [[], ["x"]], "prompt_tokens": [10, 20], "completion_tokens": [1, 2]}
    )
    tally = tally_of(old_part, Evaluation())
    assert (tally.rows, tally.error_rows, tally.prompt_tokens, tally.cached_prompt_tokens) == (
        2,
        1,
        30,
        0,
    )
