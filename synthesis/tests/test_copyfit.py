"""Copy that reads at every size (issue 17, items 3 and 4).

Each canvas draws only what can be read: texts under their minimum legible size are left out,
the price is never cut, no word is broken inside, a title is never smaller than its subtitle,
small banners show the product with a title or price and at most one call to action, and a
decoration made to hold text is never drawn empty. The score's hard checks catch each breach.
"""

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from synthesis.colour import palette_variants
from synthesis.copyfit import PriceDoesNotFit
from synthesis.product import prepare_product, product_theme_colours
from synthesis.render import AdCopy, LayerChoice, RenderChoices, render
from synthesis.samples import product_photo, sample_assets
from synthesis.score import text_violations
from synthesis.search import search_creatives
from synthesis.spec import TemplateSpecError, load_template, parse_template

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
TEMPLATES = {p.stem: load_template(p) for p in sorted(TEMPLATE_DIR.glob("*.json"))}
CJK = AdCopy("网易严选 冬季羽绒服 限时直降", "90% 白鹅绒 · -20°C 保暖", "¥699", "限时直降")
LATIN = AdCopy("Ultralight down jacket", "Warm to -20°C with 90% goose down", "$129.99", "NEW")
LONG_TITLE = "Ultra-light packable winter down jacket with a detachable hood for commutes and trips"  # 84 chars


@pytest.fixture(scope="module")
def products():
    shapes = [((178, 34, 52), "jacket"), ((31, 58, 110), "bottle"), ((46, 125, 90), "sneaker")]
    return tuple(prepare_product(product_photo(c, shape=s, size=400, seed=i).image) for i, (c, s) in enumerate(shapes))


@pytest.fixture(scope="module")
def assets():
    return sample_assets()


def _render(template, size, products, copy, assets, fonts, count=1):
    palette = palette_variants(product_theme_colours(products[0].image), n=1)[0]
    return render(
        TEMPLATES[template] if isinstance(template, str) else template,
        size,
        products=products[:count],
        copy=copy,
        choices=RenderChoices(palette=palette),
        fonts=fonts,
        assets=assets,
    )


def _text(rendered, role):
    return next(t for t in rendered.texts if t.role == role)


def _with_text(rendered, role, **changes):
    """The render with one placed text changed, as a faulty renderer would have placed it."""
    texts = tuple(dataclasses.replace(t, **changes) if t.role == role else t for t in rendered.texts)
    return dataclasses.replace(rendered, texts=texts)


def _codes(violations):
    return {v.split(":")[0] for v in violations}


def test_what_gives_way_before_the_title_makes_room_for_it_before_the_title_is_dropped(products, assets, fonts):
    # Must hold: on a 160x600 skyscraper a long title that does not fit beside a badge is drawn, the badge
    # giving way to it; the headline was dropped while the subtitle stayed.
    title = "Ultra-Lightweight Packable Hooded Winter Down Puffer Jacket for Men and Women, Water Resistant"
    subtitle = "Free shipping on all orders over $50 and free returns within 30 days"
    copy = AdCopy(title, subtitle, "$129.99", "Limited Time Offer")

    rendered = _render("single-hero", (160, 600), products, copy, assets, fonts)

    assert _text(rendered, "title").block.lines
    reasons = {d.layer_id: d.reason for d in rendered.dropped}
    assert "gives_way_to_title" in reasons.values()
    assert reasons.get("title") is None


# One test per hard check: each fails without the check (the render is otherwise clean).


def test_a_cut_price_is_a_hard_violation(products, assets, fonts):
    rendered = _render("single-hero", (1080, 1080), products, AdCopy("Jacket", price="$29.99 $45.00"), assets, fonts)
    price = _text(rendered, "price")
    cut = dataclasses.replace(price.block, lines=("$29.…",), truncated=True)

    assert "price_truncated" not in _codes(text_violations(rendered))
    assert "price_truncated:price" in text_violations(_with_text(rendered, "price", block=cut))


