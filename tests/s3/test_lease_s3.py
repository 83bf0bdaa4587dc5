"""The output lease on a real S3-compatible server: the conditional create (If-None-Match)."""

import pytest

from ie_batch.config import StorageConfig
from ie_batch.io.layout import OutputLayout
from ie_batch.io.lease import LeaseHeld, OutputLease


def test_of_two_jobs_on_one_s3_output_only_one_gets_the_lease(s3_server, bucket):
    storage = StorageConfig(endpoint_url=s3_server.endpoint_url)
    url = f"s3://{bucket}/out"
    first = OutputLease(OutputLayout.open(url, storage))
    first.acquire(url)
    try:
        with pytest.raises(LeaseHeld, match=first.owner):
            OutputLease(OutputLayout.open(url, storage)).acquire(url)
    finally:
        first.release()
    second = OutputLease(OutputLayout.open(url, storage))
    second.acquire(url)
    second.release()
