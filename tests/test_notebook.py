"""examples/notebook.ipynb, executed end to end in a Jupyter kernel of this environment: a local
Ray, the real engine with the embedded model, the results table and the per-type F1 chart."""

import json
import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "notebook.ipynb"
KERNEL = "ie-batch-test"


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """A kernelspec that runs this very interpreter, so the notebook sees this environment's
    ie_batch, Ray and vLLM whatever other `python3` kernels the machine has."""
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "ie_batch tests",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local Ray, never a cluster
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return KERNEL


def test_the_committed_notebook_has_no_outputs():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.engine
@pytest.mark.ray
def test_the_notebook_runs_and_shows_the_table_and_the_chart(kernel):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("vllm")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    before = sorted(path.name for path in NOTEBOOK.parent.iterdir())
    client = nbclient.NotebookClient(
        notebook,
        timeout=900,
        kernel_name=kernel,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first cell that fails

    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output["output_type"] == "error"]
    html = [
        output["data"]["text/html"] for output in outputs if "text/html" in output.get("data", {})
    ]
    results_table = next(table for table in html if "gold label" in table)
    body = results_table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert len(re.findall(r"<tr\b", body)) == 8
    assert "en-news-01" in results_table and "Angela Merkel met Emmanuel Macron" in results_table
    scores_table = next(table for table in html if "miscellaneous" in table and "f1" in table)
    assert "sci_tech" in scores_table
    text = "".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "") for output in outputs
    )
    assert "8 rows in" in text and "NER micro F1" in text
    assert any("image/png" in output.get("data", {}) for output in outputs)
    # nothing written next to the notebook
    assert sorted(path.name for path in NOTEBOOK.parent.iterdir()) == before