@pytest.mark.parametrize(
    ("role", "text", "lines"), [("badge", "限时直降", ("限时直", "降")), ("badge", "NEW", ("NE", "W"))]
)
def test_a_break_inside_a_word_is_a_hard_violation(products, assets, fonts, role, text, lines):
    copy = dataclasses.replace(CJK, badge=text)
    rendered = _render("single-hero", (1080, 1080), products, copy, assets, fonts)
    badge = _text(rendered, role)
    broken = dataclasses.replace(badge.block, lines=lines)

    assert "word_break" not in _codes(text_violations(rendered))
    assert any(v.startswith("word_break:badge") for v in text_violations(_with_text(rendered, role, block=broken)))


def test_text_under_its_minimum_legible_size_is_a_hard_violation(products, assets, fonts):
    rendered = _render("single-hero", (728, 90), products, CJK, assets, fonts)

    assert "text_below_minimum" not in _codes(text_violations(rendered))
    assert any(
        v.startswith("text_below_minimum:title")
        for v in text_violations(_with_text(rendered, "title", cap_px=5.9))  # a 9 px CJK title at 728x90
    )


def test_a_text_holding_decoration_left_empty_is_a_hard_violation(products, assets, fonts):
    rendered = _render("scene-podium", (1080, 1080), products, CJK, assets, fonts)
    assert any(e.holds_text for e in rendered.elements)
    emptied = dataclasses.replace(rendered, texts=tuple(t for t in rendered.texts if t.layer_id != "deco"))

    assert "empty_plate" not in _codes(text_violations(rendered))
    assert "empty_plate:deco" in text_violations(emptied)


def test_a_title_smaller_than_the_subtitle_is_a_hard_violation(products, assets, fonts):
    rendered = _render("single-hero", (1080, 1080), products, CJK, assets, fonts)
    subtitle = _text(rendered, "subtitle")
    small = dataclasses.replace(_text(rendered, "title").block, font_size=subtitle.block.font_size - 4)

    assert "title_smaller_than_subtitle" not in _codes(text_violations(rendered))
    assert "title_smaller_than_subtitle:title" in text_violations(_with_text(rendered, "title", block=small))


def test_a_price_that_cannot_fit_is_left_out_as_a_hard_violation_and_the_size_refused(products, assets, fonts):
    copy = dataclasses.replace(CJK, price="¥" + "9" * 80 + ".00")
    rendered = _render("single-hero", (320, 50), products, copy, assets, fonts)

    assert not any(t.role == "price" for t in rendered.texts)
    assert "price_does_not_fit:price" in text_violations(rendered)
    with pytest.raises(PriceDoesNotFit, match="320x50"):
        search_creatives(
            [TEMPLATES["single-hero"]],
            products[:1],
            [copy],
            [(320, 50)],
            theme=product_theme_colours(products[0].image),
            fonts=fonts,
            assets=assets,
            n=4,
        )


# What the renderer does so that none of these happens.


@pytest.mark.parametrize("size", [(320, 50), (728, 90)])
@pytest.mark.parametrize("template", ["single-hero", "scene-podium", "multi-grid"])
def test_a_small_banner_shows_the_product_a_title_or_price_and_one_call_to_action_at_most(
    products, assets, fonts, template, size
):
    count = TEMPLATES[template].products_min
    rendered = _render(template, size, products, CJK, assets, fonts, count=count)

    roles = [t.role for t in rendered.texts]
    assert {"title", "price"} & set(roles)
    assert "subtitle" not in roles and roles.count("badge") <= 1 and len(roles) <= 3
    assert not any(e.role in ("logo", "decoration") for e in rendered.elements)
    assert all(t.cap_px >= t.min_cap_px - 0.05 for t in rendered.texts)
    assert text_violations(rendered) == ()


