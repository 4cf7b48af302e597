"""Every hard-check code the engine emits reads as a sentence naming the layer and the size."""

import re
from pathlib import Path

from templates_app.problems import (
    VIOLATIONS,
    component_problems,
    render_problems,
    violation_problem,
    violation_sentences,
)

SYNTHESIS = Path(__file__).resolve().parents[2] / "synthesis"
TEXT_RULE_CODES = {
    "price_truncated",
    "price_does_not_fit",
    "word_break",
    "text_below_minimum",
    "empty_plate",
    "title_smaller_than_subtitle",
}


def test_every_code_the_engine_emits_has_a_sentence():
    emitted = set()
    for path in SYNTHESIS.rglob("*.py"):
        emitted |= set(re.findall(r'out\.append\(f"([a-z_]+):', path.read_text()))
    assert {"text_overflow", "low_contrast", "text_over_product", "text_overlap", "product_in_box"} <= emitted
    assert emitted <= set(VIOLATIONS), emitted - set(VIOLATIONS)
    assert TEXT_RULE_CODES <= set(VIOLATIONS)


def test_sentences_name_the_layer_and_the_size():
    assert violation_sentences(["text_over_product:title"], size=(728, 90)) == [
        "The title covers the product at 728×90."
    ]
    overlap = violation_problem("text_overlap:subtitle:title.plate", size="1080x1080")
    assert overlap.text == "The subtitle overlaps the title's plate at 1080×1080."
    assert overlap.layer == "subtitle" and overlap.severity == "error"
    low = violation_problem("low_contrast:price:3.12", size=(1080, 1920))
    assert low.text == "The price is hard to read at 1080×1920: its contrast is 3.12:1, and text needs 4.5:1."
    second = violation_problem("product_too_small:product[1]")
    assert second.text == "The second product is too small to see." and second.layer == "product"
    assert violation_problem("word_break:title", size=(300, 250)).text.startswith("The title breaks a word")
    unknown = violation_problem("something_new:badge")
    assert "something_new" in unknown.text and unknown.layer == "badge"


def test_weak_components_are_warnings_and_strong_ones_are_not():
    problems = component_problems({"figure_ground": 0.0, "balance": 0.9, "harmony": 0.3}, size=(728, 90))
    assert [p.code for p in problems] == ["weak_figure_ground", "weak_harmony"]
    assert problems[0].text == "The product blends into the background (figure-ground) at 728×90 (score 0.00 of 1)."
    assert all(p.severity == "warning" for p in problems)
    assert [p.layer for p in problems] == ["product", ""]  # figure-ground is about the product: a click selects it


def test_render_problems_lists_hard_checks_first():
    out = render_problems(
        violations=["text_overflow:title"],
        components={"figure_ground": 0.1},
        warnings=["title: box 300x20 is too small for one line at 24px"],
        size=(1080, 1080),
    )
    assert [p["severity"] for p in out] == ["error", "warning", "warning"]
    assert out[2] == {
        "severity": "warning",
        "code": "render_warning",
        "layer": "title",
        "text": "The title: box 300x20 is too small for one line at 24px.",
    }
