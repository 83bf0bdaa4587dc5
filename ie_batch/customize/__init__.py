"""Customization: from a user's annotations to training data, a fine-tuned model, and the batch
job running with it (PP-UIE's and IEPile's way past the zero-shot ceiling of a small model).

Nothing here is imported by `ie_batch` itself; the training modules import torch, transformers
and peft inside their functions, so the command line starts without them.
"""
