"""The review page in a real browser: headless Chromium (Debian's package) driven by
Playwright. Never skipped: without Chromium the tests fail and say how to install it."""

from __future__ import annotations

import shutil

import pytest

from ie_batch.report import write_report
from tests.report.conftest import INJECTION

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
INSTALL_HINT = "run scripts/ensure_chromium.sh (it installs Debian's chromium package)"


def chromium_binary() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)}): {INSTALL_HINT}")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_binary()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def report_page(job_output, tmp_path_factory):
    output, _, rows = job_output
    path = tmp_path_factory.mktemp("page") / "report.html"
    data = write_report(str(output), str(path), sample=100)
    return path, data, rows


@pytest.fixture
def page(browser, report_page):
    """The page loaded, with what it asked of the network and every script error it raised."""
    path, _, _ = report_page
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    yield page, problems, requests
    page.close()


def test_the_page_loads_without_script_errors_or_network_requests(page, report_page):
    page, problems, requests = page
    path, data, _ = report_page
    assert page.title() == f"ie_batch report: {data.output}"
    assert problems == []
    assert requests == [path.as_uri()]  # nothing fetched but the page itself


def test_per_type_tables_have_a_bar_per_score_sized_by_it(page, report_page):
    page, _, _ = page
    _, data, _ = report_page
    tables = page.eval_on_selector_all(
        "table.per-type",
        """tables => tables.map(t => ({
            task: t.dataset.task,
            rows: Array.from(t.tBodies[0].rows).map(r => ({
                type: r.dataset.type,
                widths: Array.from(r.querySelectorAll("svg.bar rect.fill"))
                    .map(rect => Number(rect.getAttribute("width"))),
                visible: r.querySelector("svg.bar").getBoundingClientRect().width > 0,
            })),
        }))""",
    )
    assert [table["task"] for table in tables] == [
        "ner",
        "re",
        "ee_trigger",
        "ee_argument",
        "classification",
    ]
    for table in tables:
        if table["task"] == "classification":
            expected = data.totals["classification"]["per_class"]
        else:
            expected = {label: c.to_dict() for label, c in data.per_type[table["task"]].items()}
        assert [row["type"] for row in table["rows"]] == sorted(expected)
        for row in table["rows"]:
            figures = expected[row["type"]]
            assert row["visible"]
            assert row["widths"] == [
                pytest.approx(100 * figures[key], abs=0.05) for key in ("precision", "recall", "f1")
            ], (table["task"], row["type"])
    location = next(r for r in tables[0]["rows"] if r["type"] == "location")
    assert location["widths"][2] == pytest.approx(80.0)  # F1 0.8: 2 of 3 gold locations


SPANS_IN_DOCUMENTS = """() => Array.from(document.querySelectorAll("article.doc")).map(doc => {
    const box = doc.querySelector(".text");
    return {
        id: doc.dataset.id,
        missing: box.classList.contains("missing"),
        text: box.textContent,
        marks: Array.from(box.querySelectorAll("mark.span")).map(mark => {
            const before = document.createRange();
            before.setStart(box, 0);
            before.setEndBefore(mark);
            return {
                start: Number(mark.dataset.start),
                end: Number(mark.dataset.end),
                text: mark.textContent,
                before: before.toString(),
                labels: JSON.parse(mark.dataset.labels),
            };
        }),
    };
})"""


def _located_ranges(row):
    ranges = {(e["start"], e["end"]) for e in row["entities"] if e["start"] is not None}
    for r in row["relations"]:
        ranges |= {(r["subject_start"], r["subject_end"]), (r["object_start"], r["object_end"])}
    for event in row["events"]:
        ranges.add((event["trigger_start"], event["trigger_end"]))
        ranges |= {(a["start"], a["end"]) for a in event["arguments"]}
    return {pair for pair in ranges if None not in pair}


def test_every_span_is_highlighted_on_its_own_characters(page, report_page):
    page, _, _ = page
    _, _, rows = report_page
    documents = page.evaluate(SPANS_IN_DOCUMENTS)
    assert len(documents) == len(rows) == 19
    checked = 0
    for document in documents:
        row = rows[document["id"]]
        if not isinstance(row["text"], str):
            assert document["missing"]
            continue
        text = row["text"]
        assert document["text"] == text  # nothing added to or lost from the text
        assert {(m["start"], m["end"]) for m in document["marks"]} == _located_ranges(row)
        for mark in document["marks"]:
            assert mark["text"] == text[mark["start"] : mark["end"]], (document["id"], mark)
            assert mark["before"] == text[: mark["start"]], (document["id"], mark)
            checked += 1
    assert checked >= 30
    n1 = next(d for d in documents if d["id"] == "n1")
    shared = next(m for m in n1["marks"] if m["text"] == "Tim Cook")
    assert shared["labels"] == ["entity: person", "relation: works_for"]
    # code points, not UTF-16 units: Paris comes after an emoji
    n2 = next(d for d in documents if d["id"] == "n2 <i>")
    paris = next(m for m in n2["marks"] if m["text"] == "Paris")
    assert paris["start"] == rows["n2 <i>"]["text"].index("Paris")


def test_text_from_the_data_is_shown_as_text_never_run(page):
    page, problems, _ = page
    assert page.title().startswith("ie_batch report")  # the injected script did not run
    assert page.locator("article.doc script, article.doc b").count() == 0
    n2 = page.locator('article.doc[data-id="n2 <i>"]')
    assert INJECTION in n2.locator(".text").text_content()
    assert n2.locator("h3 code").text_content() == "n2 <i>"
    assert problems == []


def test_hovering_a_nested_span_shows_its_type_and_source_slice(page):
    page, problems, _ = page
    n1 = page.locator('article.doc[data-id="n1"]')
    inner = n1.locator('mark.span[data-start="43"][data-end="49"]')
    assert inner.locator("xpath=..").get_attribute("data-end") == "53"  # inside Berlin Zoo
    inner.hover()
    tip = page.locator("#tip")
    assert tip.is_visible()
    assert tip.text_content() == "location · entity\ncharacters 43–49: “Berlin”\nin gold"
    box, tip_box = inner.bounding_box(), tip.bounding_box()
    assert tip_box["y"] >= box["y"]  # shown by the span, not somewhere else
    page.mouse.move(5, 5)
    assert not tip.is_visible()
    assert problems == []


def test_a_label_can_be_hidden_and_shown_again(page):
    page, problems, _ = page
    chip = page.locator('.legend .chip[data-label="entity: location"]')
    chip.click()
    assert chip.get_attribute("aria-pressed") == "false"
    hidden = page.eval_on_selector_all(
        "mark.span.off", "marks => marks.map(m => JSON.parse(m.dataset.labels))"
    )
    assert hidden and all("entity: location" in labels for labels in hidden)
    assert page.locator("mark.span").count() > len(hidden)
    chip.click()
    assert page.locator("mark.span.off").count() == 0
    assert problems == []


def test_a_table_sorts_by_the_column_clicked(page):
    page, problems, _ = page
    table = page.locator('table.per-type[data-task="ner"]')
    order = lambda: table.locator("tbody tr").evaluate_all(  # noqa: E731
        "rows => rows.map(r => r.dataset.type)"
    )
    assert order() == ["location", "organization", "person"]
    header = table.locator("thead th", has_text="F1")
    header.click()  # ascending: location (0.8) first
    assert order()[0] == "location"
    header.click()  # descending
    assert order()[-1] == "location"
    assert header.get_attribute("aria-sort") == "descending"
    assert problems == []


def test_without_chromium_the_tests_fail_and_say_how_to_install_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="scripts/ensure_chromium.sh"):
        chromium_binary()
