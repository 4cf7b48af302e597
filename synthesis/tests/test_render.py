"""The shipped templates at every placement size, with 1-4 products and hard copy.

What must hold for every render: nothing leaves the canvas or its safe margin, no text
overflows its box, no text covers a product, and all text reaches 4.5:1 contrast against
the pixels actually under it.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from synthesis.colour import palette_variants
from synthesis.product import prepare_product, product_theme_colours
from synthesis.render import AdCopy, RenderChoices, cover, gradient_grid, gradient_image, render, thumbnail_jpeg
from synthesis.samples import product_photo, sample_assets
from synthesis.score import aesthetic_score
from synthesis.search import generate_candidates
from synthesis.spec import load_template

TEMPLATES = [load_template(p) for p in sorted((Path(__file__).resolve().parents[1] / "templates").glob("*.json"))]
SIZES = [(1080, 1080), (1080, 1350), (1080, 1920), (1920, 1080), (1200, 628), (300, 250), (728, 90), (320, 50)]
COPIES = {
    "normal": AdCopy("网易严选 冬季羽绒服 限时直降", "90% 白鹅绒 · -20°C 保暖", "¥699", "限时直降"),
    "long": AdCopy("网易严选" * 15, "轻薄保暖不臃肿，" * 6, "¥12,999.00", "第二件半价，再送围巾"),
    "huge": AdCopy("羽" * 500, "", "¥1", ""),
    "latin": AdCopy("Winter down jacket, ultralight and warm, now 30% off for members", "Free returns", "$99"),
    "emoji": AdCopy("🔥🔥🎉", "🎁", "¥9", "🔥"),
    "mixed": AdCopy("Apple AirPods Pro 2 限时特惠，立减 300 元！", "USB-C 充电盒", "¥1,599", "新品"),
}
COLOURS = [(178, 34, 52), (31, 58, 110), (46, 125, 90), (235, 120, 30)]


@pytest.fixture(scope="module")
def products():
    out = []
    for i, (colour, shape) in enumerate(zip(COLOURS, ["jacket", "bottle", "sneaker", "bag"], strict=True)):
        out.append(prepare_product(product_photo(colour, shape=shape, size=600, seed=i).image))
    return tuple(out)


@pytest.fixture(scope="module")
def assets():
    return sample_assets()


def _cases():
    for template in TEMPLATES:
        for count in range(template.products_min, template.products_max + 1):
            for size in SIZES:
                yield pytest.param(template, count, size, id=f"{template.name}-{count}p-{size[0]}x{size[1]}")


@pytest.mark.parametrize(("template", "count", "size"), list(_cases()))
def test_every_template_size_and_product_count_obeys_the_layout_rules(template, count, size, products, assets, fonts):
    theme = product_theme_colours(products[0].image)
    for copy_name, copy in COPIES.items():
        for palette in palette_variants(theme, n=4):
            rendered = render(
                template,
                size,
                products=products[:count],
                copy=copy,
                choices=RenderChoices(palette=palette),
                fonts=fonts,
                assets=assets,
            )
            score = aesthetic_score(rendered, theme=theme, palette=palette)

            assert rendered.image.size == size
            assert score.violations == (), (copy_name, palette.name, score.violations)
            assert 0 <= score.total <= 100


def test_same_inputs_give_byte_identical_jpeg(products, assets, fonts):
    theme = product_theme_colours(products[0].image)
    palette = palette_variants(theme, n=1)[0]

    def once():
        return render(
            next(t for t in TEMPLATES if t.name == "single-hero"),
            (1080, 1080),
            products=products[:1],
            copy=COPIES["normal"],
            choices=RenderChoices(palette=palette),
            fonts=fonts,
            assets=assets,
        ).encode()

    assert once() == once()


def test_the_search_cache_never_changes_a_render(products, assets, fonts):
    """A search renders hundreds of candidates through one cache (copy fits, text masks, resized
    layers, shadows); each must come out exactly as it would alone, or provenance re-renders and
    the scores drift. Candidates differ in template, palette, layer choices and copy."""
    theme = product_theme_colours(products[0].image)
    cache: dict = {}
    for size, count in (((180, 180), 1), ((320, 50), 1), ((180, 180), 2)):
        candidates = generate_candidates(
            TEMPLATES, theme=theme, copies=list(COPIES.values())[:3], product_count=count, size=size, n=40, seed=3
        )
        for c in candidates:
            inputs = dict(products=products[:count], copy=c.copy, choices=c.choices, fonts=fonts, assets=assets)
            shared = render(c.template, size, cache=cache, **inputs)
            alone = render(c.template, size, **inputs)

            assert shared.image.tobytes() == alone.image.tobytes(), c.template.name
            assert (shared.texts, shared.elements, shared.product_bboxes) == (
                alone.texts,
                alone.elements,
                alone.product_bboxes,
            )
            assert (shared.product_mask == alone.product_mask).all()


def test_a_backdrop_memo_kept_between_searches_fits_each_background_once_and_changes_no_pixel(
    products, assets, fonts, monkeypatch
):
    """Every product set of a campaign draws the same podium at the same sizes: with the memo a
    worker keeps, the second product set's renders reuse the fitted backgrounds of the first."""
    import synthesis.render as render_module

    fitted = []
    cover_on_stage = render_module._cover_on_stage
    monkeypatch.setattr(render_module, "_cover_on_stage", lambda *a: fitted.append(a[1]) or cover_on_stage(*a))
    podium = next(t for t in TEMPLATES if t.name == "scene-podium")
    backdrops: dict = {}
    for product in products[:2]:  # two product sets, each its own search cache
        cache: dict = {}
        theme = product_theme_colours(product.image)
        for size in ((1080, 1920), (728, 90)):
            for palette in palette_variants(theme, n=2):
                inputs = dict(products=(product,), copy=COPIES["normal"], fonts=fonts, assets=assets)
                choices = RenderChoices(palette=palette)
                memoised = render(podium, size, choices=choices, cache=cache, backdrops=backdrops, **inputs)
                alone = render(podium, size, choices=choices, **inputs)

                assert memoised.image.tobytes() == alone.image.tobytes()
                assert memoised.stage == alone.stage

    memoised_fits = len(fitted) - 2 * 2 * 2  # less the renders alone
    assert memoised_fits == 2  # once per size, for both product sets and both palettes


