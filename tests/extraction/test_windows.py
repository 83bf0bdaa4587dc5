"""split_into_windows: overlapping windows that cover a text too long for the context."""

import pytest

from ie_batch.extraction.windows import Window, split_into_windows, window_char_budget

ENGLISH = " ".join(
    f"Sentence number {i} mentions Tim Cook and the city of Berlin." for i in range(40)
)
CHINESE = "北京冬奥会自由式滑雪女子大跳台决赛今天举行。中国选手谷爱凌以188.25分获得金牌！" * 12


def _check_cover(text: str, windows: list[Window], max_chars: int) -> None:
    assert windows[0].start == 0
    assert windows[-1].end == len(text)
    for window in windows:
        assert window.text == text[window.start : window.end]
        assert 0 < len(window.text) <= max_chars
    for before, after in zip(windows, windows[1:], strict=False):
        assert before.start < after.start <= before.end  # no gap, always progress


def test_short_text_is_one_window():
    assert split_into_windows("Tim Cook visited Berlin.", 100, 20) == [
        Window(0, "Tim Cook visited Berlin.")
    ]


def test_text_of_exactly_max_chars_is_one_window():
    assert split_into_windows("x" * 50, 50) == [Window(0, "x" * 50)]


def test_window_end_is_start_plus_length():
    assert Window(7, "Berlin").end == 13


@pytest.mark.parametrize("max_chars, overlap", [(100, 0), (100, 20), (237, 60), (64, 15)])
def test_windows_cover_the_text_within_max_chars(max_chars, overlap):
    windows = split_into_windows(ENGLISH, max_chars, overlap)
    assert len(windows) > 1
    _check_cover(ENGLISH, windows, max_chars)


def test_windows_overlap_when_asked():
    windows = split_into_windows(ENGLISH, 200, 40)
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.start < before.end
        shared = ENGLISH[after.start : before.end]
        # at least the overlap asked for, widened back to the start of a word
        assert 40 <= len(shared) <= 40 + max(len(word) for word in ENGLISH.split()) + 1
        assert before.text.endswith(shared) and after.text.startswith(shared)


def test_no_overlap_when_overlap_is_zero():
    windows = split_into_windows(ENGLISH, 200, 0)
    assert all(a.end == b.start for a, b in zip(windows, windows[1:], strict=False))
    assert "".join(w.text for w in windows) == ENGLISH


def test_overlap_begins_at_a_word_boundary():
    windows = split_into_windows(ENGLISH, 150, 30)
    for window in windows[1:]:
        assert ENGLISH[window.start - 1] == " "


def test_cuts_fall_at_sentence_ends_when_available():
    # cuts are looked for in a window's last fifth, which here always holds a sentence end
    windows = split_into_windows(ENGLISH, 400, 0)
    assert len(windows) > 3
    for window in windows[:-1]:
        assert window.text.endswith(". ")


def test_paragraph_break_beats_sentence_end():
    head = "word " * 16 + "end.\n\n"  # the paragraph ends at 86, in the last fifth of 100
    text = head + "Short one. Another sentence follows here. " * 3
    assert text.index(". ", len(head)) < 100  # a later sentence end would fit too
    first = split_into_windows(text, 100)[0]
    assert first.text == head


def test_cut_falls_back_to_a_space_then_to_the_hard_limit():
    words = " ".join(["alpha"] * 30)
    windows = split_into_windows(words, 50)
    assert all(w.text.endswith(" ") for w in windows[:-1])
    _check_cover(words, windows, 50)
    solid = "x" * 120
    assert [(w.start, w.end) for w in split_into_windows(solid, 50)] == [
        (0, 50),
        (50, 100),
        (100, 120),
    ]


def test_chinese_text_without_spaces_cuts_at_chinese_sentence_ends():
    windows = split_into_windows(CHINESE, 100, 10)
    assert len(windows) > 1
    _check_cover(CHINESE, windows, 100)
    for window in windows[:-1]:
        assert window.text.endswith(("。", "！"))
    for before, after in zip(windows, windows[1:], strict=False):
        assert before.end - after.start == 10  # no spaces to move to: the overlap is exact


def test_chinese_text_without_any_break_is_cut_at_the_limit():
    text = "谷爱凌" * 50
    windows = split_into_windows(text, 40, 5)
    _check_cover(text, windows, 40)
    assert [len(w.text) for w in windows[:-1]] == [40] * (len(windows) - 1)


@pytest.mark.parametrize(
    "max_chars, overlap, message",
    [
        (0, 0, "max_chars must be >= 1"),
        (-5, 0, "max_chars must be >= 1"),
        (10, 10, "overlap_chars must be in"),
        (10, 11, "overlap_chars must be in"),
        (10, -1, "overlap_chars must be in"),
    ],
)
def test_invalid_arguments_raise(max_chars, overlap, message):
    with pytest.raises(ValueError, match=message):
        split_into_windows("some text", max_chars, overlap)


def test_window_char_budget_scales_by_chars_per_token_with_a_margin():
    assert window_char_budget("x" * 400, 100, 50) == 180  # 4 chars/token * 50 * 0.9
    assert window_char_budget("abc", 0, 10) == 3
    assert window_char_budget("x" * 400, 100, 0) == 1


def test_a_name_cut_at_a_window_edge_is_whole_in_the_next_window():
    text = "苹果公司今天宣布新的首席执行官是Tim Cook先生"
    windows = split_into_windows(text, 20, 6)
    assert windows[0].text.endswith("Tim ")  # the cut falls inside the name
    assert any("Tim Cook" in window.text for window in windows)
