"""`ie-batch report OUTPUT`: a self-contained HTML page to review a job's output.

`data` reads what the page shows from the output folder (local or object storage) through its
layout, `html` renders it. The page needs nothing but a browser: no server, no network.
"""

from __future__ import annotations

import posixpath

from ie_batch.config import StorageConfig
from ie_batch.io.storage import open_filesystem
from ie_batch.report.data import DEFAULT_SAMPLE, ReportData, read_report_data
from ie_batch.report.html import render_report

__all__ = ["DEFAULT_SAMPLE", "ReportData", "read_report_data", "render_report", "write_report"]


def write_report(
    output: str,
    page: str,
    storage: StorageConfig | None = None,
    sample: int = DEFAULT_SAMPLE,
) -> ReportData:
    """Write the page for the job output at `output` to `page` (a path or URI); returns what
    it shows."""
    data = read_report_data(output, storage, sample)
    html = render_report(data)
    fs, path = open_filesystem(page, storage)
    parent = posixpath.dirname(path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    with fs.open(path, "w", encoding="utf-8") as handle:
        handle.write(html)
    return data
