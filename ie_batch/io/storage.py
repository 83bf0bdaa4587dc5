"""Opening local paths and object-storage URIs with the job's storage settings."""

from __future__ import annotations

import os
import re
from typing import Any

import fsspec
from fsspec import AbstractFileSystem

from ie_batch.config import StorageConfig

_S3 = {"s3", "s3a"}


def filesystem_options(url: str, storage: StorageConfig | None) -> dict[str, Any]:
    """fsspec options for `url`: S3 gets the endpoint, region and retry policy."""
    storage = storage or StorageConfig()
    options = dict(storage.options)
    if fsspec.utils.get_protocol(url) in _S3:
        endpoint = (
            storage.endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        if endpoint:
            options.setdefault("endpoint_url", endpoint)
        if storage.region:
            options.setdefault("client_kwargs", {}).setdefault("region_name", storage.region)
        options.setdefault(
            "config_kwargs", {"retries": {"max_attempts": storage.max_attempts, "mode": "adaptive"}}
        )
    return options


def open_filesystem(
    url: str, storage: StorageConfig | None = None
) -> tuple[AbstractFileSystem, str]:
    return fsspec.core.url_to_fs(url, **filesystem_options(url, storage))


_USERINFO = re.compile(r"//[^/@\s]+@")


def redact(url: str) -> str:
    """A URL fit for logs: any `user:secret@` part is removed."""
    return _USERINFO.sub("//", url)


def has_credentials(url: str) -> bool:
    """A URL with a `user[:secret]@` part (credentials belong in the environment)."""
    return bool(_USERINFO.search(url))
