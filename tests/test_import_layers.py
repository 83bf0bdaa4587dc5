"""The pure layers (schema, prompts, parsing, metrics) import none of vllm, torch or ray: checked
in a fresh interpreter, where nothing else has imported them first."""

import subprocess
import sys

import pytest

PURE = ["ie_batch.schema", "ie_batch.prompts", "ie_batch.parsing", "ie_batch.metrics"]


@pytest.mark.parametrize("module", [*PURE, "ie_batch", "ie_batch.config", "ie_batch.extraction"])
def test_importing_a_light_layer_loads_no_heavy_library(module):
    code = (
        "import sys, importlib; "
        f"importlib.import_module({module!r}); "
        "import ie_batch.schema.catalog, ie_batch.prompts.few_shot; "
        "heavy = sorted(m for m in ('vllm', 'torch', 'ray', 'transformers') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"
