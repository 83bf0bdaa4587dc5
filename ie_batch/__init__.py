"""ie_batch: schema-driven information extraction over large corpora, in batch, on Ray."""

__version__ = "0.1.0"
