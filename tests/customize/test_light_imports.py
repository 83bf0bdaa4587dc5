"""The command line imports `customize.data_cli` when it starts, and the import and export
modules behind it run on machines without the engine extras: none of them may load vllm,
torch, ray or transformers (checked in a fresh interpreter, where nothing else loaded them)."""

import subprocess
import sys

MODULES = [
    "ie_batch.customize.data_cli",
    "ie_batch.customize.annotations",
    "ie_batch.customize.training_data",
]


def test_import_and_export_modules_load_no_heavy_library():
    code = (
        f"import importlib, sys; [importlib.import_module(m) for m in {MODULES!r}]; "
        "print(','.join(sorted(m for m in ('vllm', 'torch', 'ray', 'transformers') "
        "if m in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