@pytest.mark.parametrize("angle", [0, 90, 180, 270, 30])
@pytest.mark.parametrize("size", [(1080, 1080), (1200, 628), (320, 50), (180, 180)])
def test_a_gradient_background_is_its_grid_smoothly_enlarged(angle, size):
    # Up-down and left-right gradients enlarge one line of the grid: the pixels must be those of
    # enlarging the whole grid, or a creative re-rendered from its provenance would not match.
    start, end = (250, 236, 230), (160, 30, 48)
    grid = gradient_grid(size, start, end, angle, 0.6)

    expected = Image.fromarray(grid).resize(size, Image.BILINEAR).convert("RGBA")

    assert gradient_image(size, start, end, angle, 0.6).tobytes() == expected.tobytes()


@pytest.mark.parametrize("size", [(1080, 1920), (1080, 1080), (1200, 628), (728, 90), (320, 50), (300, 250)])
def test_a_covering_photo_shows_its_middle_enlarged_as_a_whole(size):
    # `cover` resamples only the part that shows: it must be the centre of the whole photo
    # enlarged, to within a level where the filter's weights round the other way.
    photo = product_photo((178, 34, 52), shape="jacket", size=600, seed=1).image.convert("RGB").crop((0, 0, 600, 413))
    w, h = size
    scale = max(w / photo.width, h / photo.height)
    whole = photo.resize((max(w, round(photo.width * scale)), max(h, round(photo.height * scale))), Image.BILINEAR)
    left, top = (whole.width - w) // 2, (whole.height - h) // 2
    expected = np.asarray(whole.crop((left, top, left + w, top + h)).convert("RGBA"), dtype=np.int16)

    covered = np.asarray(cover(photo, size), dtype=np.int16)

    assert covered.shape == expected.shape
    assert np.abs(covered - expected).max() <= 1
    assert (covered != expected).any(axis=2).mean() < 0.01


