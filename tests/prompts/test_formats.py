"""get_format: prompt formats by name."""

import pytest

from ie_batch.prompts import DocumentFirstFormat, IEPileFormat, get_format


def test_get_format_finds_both_formats_by_name():
    assert isinstance(get_format("iepile"), IEPileFormat)
    assert isinstance(get_format("document_first"), DocumentFirstFormat)
    assert get_format().name == "document_first"


def test_get_format_unknown_name_lists_the_known_formats():
    with pytest.raises(ValueError, match="unknown prompt format 'uie'") as caught:
        get_format("uie")
    assert "document_first" in str(caught.value) and "iepile" in str(caught.value)
