"""The aesthetic score's hard checks catch what a designer would reject."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthesis.colour import palette_variants
from synthesis.product import prepare_product, product_theme_colours
from synthesis.render import AdCopy, RenderChoices, render
from synthesis.samples import product_photo, sample_assets
from synthesis.score import DEFAULT_WEIGHTS, aesthetic_score, median_rgb8, weighted_score
from synthesis.spec import load_template

TEMPLATE = load_template(Path(__file__).resolve().parents[1] / "templates" / "single-hero.json")


@pytest.fixture(scope="module")
def rendered(fonts):
    product = prepare_product(product_photo((178, 34, 52), size=500).image)
    theme = product_theme_colours(product.image)
    palette = palette_variants(theme, n=1)[0]
    out = render(
        TEMPLATE,
        (1080, 1080),
        products=(product,),
        copy=AdCopy("冬季羽绒服", "保暖", "¥699"),
        choices=RenderChoices(palette=palette),
        fonts=fonts,
        assets=sample_assets(),
    )
    return out, theme, palette


def test_clean_render_has_no_violations_and_a_score_in_range(rendered):
    out, theme, palette = rendered

    score = aesthetic_score(out, theme=theme, palette=palette)

    assert score.violations == ()
    assert set(score.components) == set(DEFAULT_WEIGHTS)
    assert 0 <= score.total <= 100


def test_text_moved_onto_the_product_is_caught(rendered):
    out, theme, palette = rendered
    x0, y0, x1, y1 = out.product_bboxes[0]
    title = out.texts[0]
    moved = dataclasses.replace(title, ink=(x0 + 10, y0 + 10, x0 + 200, y0 + 60), box=(x0, y0, 300, 100))
    bad = dataclasses.replace(out, texts=(moved, *out.texts[1:]))

    score = aesthetic_score(bad, theme=theme, palette=palette)

    assert f"text_over_product:{title.layer_id}" in score.violations
    assert score.components["occlusion"] < aesthetic_score(out, theme=theme, palette=palette).components["occlusion"]


def test_low_contrast_and_overflow_are_caught(rendered):
    out, theme, palette = rendered
    title = out.texts[0]
    bx, by, bw, bh = title.box
    faint = dataclasses.replace(title, contrast=2.1, ink=(bx, by, bx + bw + 5, by + 10))

    score = aesthetic_score(dataclasses.replace(out, texts=(faint,)), theme=theme, palette=palette)

    assert f"low_contrast:{title.layer_id}:2.10" in score.violations
    assert f"text_overflow:{title.layer_id}" in score.violations


def test_a_learned_scorer_replaces_the_fixed_weights(rendered):
    out, theme, palette = rendered

    fixed = aesthetic_score(out, theme=theme, palette=palette)
    learned = aesthetic_score(out, theme=theme, palette=palette, scorer=lambda c: 100 * c["readability"])

    assert fixed.total == pytest.approx(weighted_score(fixed.components), abs=0.01)
    assert learned.total == pytest.approx(100 * fixed.components["readability"], abs=1e-2)


def test_price_focus_knows_a_price_that_leads_the_supporting_copy_from_one_that_hides(fonts):
    """The price is the offer: larger than the subtitle and in contrast it scores 1; set as small as the
    subtitle in low contrast it scores low, and the total knows it."""
    from synthesis.score import price_focus

    dc = dataclasses
    template = load_template(Path(__file__).resolve().parents[1] / "templates" / "single-hero.json")
    product = prepare_product(product_photo((178, 34, 52), size=500).image)
    theme = product_theme_colours(product.image)
    palette = palette_variants(theme, n=1)[0]
    copy = AdCopy("冬季羽绒服 轻暖一整季", "90% 白鹅绒 · -20°C 保暖", "¥699")
    out = render(template, (1080, 1080), products=(product,), copy=copy, choices=RenderChoices(palette=palette),
                 fonts=fonts, assets=sample_assets())  # fmt: skip
    price = next(t for t in out.texts if t.role == "price")
    subtitle = next(t for t in out.texts if t.role == "subtitle")
    assert price.cap_px > 1.25 * subtitle.cap_px and price_focus(out) == pytest.approx(min(1.0, price.contrast / 4.5))

    hidden = dc.replace(price, cap_px=subtitle.cap_px, contrast=1.8)
    weak = dc.replace(out, texts=tuple(hidden if t is price else t for t in out.texts))
    assert price_focus(weak) < 0.35
    assert (
        aesthetic_score(weak, theme=theme, palette=palette).total
        < aesthetic_score(out, theme=theme, palette=palette).total
    )
    no_price = dc.replace(out, texts=tuple(t for t in out.texts if t.role != "price"), dropped=())
    assert price_focus(no_price) == 1.0  # a copy without a price is not penalised


@given(
    st.lists(st.tuples(*[st.integers(0, 255)] * 3), min_size=1, max_size=400),
    st.sampled_from([None, (0, 0, 0), (255, 255, 255), (128, 64, 9)]),
)
def test_the_counted_median_of_pixels_is_numpys_to_the_last_bit(pixels, repeated):
    """Scores (and so which creative is chosen) must not move by a bit: the counted median of
    every channel is np.median's, for odd and even counts, ties and one value repeated."""
    if repeated is not None:
        pixels = pixels + [repeated] * len(pixels)
    array = np.array(pixels, dtype=np.uint8)

    assert median_rgb8(array).tobytes() == np.median(array, axis=0).tobytes()


@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1), st.floats(0.05, 1.0))
def test_the_counted_median_under_a_mask_is_numpys_of_the_pixels_it_picks(height, width, seed, share):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    where = rng.random((height, width)) < share
    where[0, 0] = True  # figure_ground only asks when some pixel is picked

    assert median_rgb8(image, where).tobytes() == np.median(image[where], axis=0).tobytes()
