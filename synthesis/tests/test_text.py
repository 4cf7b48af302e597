"""Text layout: CJK, Latin and mixed copy wraps correctly, shrinks, then truncates, and never leaves its box."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from synthesis.errors import MissingCJKFont
from synthesis.fonts import FontRegistry, _load_font
from synthesis.text import (
    _CLOSING,
    _OPENING,
    TextStyle,
    _widths,
    cut_keeps_whole_phrases,
    draw_text,
    inner_breaks,
    layout_text,
)

STYLE = TextStyle(font="sans-bold", size_max=60, size_min=14, max_lines=2)


def test_chinese_title_fits_in_a_cjk_face(fonts):
    block = layout_text("网易严选 冬季羽绒服 限时直降", 600, 200, STYLE, fonts)

    assert fonts.faces[block.font_name].covers_cjk
    assert "".join(block.lines).replace(" ", "") == "网易严选冬季羽绒服限时直降"
    assert not block.truncated and block.width <= 600 and block.height <= 200


def test_no_line_starts_with_closing_punctuation(fonts):
    text = "冬季新款羽绒服，轻薄保暖。限时直降！速来抢购）"
    for width in range(120, 700, 7):
        block = layout_text(text, width, 400, TextStyle(font="sans", size_max=28, size_min=28, max_lines=6), fonts)
        for line in block.lines:
            assert line[0] not in _CLOSING, (width, block.lines)
            assert line[-1] not in _OPENING, (width, block.lines)


def test_latin_wraps_by_words(fonts):
    text = "Ultralight winter down jacket"
    block = layout_text(text, 260, 300, TextStyle(font="sans", size_max=30, size_min=30, max_lines=4), fonts)

    assert len(block.lines) > 1
    assert " ".join(block.lines) == text  # no word was split


def test_mixed_copy_keeps_latin_words_whole(fonts):
    block = layout_text(
        "Apple AirPods Pro 2 限时特惠", 330, 300, TextStyle(font="sans", size_max=34, size_min=34, max_lines=4), fonts
    )

    words = " ".join(block.lines).split()
    assert {"Apple", "AirPods", "Pro"} <= set(words)


def test_font_shrinks_before_anything_is_truncated(fonts):
    block = layout_text("网易严选冬季羽绒服限时直降", 400, 70, STYLE, fonts)

    assert block.font_size < STYLE.size_max
    assert not block.truncated
    assert block.fit < 1.0


def test_a_word_wider_than_the_box_at_the_smallest_size_is_hyphenated_not_dropped(fonts):
    # Must hold: a German compound (or a model name) wider than a 120 px skyscraper column even at the
    # smallest size was dropped ("not even its first word fits"), and with it the ad's headline. It is
    # broken with hyphens: every piece fits, keeps 3 letters or more, and the text reads back whole.
    style = TextStyle(font="sans-bold", size_max=60, size_min=18, max_lines=4)

    block = layout_text("Die Donaudampfschifffahrt", 120, 200, style, fonts)

    assert block.lines and not block.truncated and block.width <= 120
    assert block.drawn_text == "Die Donaudampfschifffahrt"
    broken = [line for line in block.lines if line.endswith("-")]
    assert broken, block.lines
    assert all(len(line.split()[-1]) > 3 for line in broken) and len(block.lines[-1]) >= 3
    assert inner_breaks(block.text, block.lines) == ()  # a hyphenated break is not a word cut
    # A word that fits is never hyphenated; nor is CJK.
    assert "-" not in "".join(layout_text("Die Jacke", 120, 200, style, fonts).lines)


def test_a_title_that_must_be_cut_leaves_out_its_leading_tag_first(fonts):
    # Must hold: cut at a phrase boundary, "【官方旗舰店】2026年冬季新款羽绒服 男士加厚保暖外套" showed the
    # shop's tag and nothing of the product (an art director's pass). When the copy does not fit whole,
    # the leading tag goes first, with a warning naming it; the score does not take that for a bad cut.
    style = TextStyle(font="sans-bold", size_max=40, size_min=16, max_lines=2)
    title = "【官方旗舰店】2026年冬季新款羽绒服 男士加厚保暖外套"

    block = layout_text(title, 200, 50, style, fonts)

    assert block.lines and not block.lines[0].startswith("【")
    assert "".join(block.lines).startswith("2026年冬季新款羽绒服")
    assert any("【官方旗舰店】" in w for w in block.warnings)
    assert cut_keeps_whole_phrases(title, block.drawn_text)
    # Room for all of it: the tag stays.
    assert layout_text(title, 600, 120, style, fonts).lines[0].startswith("【官方旗舰店】")


def test_a_500_character_title_ends_with_an_ellipsis_at_the_minimum_size(fonts):
    block = layout_text("羽" * 500, 500, 120, STYLE, fonts)

    assert block.truncated
    assert block.font_size == STYLE.size_min
    assert block.lines[-1].endswith("…")
    assert len(block.lines) <= STYLE.max_lines and block.width <= 500 and block.height <= 120


def test_emoji_only_title_gives_an_empty_block_with_a_warning(fonts):
    block = layout_text("🔥🎉🔥", 500, 120, STYLE, fonts)

    assert block.empty
    assert any("dropped" in w for w in block.warnings)


def test_emoji_inside_chinese_are_dropped_and_the_rest_kept(fonts):
    block = layout_text("限时🔥直降", 500, 120, STYLE, fonts)

    assert "".join(block.lines) == "限时直降"
    assert block.warnings


def test_chinese_without_a_cjk_font_raises_with_the_fix_but_latin_renders(fonts):
    latin_only = FontRegistry({k: v for k, v in fonts.faces.items() if not v.covers_cjk})
    if not latin_only.faces:
        pytest.skip("no Latin-only face installed")

    with pytest.raises(MissingCJKFont, match="fonts-noto-cjk"):
        layout_text("冬季羽绒服", 400, 100, TextStyle(font=next(iter(latin_only.faces))), latin_only)
    assert layout_text("Winter", 400, 100, TextStyle(font=next(iter(latin_only.faces))), latin_only).lines


def test_box_smaller_than_one_line_draws_nothing(fonts):
    block = layout_text("冬季羽绒服", 400, 8, STYLE, fonts)

    assert block.empty and block.truncated


_words = st.sampled_from(
    [
        "羽绒服",
        "限时",
        "直降",
        "，",
        "。",
        "！",
        "（加厚）",
        "Winter",
        "down",
        "jacket",
        "90%",
        "-20°C",
        "🔥",
        "Supercalifragilistic",
        "¥699",
        "、",
        "「新品」",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(_words, min_size=0, max_size=40),
    spaces=st.booleans(),
    w=st.integers(20, 1200),
    h=st.integers(10, 400),
    size_max=st.integers(8, 120),
    max_lines=st.integers(1, 4),
    align=st.sampled_from(["left", "center", "right"]),
    valign=st.sampled_from(["top", "middle", "bottom"]),
)
def test_text_never_leaves_its_box(fonts, words, spaces, w, h, size_max, max_lines, align, valign):
    text = (" " if spaces else "").join(words)
    style = TextStyle(
        font="sans-bold", size_max=size_max, size_min=min(9, size_max), max_lines=max_lines, align=align, valign=valign
    )
    block = layout_text(text, w, h, style, fonts)
    assert block.width <= w and block.height <= h and len(block.lines) <= max_lines

    pad = 20
    canvas = Image.new("RGB", (w + 2 * pad, h + 2 * pad), (255, 255, 255))
    ink = draw_text(canvas, block, (pad, pad, w, h), (0, 0, 0), fonts, style)

    pixels = np.asarray(canvas)
    outside = pixels.copy()
    outside[pad : pad + h, pad : pad + w] = 255
    assert (outside == 255).all()
    assert pad <= ink[0] <= ink[2] <= pad + w and pad <= ink[1] <= ink[3] <= pad + h


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet="网易严选冬季羽绒服限时直降，。·¥%°AVWTaoy.,-19 ", min_size=1, max_size=40),
    size=st.integers(6, 160),
)
def test_lines_are_measured_as_wide_as_the_font_sets_them(fonts, text, size):
    # Wrapping measures lines from per-character advances and kerning pairs; a line must come
    # out exactly as wide as Pillow sets it, or text could overflow (or wrap early) by a pixel.
    for face in fonts.faces.values():
        font = _load_font(str(face.path), face.index, size)
        assert _widths(str(face.path), face.index, size)(text) == font.getlength(text), (face.name, text, size)