def test_an_80_character_title_is_cut_at_a_phrase_boundary_never_under_the_subtitle(products, assets, fonts):
    copy = dataclasses.replace(LATIN, title=LONG_TITLE)
    for size in [(1080, 1080), (728, 90), (300, 250)]:
        rendered = _render("single-hero", size, products, copy, assets, fonts)
        title = _text(rendered, "title")
        subtitle = next((t for t in rendered.texts if t.role == "subtitle"), None)

        assert title.full_text == LONG_TITLE
        drawn = title.drawn_text.removesuffix("…")
        assert LONG_TITLE.startswith(drawn) and LONG_TITLE[len(drawn) : len(drawn) + 1] in ("", " ")
        assert subtitle is None or subtitle.block.font_size <= title.block.font_size
        assert text_violations(rendered) == (), size


def test_a_cjk_title_breaks_between_phrases_not_inside_one(products, assets, fonts):
    copy = dataclasses.replace(CJK, title="冬季新品 轻暖一整季")
    for size in [(1080, 1080), (300, 250), (320, 50), (1200, 628)]:
        rendered = _render("single-hero", size, products, copy, assets, fonts)

        assert all(
            line in ("冬季新品", "轻暖一整季", "冬季新品 轻暖一整季") for line in _text(rendered, "title").block.lines
        )


def test_a_text_holding_decoration_without_its_text_is_left_out(products, assets, fonts):
    rendered = _render("scene-podium", (1080, 1080), products, dataclasses.replace(CJK, badge=""), assets, fonts)

    assert not any(e.role == "decoration" for e in rendered.elements)
    assert ("deco", "nothing_to_hold") in {(d.layer_id, d.reason) for d in rendered.dropped}


def test_a_search_keeps_full_and_drawn_text_in_provenance(products, assets, fonts):
    copy = dataclasses.replace(LATIN, title=LONG_TITLE)
    result = search_creatives(
        [TEMPLATES["single-hero"]],
        products[:1],
        [copy],
        [(728, 90)],
        theme=product_theme_colours(products[0].image),
        fonts=fonts,
        assets=assets,
        n=4,
    )

    fit = result.creatives[0].provenance["copy_fit"]
    assert fit["texts"]["title"]["full_text"] == LONG_TITLE
    assert fit["dropped"]["subtitle"] == "banner"


def test_templates_without_the_new_keys_get_the_defaults_and_bad_keys_are_refused():
    old = {
        "spec_version": 1,
        "name": "old",
        "layers": [
            {"id": "bg", "role": "background"},
            {"id": "product", "role": "product"},
            {"id": "subtitle", "role": "subtitle"},
            {"id": "price", "role": "price"},
        ],
    }
    template = parse_template(old)
    assert template.give_way == ("subtitle", "badge", "decoration", "logo")
    assert template.banner_items == ("title", "price")
    assert [layer.text.min_cap_px for layer in template.layers if layer.text] == [7.0, 8.0]

    bad = {
        **old,
        "banner_items": ["badge", "badge"],
        "layers": [*old["layers"], {"id": "x", "role": "price", "holds": "badge"}],
    }
    with pytest.raises(TemplateSpecError) as error:
        parse_template(bad)
    assert "banner_items" in str(error.value) and "only a decoration holds text" in str(error.value)


# Property: over sizes, copies and product counts, no price is cut and no text is under its minimum.

