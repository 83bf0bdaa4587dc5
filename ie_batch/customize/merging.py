"""A merged checkpoint: the base model with a LoRA adapter folded into its weights.

vLLM serves an adapter beside its base model (`engine.lora_adapter`), which is the cheap way: one
base, many adapters. A merged checkpoint is the fallback for an engine that cannot serve LoRA
(or a server that was started without it): a plain model folder, loaded as `engine.model`, that
answers exactly as base + adapter do, at the base model's speed.
"""

from __future__ import annotations

from pathlib import Path

from ie_batch.engines.embedded_model import build_atomically

MERGED_NAME = "merged"


def merge_adapter(
    adapter_dir: Path, out_dir: Path, base_model: str, dtype: str = "bfloat16"
) -> Path:
    """Write base + adapter as one checkpoint (weights and tokenizer) to `out_dir`.

    `base_model` is the model the adapter was trained on, as the training record has it (a path,
    or an id in the local cache). The folder is built beside `out_dir` and renamed into place, so
    a half-written one is never taken for a checkpoint."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    base = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch_dtype)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir))
    with build_atomically(Path(out_dir)) as tmp:
        merged.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return Path(out_dir)
