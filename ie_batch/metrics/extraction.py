"""NER, RE and EE scores by IEPile's rules: micro P/R/F1 over exact-match tuples.

The rules, as implemented in IEPile's scorer (zjunlp/IEPile, `ie2instruction/eval_func.py`,
`eval/metric/{ner,re,ee}_metric.py`, `eval/extracter/*_extracter.py`), default `normal` mode:

- NER tuples are `(text, type)`; RE tuples `(subject, relation, object)`; EE gives two scores,
  events `(type, trigger)` ("ee_trigger") and arguments `(event type, argument text, role)`
  ("ee_argument"). An argument is not tied to its trigger, only to its event type.
- Matching is multiset matching: each gold tuple is matched at most once, so predicting the
  same entity three times where gold has it twice gives 2 true positives and 3 predictions
  (IEPile removes a gold tuple from a copy of the gold list when it is matched; a Counter
  intersection is the same count).
- No text normalisation at all: strings are compared exactly as they are, case-sensitive,
  whitespace included. (IEPile's `metric.py` defines a `normalize_answer` that lowercases and
  strips punctuation, but its F1 path never calls it.) Offsets are ignored: a span found at
  another place in the text still matches.
- An event argument whose text is the placeholder "NAN" is not an argument (IEPile's answers
  write "NAN" for a role with no filler, and its extractor skips it); it is dropped on both sides.
- Counts are summed over documents and P/R/F1 computed once (micro average).

One difference in presentation: IEPile reports P and R as percentages rounded to 2 decimals
and computes F1 from the rounded values; here ratios are in 0..1 and unrounded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

from ie_batch.metrics.counts import Counts
from ie_batch.results import DocumentResult, Entity, Event, Relation
from ie_batch.schema.model import TaskKind

#: IEPile's placeholder for "this role has no argument".
NAN_ARGUMENT = "NAN"

#: The extraction tasks and the score keys each one produces.
EXTRACTION_SCORES: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.NER: ("ner",),
    TaskKind.RE: ("re",),
    TaskKind.EE: ("ee_trigger", "ee_argument"),
}


def match_counts(predicted: Iterable[Hashable], gold: Iterable[Hashable]) -> Counts:
    """Count exact matches between two multisets of tuples, each gold tuple used at most once."""
    predicted_bag = Counter(predicted)
    gold_bag = Counter(gold)
    tp = sum((predicted_bag & gold_bag).values())
    return Counts(tp=tp, pred=sum(predicted_bag.values()), gold=sum(gold_bag.values()))


def entity_tuples(entities: Iterable[Entity]) -> list[tuple[str, str]]:
    """NER tuples `(text, type)`."""
    return [(entity.text, entity.type) for entity in entities]


def relation_tuples(relations: Iterable[Relation]) -> list[tuple[str, str, str]]:
    """RE tuples `(subject, relation, object)`."""
    return [(r.subject, r.relation, r.object) for r in relations]


def trigger_tuples(events: Iterable[Event]) -> list[tuple[str, str]]:
    """EE event tuples `(event type, trigger)`."""
    return [(event.type, event.trigger) for event in events]


def argument_tuples(events: Iterable[Event]) -> list[tuple[str, str, str]]:
    """EE argument tuples `(event type, argument text, role)`, without "NAN" placeholders."""
    return [
        (event.type, argument.text, argument.role)
        for event in events
        for argument in event.arguments
        if argument.text != NAN_ARGUMENT
    ]


def ner_counts(predicted: Sequence[Entity], gold: Sequence[Entity]) -> Counts:
    """NER counts for one document (or any list of entities)."""
    return match_counts(entity_tuples(predicted), entity_tuples(gold))


def re_counts(predicted: Sequence[Relation], gold: Sequence[Relation]) -> Counts:
    """RE counts for one document (or any list of relations)."""
    return match_counts(relation_tuples(predicted), relation_tuples(gold))


def ee_counts(predicted: Sequence[Event], gold: Sequence[Event]) -> dict[str, Counts]:
    """EE counts for one document: `{"ee_trigger": ..., "ee_argument": ...}`."""
    return {
        "ee_trigger": match_counts(trigger_tuples(predicted), trigger_tuples(gold)),
        "ee_argument": match_counts(argument_tuples(predicted), argument_tuples(gold)),
    }


def extraction_counts(
    predicted: DocumentResult,
    gold: DocumentResult,
    tasks: Iterable[str] = tuple(EXTRACTION_SCORES),
) -> dict[str, Counts]:
    """Score one document on the extraction tasks its gold covers.

    `tasks` names the tasks to score ("ner", "re", "ee"; others, such as "classification",
    are ignored) so a document with only entity gold is not scored, and penalised, on
    relations. The result is keyed by score: "ner", "re", "ee_trigger", "ee_argument".
    """
    wanted = set(tasks)
    scores: dict[str, Counts] = {}
    if TaskKind.NER in wanted:
        scores["ner"] = ner_counts(predicted.entities, gold.entities)
    if TaskKind.RE in wanted:
        scores["re"] = re_counts(predicted.relations, gold.relations)
    if TaskKind.EE in wanted:
        scores.update(ee_counts(predicted.events, gold.events))
    return scores
