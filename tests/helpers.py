"""Assertions several test modules share."""


def count_grounded(text, row):
    """Every entity with offsets points at its own span in `text`; returns how many had offsets."""
    found = 0
    for entity in row["entities"]:
        if entity["start"] is not None:
            assert text[entity["start"] : entity["end"]] == entity["text"], entity
            found += 1
    return found