SIZES = [(320, 50), (728, 90), (300, 250), (1080, 1920), (1080, 1080), (1200, 628)]
TITLES = [
    "冬季新品",
    "网易严选 冬季羽绒服 限时直降",
    "Down jacket",
    LONG_TITLE,
    "轻薄保暖不臃肿" * 11,
    "Apple AirPods Pro 2 限时特惠",
]
SUBTITLES = ["", "90% 白鹅绒 · -20°C 保暖", "Free returns for members, all winter long"]
PRICES = ["¥9", "¥699", "$129.99", "¥12,999.00", "$29.99 · $45.00 · $12.50"]
BADGES = ["", "NEW", "限时直降", "第二件半价，再送围巾"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.sampled_from(SIZES),
    title=st.sampled_from(TITLES),
    subtitle=st.sampled_from(SUBTITLES),
    price=st.sampled_from(PRICES),
    badge=st.sampled_from(BADGES),
    count=st.integers(1, 3),
)
def test_no_price_is_ever_cut_and_no_text_is_drawn_under_its_minimum(
    products, assets, fonts, size, title, subtitle, price, badge, count
):
    copy = AdCopy(title, subtitle, price, badge)
    for template in TEMPLATES.values():
        if not template.products_min <= count <= template.products_max:
            continue
        rendered = _render(template, size, products, copy, assets, fonts, count=count)
        codes = _codes(text_violations(rendered))

        assert not codes & {"price_truncated", "text_below_minimum", "word_break", "empty_plate"}, (
            template.name,
            codes,
        )
        assert "title_smaller_than_subtitle" not in codes
        prices = [t for t in rendered.texts if t.role == "price"]
        assert (
            prices and prices[0].drawn_text.replace(" ", "") == price.replace(" ", "")
        ) or "price_does_not_fit" in codes


def test_a_title_cut_inside_a_phrase_is_a_hard_violation_and_a_cut_between_phrases_is_not(products, assets, fonts):
    """Issue 20: "冬季新品 轻暖一…" loses part of a phrase; "冬季新品…" drops whole phrases, which provenance keeps."""
    copy = dataclasses.replace(CJK, title="冬季新品 轻暖一整季 限时直降")
    rendered = _render("single-hero", (1080, 1080), products, copy, assets, fonts)
    title = _text(rendered, "title")
    mid = dataclasses.replace(title.block, lines=("冬季新品", "轻暖一…"), truncated=True)
    between = dataclasses.replace(title.block, lines=("冬季新品 轻暖一整季…",), truncated=True)
    unrecorded = _with_text(rendered, "title", block=between, full_text="")

    assert "text_cut_mid_phrase" not in _codes(text_violations(rendered))
    assert "text_cut_mid_phrase:title" in text_violations(_with_text(rendered, "title", block=mid))
    assert "text_cut_mid_phrase" not in _codes(text_violations(_with_text(rendered, "title", block=between)))
    assert "text_cut_mid_phrase:title" in text_violations(unrecorded)


@pytest.mark.parametrize(
    ("full", "drawn", "whole"),
    [
        ("冬季新品 轻暖一整季 限时直降", "冬季新品…", True),
        ("冬季新品 轻暖一整季 限时直降", "冬季新品 轻暖一…", False),
        ("冬季新品，轻暖一整季", "冬季新品…", True),  # the comma before the ellipsis is dropped by the cut
        ("Ultralight down jacket", "Ultralight down…", True),
        ("Ultralight down jacket", "Ultralight do…", False),
        ("Ultralight down jacket", "Ultralight down jacket", True),  # not cut
        ("", "Ultralight…", False),  # the cut copy is not known
        ("网易严选" * 15, "网易严选网易严选…", True),  # one unbroken run: no phrase ends earlier
        ("网易严选网易严选网易严选 冬季新品", "网易严选网…", True),  # cut inside the first phrase, nothing fits sooner
        ("冬季新品 网易严选网易严选网易严选", "冬季新品 网易…", False),  # "冬季新品…" would have fitted
    ],
)
def test_a_cut_keeps_whole_phrases_only_when_it_ends_where_a_phrase_ends(full, drawn, whole):
    from synthesis.text import cut_keeps_whole_phrases

    assert cut_keeps_whole_phrases(full, drawn) is whole


def _alignment(text) -> str | None:
    """How a placed text sits in its box: "left" or "center"; None when it nearly fills the box's width."""
    x, _, w, _ = text.box
    x0, _, x1, _ = text.ink
    if x1 - x0 > 0.8 * w:
        return None
    return "center" if abs((x0 + x1) / 2 - (x + w / 2)) < 0.04 * w else "left"


