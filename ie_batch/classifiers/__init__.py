"""Classifiers: predictors that score every label of a classification schema in one forward pass.

They sit beside `ie_batch.engines`, not inside it: an engine turns prompts into answer texts that
the parsers read, while a classifier turns texts straight into label scores, with no prompt, no
slice and no answer to parse. The job routes a classification schema to a classifier when its
configuration says so (`classifiers:`) and every other schema to the engine. Only `encoder`
imports torch and transformers, and only when a classifier is loaded.
"""

from ie_batch.classifiers.base import Classifier
from ie_batch.classifiers.card import CARD_NAME, ClassifierCard, ClassifierDirError, read_card

__all__ = ["CARD_NAME", "Classifier", "ClassifierCard", "ClassifierDirError", "read_card"]
