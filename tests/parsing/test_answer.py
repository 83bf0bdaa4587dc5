"""parse_answer: one model answer to grounded records, failures as errors of its slice."""

from ie_batch.parsing import parse_answer
from ie_batch.results import Entity, Relation
from ie_batch.schema.model import NerSchema, ReSchema
from ie_batch.schema.rotation import rotate

CONLL = NerSchema(name="conll", entities=["person", "organization", "else", "location"])
CONLL_TEXT = (
    "Robert Allenby ( Australia ) 69 71 71 73 , Miguel Angel Martin ( Spain ) 75 70 71 68 "
    "( Allenby won at first play-off hole )"
)


def test_fenced_answer_is_parsed_and_grounded():
    answer = (
        "```json\n"
        '{"person": ["Robert Allenby", "Allenby", "Miguel Angel Martin"], "organization": [], '
        '"else": [], "location": ["Australia", "Spain"]}\n```'
    )
    records = parse_answer(answer, rotate(CONLL)[0], CONLL_TEXT)
    assert [(e.text, e.start, e.end) for e in records.entities] == [
        ("Robert Allenby", 0, 14),
        ("Allenby", 87, 94),
        ("Miguel Angel Martin", 43, 62),
        ("Australia", 17, 26),
        ("Spain", 65, 70),
    ]
    assert records.errors == []


def test_truncated_answer_keeps_complete_spans_and_says_it_was_cut():
    records = parse_answer('{"person": ["Robert Allenby", "Alle', rotate(CONLL)[0], CONLL_TEXT)
    assert records.entities == [Entity("person", "Robert Allenby", 0, 14)]
    assert records.errors == ["slice conll[1/1]: the answer was cut off; kept its complete items"]


def test_answer_without_json_is_one_error_of_the_slice():
    records = parse_answer("Sorry, I cannot help with that.", rotate(CONLL)[0], CONLL_TEXT)
    assert records.entities == []
    assert records.errors == ["slice conll[1/1]: no JSON object in the answer"]


def test_chinese_relations_end_to_end():
    text = (
        "2022语言与智能技术竞赛由中国中文信息学会和中国计算机学会联合主办，百度公司、中国中文信息学会评测工作委员会"
        "和中国计算机学会自然语言处理专委会承办，已连续举办4届，成为全球最热门的中文NLP赛事之一。"
    )
    schema = ReSchema(
        name="竞赛", language="zh", subjects={"竞赛名称": ["主办方", "承办方", "已举办次数"]}
    )
    answer = (
        "{'主办方': [{'subject': '2022语言与智能技术竞赛', 'object': '中国中文信息学会'}], "
        "'承办方': [{'subject': '2022语言与智能技术竞赛', 'object': '百度公司'}], "
        "'已举办次数': [{'subject': '2022语言与智能技术竞赛', 'object': '4届'}],}"
    )
    records = parse_answer(answer, rotate(schema)[0], text, keep_ungrounded=False)
    assert records.relations == [
        Relation("2022语言与智能技术竞赛", "主办方", "中国中文信息学会", 0, 13, 14, 22),
        Relation("2022语言与智能技术竞赛", "承办方", "百度公司", 0, 13, 35, 39),
        Relation("2022语言与智能技术竞赛", "已举办次数", "4届", 0, 13, 80, 82),
    ]
    assert records.errors == [] and records.dropped == 0