@pytest.mark.parametrize("template", ["single-hero", "scene-podium", "multi-grid"])
@pytest.mark.parametrize("size", [(1080, 1080), (1200, 628), (1080, 1920), (300, 250)])
def test_the_title_and_the_subtitle_under_it_share_one_alignment(products, assets, fonts, template, size):
    """A title centred by its variation over a left-aligned subtitle looked like a mistake: the subtitle
    follows it when it sits on the title's axis, else the title keeps the template's alignment."""
    count = 2 if template == "multi-grid" else 1
    palette = palette_variants(product_theme_colours(products[0].image), n=1)[0]
    title_id = TEMPLATES[template].layer("title").id
    rendered = render(
        TEMPLATES[template],
        size,
        products=products[:count],
        copy=AdCopy("羽绒服", "90% 白鹅绒", "¥699"),
        choices=RenderChoices(palette=palette, layers={title_id: LayerChoice(align="center")}),
        fonts=fonts,
        assets=assets,
    )

    title, subtitle = _text(rendered, "title"), _text(rendered, "subtitle")
    assert None not in (_alignment(title), _alignment(subtitle))
    assert _alignment(title) == _alignment(subtitle)


@pytest.mark.parametrize("size", [(120, 600), (160, 600), (180, 150)])
def test_a_long_price_over_a_scene_fits_a_narrow_skyscraper(assets, fonts, size):
    """Over a scene photo every text sits on a pill. Its ends were reserved from its box's height: a
    67x59 price box on a 120x600 skyscraper kept 18 px a side for ends the pill draws 6 px wide, so
    '¥1299.9' fitted in no template and the size was refused for every scene photo; at 180x150 the
    price's 90x17 box held its line but not 2 px more above and below it. Must hold: the price is
    drawn whole, legible, on its pill, with room for the pill's ends inside its box."""
    from sklearn.datasets import load_sample_image

    from synthesis.product import prepare_scene

    scene = prepare_scene(Image.fromarray(load_sample_image("china.jpg")))
    copy = AdCopy("网易严选 年货节 好物直降 满 299 减 50", "12 小时保温 · 316 不锈钢", "¥1299.9", "限时直降")
    theme = product_theme_colours(scene.image)

    result = search_creatives(
        list(TEMPLATES.values()), [scene], [copy], [size], theme=theme, fonts=fonts, assets=assets, n=8
    )

    (creative,) = result.creatives
    (price,) = [t for t in creative.rendered.texts if t.role == "price"]
    assert price.drawn_text == "¥1299.9" and price.plate == "pill"
    assert not text_violations(creative.rendered)
    # The pill's rounded ends reach past the ink on both sides: they were not clipped by its box.
    (pill,) = [e for e in creative.rendered.elements if e.layer_id == f"{price.layer_id}.plate"]
    x0, y0, x1, y1 = price.ink
    end = (pill.bbox[3] - pill.bbox[1]) / 2
    assert pill.bbox[0] <= x0 - 0.5 * end and x1 + 0.5 * end <= pill.bbox[2]


@pytest.mark.parametrize("size", [(120, 600), (160, 600)])
def test_on_a_skyscraper_a_long_title_takes_a_third_line_rather_than_breaking_a_phrase(products, assets, fonts, size):
    """A 120x600 skyscraper set a long CJK title on the template's two lines by breaking inside a phrase
    ("好 | 物直降"), with empty canvas below it. There the title and subtitle may take one more line:
    the title's lines break between phrases only, and the subtitle is drawn whole."""
    copy = AdCopy("网易严选 年货节 好物直降 满 299 减 50", "12 小时保温 · 316 不锈钢", "¥1299.9", "限时直降")
    phrases = copy.title.split()

    rendered = _render("single-hero", size, products, copy, assets, fonts)

    lines = _text(rendered, "title").block.lines
    assert "".join(lines).replace(" ", "") == copy.title.replace(" ", "")  # whole, not cut
    assert all(set(line.split()) <= set(phrases) for line in lines), lines  # no phrase broken across lines
    assert _text(rendered, "subtitle").drawn_text == copy.subtitle
    assert not text_violations(rendered)