@pytest.mark.parametrize("rgb", [(250, 250, 250), (12, 30, 60), (120, 128, 119)])
def test_the_text_colour_over_a_flat_background_is_looked_up_as_best_text_colour_picks_it(rgb):
    # A search remembers the colour chosen over one flat colour; it must be the choice (and the
    # contrast, to the last bit) over those very pixels, or cached and lone renders would differ.
    from synthesis.colour import best_text_colour
    from synthesis.render import _text_colour

    candidates = [(20, 20, 20), (255, 255, 255), (200, 40, 40)]
    cache: dict = {}
    for count in (5000, 3, 700, 3, 5000):
        pixels = np.tile(np.array([*rgb, 255], dtype=np.uint8), count).view(np.uint32)

        looked_up = _text_colour(cache, pixels, candidates)

        assert looked_up == best_text_colour(np.full((count, 3), rgb, dtype=np.uint8), candidates)
    assert len(cache) == 3  # one per count


@pytest.mark.parametrize("kind", ["pill", "band", "burst"])
def test_a_plate_filled_through_its_shape_leaves_the_pixels_of_compositing_it(kind):
    # Plates are filled through a cached shape instead of composited from a drawn overlay; over
    # any canvas, see-through pixels included, the pixels must be those of compositing.
    from synthesis.render import draw_plate, plate_shape

    rng = np.random.default_rng(5)
    canvas = Image.fromarray(rng.integers(0, 256, (120, 200, 4), dtype=np.uint8))
    canvas.putalpha(Image.fromarray(rng.choice(np.array([0, 90, 255], dtype=np.uint8), (120, 200))))
    box, ink, colour = (30, 20, 140, 70), (60, 40, 130, 70), (200, 40, 90)
    shape, _ = plate_shape(kind, box, ink)
    overlay = Image.new("RGBA", shape.size, (*colour, 0))
    overlay.putalpha(shape)
    expected = canvas.copy()
    expected.alpha_composite(overlay, box[:2])

    cache: dict = {}
    for _ in range(2):  # drawn, then from the cache
        filled = canvas.copy()
        draw_plate(filled, kind, box, ink, colour, cache)

        assert filled.tobytes() == expected.tobytes()


def test_a_text_memo_kept_between_searches_rasterises_each_text_once_and_changes_no_pixel(
    products, assets, fonts, monkeypatch
):
    """Every product set of a campaign sets the same title, badge and price: with the memo a
    worker keeps, the second product set's renders reuse the first's glyph masks."""
    import synthesis.render as render_module

    rasterised = []
    text_mask = render_module.text_mask
    monkeypatch.setattr(render_module, "text_mask", lambda *a: rasterised.append(a) or text_mask(*a))
    template = next(t for t in TEMPLATES if t.name == "single-hero")
    memo = render_module.TextMemo()
    for product in products[:2]:  # two product sets, each its own search cache
        cache: dict = {}
        theme = product_theme_colours(product.image)
        for palette in palette_variants(theme, n=2):
            inputs = dict(products=(product,), copy=COPIES["normal"], fonts=fonts, assets=assets)
            choices = RenderChoices(palette=palette)
            memoised = render(template, (1080, 1080), choices=choices, cache=cache, text_memo=memo, **inputs)
            before = len(rasterised)
            alone = render(template, (1080, 1080), choices=choices, **inputs)

            assert memoised.image.tobytes() == alone.image.tobytes()
            assert memoised.texts == alone.texts
            drawn = len(rasterised) - before
    assert len(rasterised) == 4 * drawn + drawn  # each render alone draws its texts; the memo once in all


