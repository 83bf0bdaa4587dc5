"""ie_batch: schema-driven information extraction over large corpora, in batch, on Ray."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Extractor", "__version__"]

if TYPE_CHECKING:
    from ie_batch.local import Extractor


def __getattr__(name: str) -> Any:
    # Lazy, so that `import ie_batch` stays light (no vllm, ray or torch until they are used).
    if name == "Extractor":
        from ie_batch.local import Extractor

        return Extractor
    raise AttributeError(f"module 'ie_batch' has no attribute {name!r}")
