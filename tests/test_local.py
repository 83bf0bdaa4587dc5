"""Extractor (ie_batch.local): texts in, one result dict per text out, with an in-process engine.

Most tests drive it with the scripted FakeEngine; the tests marked `engine` share one real vLLM
engine with the embedded model (started once for the module).
"""

import asyncio
import subprocess
import sys
import threading

import pytest

import ie_batch
from ie_batch.config import EngineConfig
from ie_batch.engines.fake import FakeEngine, LexiconAnswers
from ie_batch.local import Extractor
from tests.helpers import count_grounded

ROW_KEYS = {"id", "entities", "relations", "events", "labels", "errors", "warnings"}
LEXICON = LexiconAnswers(
    entities={
        "person": ["Angela Merkel", "Tim Cook"],
        "location": ["Paris", "Berlin"],
        "organization": ["Apple"],
    },
    labels={"world": ["Merkel"], "business": ["Apple"]},
)


class RecordingFactory:
    """Builds a FakeEngine and records where it was built and shut down."""

    def __init__(self, answer_fn=LEXICON):
        self.answer_fn = answer_fn
        self.engine = None
        self.built_in_loop = None
        self.shutdown_thread = None

    def __call__(self, config, num_gpus):
        try:
            asyncio.get_running_loop()
            self.built_in_loop = True
        except RuntimeError:
            self.built_in_loop = False
        factory = self

        class Engine(FakeEngine):
            def shutdown(self):
                factory.shutdown_thread = threading.current_thread().name

        self.engine = Engine(self.answer_fn, max_model_len=config.max_model_len)
        return self.engine


@pytest.fixture
def factory():
    return RecordingFactory()


def _spans_match(text, row):
    for entity in row["entities"]:
        assert entity["start"] is not None, entity
        assert text[entity["start"] : entity["end"]] == entity["text"]


def test_one_result_per_text_in_the_batch_job_row_shape(factory):
    texts = ["Angela Merkel met Tim Cook in Paris.", "Nothing to see.", "Apple opened in Berlin."]
    with Extractor("news_ner_en", "topic_en", engine_factory=factory) as ie:
        rows = ie(texts)
    assert [row["id"] for row in rows] == ["0", "1", "2"]
    assert all(set(row) == ROW_KEYS and row["errors"] == [] for row in rows)
    assert {(e["type"], e["text"]) for e in rows[0]["entities"]} == {
        ("person", "Angela Merkel"),
        ("person", "Tim Cook"),
        ("location", "Paris"),
    }
    assert rows[1]["entities"] == []
    assert [[label["label"] for label in row["labels"]] for row in rows] == [
        ["world"],
        ["world"],  # one slice holds every topic: no "none", the fake takes the last choice
        ["business"],
    ]
    for text, row in zip(texts, rows, strict=True):
        _spans_match(text, row)


def test_a_single_text_gives_a_list_of_one_and_no_texts_give_none(factory):
    with Extractor(["person"], engine_factory=factory) as ie:
        rows = ie("Tim Cook spoke.")
        assert ie([]) == []
    assert len(rows) == 1 and rows[0]["entities"][0]["text"] == "Tim Cook"


def test_batches_keep_the_order_of_the_texts(factory):
    texts = [f"Tim Cook, number {i}." if i % 2 else f"Paris, number {i}." for i in range(7)]
    with Extractor(["person", "location"], batch_size=2, engine_factory=factory) as ie:
        rows = ie(texts)
    assert [row["id"] for row in rows] == [str(i) for i in range(7)]
    assert [row["entities"][0]["type"] for row in rows] == [
        "person" if i % 2 else "location" for i in range(7)
    ]