@pytest.mark.parametrize("size", [(1080, 1080), (1080, 1920), (1200, 628), (728, 90)])
def test_a_thumbnail_fits_its_side_and_looks_like_the_creative_fairly_scaled(size):
    # Thumbnails are reduced by pixel blocks before the Lanczos step (faster); the picture must
    # stay that of the creative scaled fairly, to within JPEG's own error.
    import io

    photo = product_photo((46, 125, 90), shape="sneaker", size=600, seed=2).image.convert("RGB").resize(size)
    fair = photo.resize(Image.open(io.BytesIO(thumbnail_jpeg(photo))).size, Image.LANCZOS)

    thumb = Image.open(io.BytesIO(thumbnail_jpeg(photo)))

    assert max(thumb.size) == min(320, max(size))
    assert np.abs(np.asarray(thumb, dtype=np.int16) - np.asarray(fair, dtype=np.int16)).mean() < 2.5


@given(
    width=st.integers(1, 900),
    height=st.integers(1, 900),
    target=st.integers(8, 900),
    seed=st.integers(0, 3),
)
@settings(max_examples=60, deadline=None)
def test_a_product_reduced_from_its_premultiplied_copy_has_the_pixels_of_pillows_thumbnail(width, height, target, seed):
    # The search reduces each product for every size's scoring renders from one premultiplied copy;
    # the pixels (and the size Pillow rounds to) must be those of Image.thumbnail, or the scoring would change.
    from synthesis.render import resized_to
    from synthesis.search import thumbnail_size

    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), "RGBA")
    expected = image.copy()
    expected.thumbnail((target, target), Image.BILINEAR)
    cache: dict = {}

    size = thumbnail_size(image.size, target)
    reduced = image if size == image.size else resized_to(image, size, cache)

    assert reduced.size == expected.size
    assert reduced.tobytes() == expected.tobytes()
    if size != image.size:  # again from the kept copy: the same pixels
        assert resized_to(image, size, cache).tobytes() == expected.tobytes()


@pytest.mark.parametrize("mode", ["RGBA", "RGB"])
def test_an_image_resized_from_its_premultiplied_copy_has_the_pixels_of_pillows_resize(mode):
    from synthesis.render import resized_to

    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (90, 130, 4), dtype=np.uint8), "RGBA").convert(mode)
    cache: dict = {}

    for size in [(400, 277), (31, 20), (130, 91), (600, 415)]:
        expected = image.resize(size, Image.BILINEAR, reducing_gap=2.0)
        assert resized_to(image, size, cache).tobytes() == expected.tobytes()


def test_a_fit_memo_kept_between_searches_fits_each_copy_once_and_changes_no_pixel(
    products, assets, fonts, monkeypatch
):
    """Product sets with the same copy (the campaign's title, badge and subtitle at one price) are
    fitted once per layout with the memo a worker keeps, though each set parses its templates anew;
    a set with another copy, size or layer choice is fitted for itself."""
    import json

    import synthesis.render as render_module
    from synthesis.render import LayerChoice
    from synthesis.spec import parse_template

    fitted = []
    fit_copy = render_module.fit_copy
    monkeypatch.setattr(render_module, "fit_copy", lambda *a, **k: fitted.append(a) or fit_copy(*a, **k))
    path = Path(__file__).resolve().parents[1] / "templates" / "single-hero.json"
    memo = render_module.FitMemo()
    cases = [
        (COPIES["normal"], (1080, 1080), {}),
        (COPIES["long"], (1080, 1080), {}),
        (COPIES["normal"], (728, 90), {}),
        (COPIES["normal"], (1080, 1080), {"title": LayerChoice(align="center")}),
    ]
    for product in products[:3]:  # three product sets, each its own search cache and parsed template
        template = parse_template(json.loads(path.read_text()))
        palette = palette_variants(product_theme_colours(product.image), n=1)[0]
        for copy, size, layers in cases:
            inputs = dict(products=(product,), copy=copy, fonts=fonts, assets=dict(assets))
            choices = RenderChoices(palette=palette, layers=layers)
            memoised = render(template, size, choices=choices, cache={}, fits=memo, **inputs)
            alone = render(template, size, choices=choices, **inputs)

            assert memoised.image.tobytes() == alone.image.tobytes()
            assert memoised.texts == alone.texts and memoised.dropped == alone.dropped
    assert len(fitted) == len(cases) + 3 * len(cases)  # each set's lone renders fit for themselves; the memo once
