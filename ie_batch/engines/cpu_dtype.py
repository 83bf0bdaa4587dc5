"""The dtype a model runs in on a CPU when the configuration says `auto`.

vLLM's `auto` takes the checkpoint's own dtype: bfloat16 for the embedded model and most current
checkpoints. A CPU without bfloat16 instructions (AVX-512 BF16 or AMX on x86, BF16 on Arm; an
AVX2-only EPYC, for one) emulates every bfloat16 matmul. Measured on such a 2-core machine with
the embedded model: 16 prompts of 32 tokens did not finish within 10 minutes in bfloat16 and took
13 s in float32 (39 tokens/s). So on a CPU that lacks them, `auto` means float32, at twice the
weights' memory; a dtype the configuration names is always used as it is.
"""

from __future__ import annotations

from pathlib import Path

#: CPU feature flags (as /proc/cpuinfo names them) that run bfloat16 natively.
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The first processor's feature flags (`flags` on x86, `Features` on Arm); empty where
    they cannot be read (not Linux)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_lacks_bfloat16(flags: frozenset[str] | None = None) -> bool:
    """True only for a CPU whose flags are known and name no bfloat16 instruction set; an
    unknown CPU is given the benefit of the doubt."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags) and not flags & BF16_CPU_FLAGS


def engine_dtype(dtype: str, on_gpu: bool, flags: frozenset[str] | None = None) -> str:
    """The dtype to hand vLLM: `dtype` itself, except `auto` on a CPU known to lack bfloat16
    instructions, which becomes float32."""
    if dtype != "auto" or on_gpu or not cpu_lacks_bfloat16(flags):
        return dtype  # a GPU, an unknown CPU, or one that runs bfloat16: vLLM decides
    return "float32"
