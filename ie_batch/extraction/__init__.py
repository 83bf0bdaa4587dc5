"""Extraction: a batch of documents -> (document, slice, window, stage) prompts -> one result each.

Knows engines only through their interface, and nothing of Ray.
"""
