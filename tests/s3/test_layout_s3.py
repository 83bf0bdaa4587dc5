"""An output folder on S3 read by a long-lived process (a notebook, a Serve replica, a
scheduler polling `status`) sees what other processes committed since it last looked: fsspec
shares one filesystem per process and its S3 listings never expire on their own."""

import pyarrow as pa
import pyarrow.parquet as pq

from ie_batch.config import StorageConfig
from ie_batch.io.layout import OutputLayout


def test_a_layout_opened_again_sees_parts_written_by_another_process(s3_server, bucket):
    import s3fs

    storage = StorageConfig(endpoint_url=s3_server.endpoint_url)
    url = f"s3://{bucket}/out"
    layout = OutputLayout.open(url, storage)
    layout.stage_part("a", "part-000000000-000000000", pa.table({"_row": [0]}))
    layout.publish("a")
    assert len(OutputLayout.open(url, storage).data_parts("a")) == 1

    other = s3fs.S3FileSystem(
        endpoint_url=s3_server.endpoint_url, skip_instance_cache=True, use_listings_cache=False
    )
    with other.open(f"{bucket}/out/data/a/part-000000001-000000001.parquet", "wb") as handle:
        pq.write_table(pa.table({"_row": [1]}), handle)

    assert len(OutputLayout.open(url, storage).data_parts("a")) == 2