def test_the_engine_is_built_inside_the_event_loop_and_shut_down_there(factory):
    ie = Extractor(["person"], engine_factory=factory)
    assert factory.built_in_loop is True
    assert not ie.closed and repr(ie) == "Extractor(ner; model='embedded', open)"
    ie.close()
    assert factory.shutdown_thread == "ie-batch-engine"
    assert ie.closed and not ie._runner.thread.is_alive()
    ie.close()  # a second close does nothing
    with pytest.raises(RuntimeError, match="closed"):
        ie("text")
    with pytest.raises(RuntimeError, match="closed"):
        ie.set_schema(["person"])


def test_it_can_be_called_from_code_that_already_runs_an_event_loop(factory):
    # as in a notebook, whose cells run inside the kernel's loop
    async def cell():
        return ie("Tim Cook spoke.")

    with Extractor(["person"], engine_factory=factory) as ie:
        rows = asyncio.run(cell())
    assert rows[0]["entities"][0]["text"] == "Tim Cook"


def test_a_failing_engine_start_raises_and_leaves_no_thread_behind():
    def broken(config, num_gpus):
        raise RuntimeError("no model here")

    # compared as sets: a thread an earlier test left may end meanwhile, which a count would misread
    before = set(threading.enumerate())
    with pytest.raises(RuntimeError, match="no model here"):
        Extractor(["person"], engine_factory=broken)
    assert set(threading.enumerate()) - before == set()


def test_a_failing_prompt_becomes_an_error_on_its_row():
    def answer(prompt):
        raise RuntimeError("out of memory")

    with Extractor(["person"], engine_factory=lambda config, num_gpus: FakeEngine(answer)) as ie:
        (row,) = ie("Tim Cook spoke.")
    assert row["entities"] == [] and "out of memory" in row["errors"][0]


def test_set_schema_asks_other_schemas_with_the_same_engine(factory):
    with Extractor(["person"], engine_factory=factory) as ie:
        engine = factory.engine
        ie.set_schema({"task": "ner", "name": "places", "entities": ["location"]})
        (row,) = ie("Tim Cook is in Paris.")
        assert factory.engine is engine
        assert [s.name for s in ie.schemas] == ["places"]
    assert [e["text"] for e in row["entities"]] == ["Paris"]


def test_engine_and_prompt_options(factory):
    ie = Extractor(
        "news_ner_en",
        model="some/model",
        engine={"max_model_len": 1024, "max_tokens": 64},
        prompt={"format": "iepile"},
        engine_factory=factory,
    )
    with ie:
        assert ie.engine_config == EngineConfig(
            model="some/model", max_model_len=1024, max_tokens=64
        )
        assert ie.prompt_config.format == "iepile"
    with Extractor(["person"], engine=EngineConfig(model="x"), engine_factory=factory) as ie:
        assert ie.engine_config.model == "x"
    with Extractor(
        ["person"], model="base", lora_adapter="/adapters/people", engine_factory=factory
    ) as ie:
        assert ie.engine_config == EngineConfig(model="base", lora_adapter="/adapters/people")


def test_non_text_input_is_a_type_error(factory):
    with Extractor(["person"], engine_factory=factory) as ie:
        with pytest.raises(TypeError, match=r"texts\[1\]: expected a string, got int"):
            ie(["fine", 3])
        with pytest.raises(TypeError, match="expected a text or a list of texts"):
            ie(42)


def test_an_extractor_needs_a_schema():
    with pytest.raises(ValueError, match="at least one schema"):
        Extractor(engine_factory=RecordingFactory())


