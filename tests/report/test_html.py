"""The page's markup: spans nested in the text, everything from the data escaped, nothing
fetched from elsewhere."""

import html
import re

import pytest

from ie_batch.report.data import Span, read_report_data
from ie_batch.report.html import highlight, nest_marks, render_report, tip
from tests.report.conftest import INJECTION


def _entity(label, start, end, text="x"):
    return Span("entity", label, None, text, start, end)


def _shape(marks):
    return [((m.start, m.end), [s.label for s in m.spans], _shape(m.children)) for m in marks]


def test_spans_inside_others_nest_and_spans_with_the_same_offsets_share_a_mark():
    spans = [
        _entity("org", 10, 20),
        _entity("loc", 10, 16),
        _entity("person", 0, 4),
        Span("relation", "works_for", "subject", "x", 0, 4, 0),
        _entity("misc", 17, 20),
    ]
    roots, crossing, unlocated = nest_marks("x" * 30, spans)
    assert _shape(roots) == [
        ((0, 4), ["person", "works_for"], []),
        ((10, 20), ["org"], [((10, 16), ["loc"], []), ((17, 20), ["misc"], [])]),
    ]
    assert crossing == [] and unlocated == []


def test_a_crossing_span_and_one_without_usable_offsets_are_set_aside():
    crossing_span, missing, outside, empty = (
        _entity("b", 3, 8),
        _entity("c", None, None),
        _entity("d", 5, 99),
        _entity("e", 4, 4),
    )
    roots, crossing, unlocated = nest_marks(
        "0123456789", [_entity("a", 0, 5), crossing_span, missing, outside, empty]
    )
    assert _shape(roots) == [((0, 5), ["a"], [])]
    assert crossing == [crossing_span]
    assert unlocated == [missing, outside, empty]


def _visible_text(markup):
    return html.unescape(re.sub(r"<[^>]+>", "", str(markup)))


def test_highlighted_text_is_the_text_escaped_with_each_mark_on_its_characters():
    text = f'A <b>"Q&A"</b> {INJECTION} \U0001f600 Zoë Berlin Zoo.'
    start = text.index("Berlin")
    spans = [
        _entity("org", start, start + 10, "Berlin Zoo"),
        _entity("loc", start, start + 6, "Berlin"),
        _entity("person", text.index("Zoë"), text.index("Zoë") + 3, "Zoë"),
    ]
    marked = highlight(text, spans, {"entity: org": 3})
    assert _visible_text(marked.html) == text
    assert "<script>" not in marked.html and "<b>" not in marked.html
    assert "&lt;script&gt;" in marked.html
    found = re.findall(
        r'<mark class="span c(\d+)" data-start="(\d+)" data-end="(\d+)"', marked.html
    )
    assert [(int(s), int(e)) for _, s, e in found] == [
        (text.index("Zoë"), text.index("Zoë") + 3),
        (start, start + 10),
        (start, start + 6),
    ]
    assert found[1][0] == "3"  # the label's colour
    assert marked.marks == 3


def test_a_tip_names_the_type_the_place_and_the_source_slice():
    text = "Tim Cook works for Apple."
    subject = Span("relation", "works_for", "subject", "Tim Cook", 0, 8, 1, True)
    assert tip(subject, text) == (
        "works_for · relation #2 subject\ncharacters 0–8: “Tim Cook”\nin gold"
    )
    renamed = _entity("org", 19, 24, "APPLE")
    assert tip(renamed, text) == ("org · entity\ncharacters 19–24: “Apple”\nextracted as “APPLE”")


@pytest.fixture(scope="module")
def page(job_output):
    output, _, _ = job_output
    return render_report(read_report_data(str(output), sample=100))


def test_the_page_fetches_nothing(page):
    links = re.findall(r"""\b(?:src|href|action)\s*=\s*["']([^"']*)""", page)
    assert links and all(link.startswith("#") for link in links), links
    assert "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page


def test_every_value_from_the_data_is_escaped(page):
    assert INJECTION not in page
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in page
    assert 'data-id="n2 &lt;i&gt;"' in page
    assert "<i>" not in page.replace("<i>none</i>", "").replace("<i>not found in the text</i>", "")
    assert page.count("<script>") == 1  # the page's own


def test_the_page_has_a_row_per_type_and_per_shard(page):
    for label in ("location", "organization", "person", "works_for", "acquisition / price"):
        assert f'<tr data-type="{label}">' in page
    for shard in ("empty", "news", "web", "broken"):
        assert f'data-shard="{shard}">' in page
    assert page.count('<article class="doc"') == 19
