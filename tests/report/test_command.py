"""`ie-batch report OUTPUT`: writes the page, says what it shows; exit 2 for a folder no job
wrote."""

from typer.testing import CliRunner

from ie_batch.cli import app


def test_report_writes_the_page_with_the_documents_asked_for(job_output, tmp_path):
    output, _, _ = job_output
    page = tmp_path / "pages" / "review.html"
    result = CliRunner().invoke(
        app, ["report", str(output), "--output", str(page), "--sample", "3"]
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "3 committed shard(s), 1 failed, 3 document(s) shown" in said
    html = page.read_text(encoding="utf-8")
    assert html.count('<article class="doc"') == 3
    assert 'id="per-type"' in html and 'id="errors"' in html


def test_report_refuses_a_folder_no_job_wrote(tmp_path):
    result = CliRunner().invoke(
        app, ["report", str(tmp_path), "--output", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert "no ie_batch job wrote here" in " ".join(result.output.split())
    assert not (tmp_path / "r.html").exists()
