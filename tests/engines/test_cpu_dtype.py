"""Which dtype `auto` means on a CPU (ie_batch.engines.cpu_dtype): float32 where bfloat16 would be
emulated, the checkpoint's own where the CPU runs it or the CPU is unknown."""

from __future__ import annotations

from ie_batch.engines.cpu_dtype import cpu_flags, engine_dtype

AVX2_ONLY = frozenset({"fpu", "sse2", "avx", "avx2", "fma"})
SAPPHIRE_RAPIDS = AVX2_ONLY | {"avx512f", "avx512_bf16", "amx_bf16"}


def test_auto_is_float32_on_a_cpu_without_bfloat16_instructions():
    assert engine_dtype("auto", on_gpu=False, flags=AVX2_ONLY) == "float32"


def test_auto_stays_auto_where_the_cpu_runs_bfloat16_or_on_a_gpu_or_an_unknown_cpu():
    assert engine_dtype("auto", on_gpu=False, flags=SAPPHIRE_RAPIDS) == "auto"
    assert engine_dtype("auto", on_gpu=False, flags=frozenset({"fp", "asimd", "bf16"})) == "auto"
    assert engine_dtype("auto", on_gpu=True, flags=AVX2_ONLY) == "auto"
    assert engine_dtype("auto", on_gpu=False, flags=frozenset()) == "auto"


def test_a_dtype_the_configuration_names_is_used_as_it_is():
    assert engine_dtype("bfloat16", on_gpu=False, flags=AVX2_ONLY) == "bfloat16"


def test_flags_are_read_from_cpuinfo_on_x86_and_arm(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx avx2\n\n")
    assert cpu_flags(x86) == frozenset({"fpu", "avx", "avx2"})
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert "bf16" in cpu_flags(arm)
    assert cpu_flags(tmp_path / "missing") == frozenset()