def test_import_ie_batch_stays_light_and_exports_extractor_lazily():
    code = (
        "import sys, ie_batch; "
        "heavy = [m for m in ('vllm', 'ray', 'torch') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "from ie_batch.local import Extractor; "
        "assert ie_batch.Extractor is Extractor"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert ie_batch.Extractor is Extractor
    with pytest.raises(AttributeError):
        ie_batch.NoSuchThing  # noqa: B018


# The real engine (one for the module)


@pytest.fixture(scope="module")
def real_extractor():
    pytest.importorskip("vllm")
    ie = Extractor("news_ner_en", "topic_en", engine={"max_model_len": 1024, "max_tokens": 160})
    yield ie
    ie.close()


NEWS = [
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday to discuss the European Union budget.",
    "Shares of Toyota fell 3 percent in Tokyo after the carmaker cut its profit forecast.",
]
TOPICS = {"world", "sports", "business", "sci_tech"}
NEWS_TYPES = {"person", "organization", "location", "miscellaneous"}


# The model's accuracy is not asserted (that is the benchmark's job), only what must hold for
# any model: one row per text, answers that parse, labels from the schema, offsets on their spans.


@pytest.mark.engine
def test_real_engine_answers_parse_and_ground(real_extractor):
    rows = real_extractor(NEWS)
    assert [row["id"] for row in rows] == ["0", "1"]
    for text, row in zip(NEWS, rows, strict=True):
        assert set(row) == ROW_KEYS and row["errors"] == [], row["errors"]
        assert {e["type"] for e in row["entities"]} <= NEWS_TYPES
        assert len(row["labels"]) == 1 and row["labels"][0]["label"] in TOPICS
        count_grounded(text, row)
    assert count_grounded(NEWS[0], rows[0]) > 0  # names copied from this text are found in it
    load = real_extractor._holder["engine"].load()  # vLLM's scheduler reports, for the job's pacing
    assert load is not None and load.waiting >= 0 and 0 <= load.kv_cache_usage <= 1


@pytest.mark.engine
def test_real_engine_takes_another_schema_without_restarting(real_extractor):
    real_extractor.set_schema(["person", "city"])
    try:
        (row,) = real_extractor(NEWS[0])
    finally:
        real_extractor.set_schema("news_ner_en", "topic_en")
    assert row["errors"] == [] and row["labels"] == []
    assert {e["type"] for e in row["entities"]} <= {"person", "city"}
    count_grounded(NEWS[0], row)


def test_a_schema_with_a_classifier_is_scored_by_it_the_others_prompted(factory, topic_encoder):
    folder, _ = topic_encoder
    with Extractor(
        "news_ner_en", "topic_en", classifiers={"topic_en": str(folder)}, engine_factory=factory
    ) as ie:
        (row,) = ie("Tim Cook opened a store in Berlin.")
    assert {(e["type"], e["text"]) for e in row["entities"]} == {
        ("person", "Tim Cook"),
        ("location", "Berlin"),
    }
    (label,) = row["labels"]
    assert label["label"] in {"world", "sports", "business", "sci_tech"} and label["score"] > 0
    assert {p.slice.schema.name for p in factory.engine.prompts_seen} == {"news_ner_en"}


def test_with_every_schema_classified_the_engine_starts_only_when_another_is_asked(
    factory, topic_encoder
):
    folder, _ = topic_encoder
    with Extractor("topic_en", classifiers={"topic_en": str(folder)}, engine_factory=factory) as ie:
        (row,) = ie("The striker scored twice.")
        assert len(row["labels"]) == 1 and factory.engine is None
        ie.set_schema("news_ner_en", "topic_en")
        assert factory.engine is not None


def test_a_classifier_for_a_schema_it_cannot_predict_is_refused(factory, topic_encoder):
    folder = str(topic_encoder[0])
    with pytest.raises(ValueError, match=r"classifiers\['topic_en'\]: not a schema of this"):
        Extractor("news_ner_en", classifiers={"topic_en": folder}, engine_factory=factory)
    with pytest.raises(ValueError, match="a ner schema, not classification"):
        Extractor("news_ner_en", classifiers={"news_ner_en": folder}, engine_factory=factory)
    other = {"name": "topic_en", "task": "classification", "labels": ["a", "b"]}
    with pytest.raises(ValueError, match="trained for other labels"):
        Extractor(other, classifiers={"topic_en": folder}, engine_factory=factory)
    assert factory.engine is None
