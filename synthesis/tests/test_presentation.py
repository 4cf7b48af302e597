"""How a product is shown: never in its photo's backdrop, never a speck, standing on its podium; scenes whole.

Each test renders real layouts and asserts what a designer relies on: an ad with one of these
faults is marked and never outranks the same ad without it.
"""

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFilter
from sklearn.datasets import load_sample_image

from synthesis.colour import palette_variants
from synthesis.product import PreparedProduct, prepare_product, prepare_scene, product_theme_colours
from synthesis.render import AdCopy, RenderChoices, SceneNotSupported, render, scene_crop
from synthesis.samples import product_photo, sample_assets
from synthesis.score import aesthetic_score
from synthesis.search import NoSuitableTemplate, search_creatives
from synthesis.spec import TemplateSpecError, load_template, parse_template

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
SINGLE_HERO = load_template(TEMPLATES / "single-hero.json")
PODIUM = load_template(TEMPLATES / "scene-podium.json")
MULTI = load_template(TEMPLATES / "multi-grid.json")
COPY = AdCopy("冬季羽绒服 轻暖一整季", "90% 白鹅绒", "¥699")


def _render(template, product, fonts, size=(1080, 1080), products=None):
    products = products or (product,)
    theme = product_theme_colours(products[0].image)
    palette = palette_variants(theme, n=1)[0]
    out = render(
        template,
        size,
        products=tuple(products),
        copy=COPY,
        choices=RenderChoices(palette=palette),
        fonts=fonts,
        assets=sample_assets(),
    )
    return out, aesthetic_score(out, theme=theme, palette=palette)


def _uncut(image: Image.Image) -> PreparedProduct:
    """The photo as the engine used to take it when it found no plain light backdrop: whole, opaque."""
    return PreparedProduct(image.convert("RGBA"), image.size, False, None, 1.0, backdrop="studio")


@pytest.mark.parametrize("backdrop", ["grey", "warm"])
def test_a_product_in_its_backdrop_box_scores_clearly_below_its_cut_out(fonts, backdrop):
    """The same product, (a) cut out and (b) drawn with its backdrop as a tile: (b) is marked and
    scores at least 10 points lower, so it never outranks (a)."""
    photo = product_photo((178, 34, 52), shape="bag", backdrop=backdrop, size=600).image

    _, cut = _render(SINGLE_HERO, prepare_product(photo), fonts)
    _, boxed = _render(SINGLE_HERO, _uncut(photo), fonts)

    assert not any(v.startswith("product_in_box") for v in cut.violations)
    assert "product_in_box:product[0]" in boxed.violations
    assert cut.total - boxed.total >= 10
    assert (cut.passes_hard_checks, cut.total) > (boxed.passes_hard_checks, boxed.total)


def test_an_uncut_scene_photo_drawn_as_a_product_is_caught(fonts):
    """A lifestyle photo pasted as a framed rectangle (busy rim) is marked too."""
    scene = Image.fromarray(load_sample_image("china.jpg")).crop((100, 0, 500, 400))

    _, score = _render(PODIUM, _uncut(scene), fonts)

    assert "product_in_box:product[0]" in score.violations


@pytest.mark.parametrize("shape", ["box", "bottle", "jacket"])
def test_a_clean_cut_out_of_a_box_shaped_product_is_not_mistaken_for_a_backdrop(fonts, shape):
    photo = product_photo((46, 125, 90), shape=shape, backdrop="white", size=600).image

    _, score = _render(SINGLE_HERO, prepare_product(photo), fonts)

    assert not any(v.startswith("product_in_box") for v in score.violations), score.violations


def _template_with_product_box(base, box):
    raw = json.loads((TEMPLATES / f"{base}.json").read_text())
    for layer in raw["layers"]:
        if layer["role"] == "product":
            layer["box"] = box
    return parse_template(raw)


def test_a_product_too_small_to_recognise_is_marked(fonts):
    """A product laid out as a speck (2% of the canvas side) fails; the template as designed passes."""
    product = prepare_product(product_photo((30, 60, 140), shape="bottle", size=600).image)
    speck = _template_with_product_box("single-hero", {"x": 0.45, "y": 0.6, "w": 0.04, "h": 0.04})

    _, small = _render(speck, product, fonts)
    _, normal = _render(SINGLE_HERO, product, fonts)

    assert "product_too_small:product[0]" in small.violations
    assert not any(v.startswith("product_too_small") for v in normal.violations)
    assert normal.total > small.total


@pytest.mark.parametrize("size", [(1080, 1080), (1080, 1920), (1200, 628), (300, 250)])
def test_products_stand_on_the_podium_with_their_base_on_its_top(fonts, size):
    """On a background with a stage, each product's base lies on the stage's top surface."""
    bag = prepare_product(product_photo((178, 34, 52), shape="bag", backdrop="grey", size=600).image)
    bottle = prepare_product(product_photo((30, 60, 140), shape="bottle", size=600).image)

    for products in ((bag,), (bag, bottle)):
        out, score = _render(PODIUM, bag, fonts, size=size, products=products)

        assert out.stage is not None
        x0, y0, x1, y1 = out.stage
        for bx0, _, bx1, base in out.product_bboxes:
            assert y0 <= base <= y1, (size, out.stage, out.product_bboxes)
            assert x0 <= (bx0 + bx1) / 2 <= x1
        assert not any(v.startswith("product_off_stage") for v in score.violations)


def test_a_product_floating_beside_the_podium_is_marked(fonts):
    """The product layer moved to a corner, away from the podium: it no longer stands on it."""
    product = prepare_product(product_photo((178, 34, 52), shape="bag", size=600).image)
    floating = _template_with_product_box("scene-podium", {"x": 0.05, "y": 0.08, "w": 0.3, "h": 0.3})

    _, score = _render(floating, product, fonts)
    _, standing = _render(PODIUM, product, fonts)

    assert "product_off_stage:product[0]" in score.violations
    assert not any(v.startswith("product_off_stage") for v in standing.violations)


def _scene_product() -> PreparedProduct:
    photo = Image.fromarray(load_sample_image("china.jpg"))
    prepared = prepare_product(photo)
    assert prepared.scene, "a landscape with no product is a scene"
    return prepared


def test_a_scene_is_shown_full_bleed_with_every_text_on_a_plate(fonts):
    scene = _scene_product()

    out, score = _render(SINGLE_HERO, scene, fonts, size=(1080, 1350))

    assert out.scene_fit == "full-bleed"
    assert not any(e.role == "product" for e in out.elements)  # never a framed product
    assert out.texts and all(t.plate != "none" for t in out.texts)
    # The photo is the background: a corner the template does not draw on shows the photo, cropped
    # round its subject (scene_crop).
    corner = np.asarray(out.image.crop((1000, 600, 1080, 700)), dtype=float).mean(axis=(0, 1))
    photo, _, _ = scene_crop(scene, (1080, 1350), out.layout.boxes[SINGLE_HERO.layer("product").id])
    expected = np.asarray(photo.convert("RGB").crop((1000, 600, 1080, 700)), dtype=float).mean(axis=(0, 1))
    assert np.abs(corner - expected).max() < 12
    assert not any(v.startswith(("product_", "outside_safe_area:product")) for v in score.violations)


@pytest.mark.parametrize("size", [(728, 90), (320, 50)])
def test_on_a_banner_a_scene_is_shown_beside_the_copy_not_hidden_under_its_band(fonts, size):
    """A full-bleed scene template would put the photo under the band holding the copy on a banner:
    there the photo is cropped into the product's zone instead, so the shopper sees it."""
    scene = _scene_product()

    out, score = _render(SINGLE_HERO, scene, fonts, size=size)

    assert out.scene_fit == "cover"
    (shown,) = [e for e in out.elements if e.role == "scene"]
    x0, y0, x1, y1 = shown.bbox
    assert (x1 - x0) * (y1 - y0) >= 0.08 * size[0] * size[1] and (x1 - x0) < size[0] / 2
    photo = np.asarray(out.image.convert("RGB").crop(shown.bbox), dtype=float)
    assert photo.std(axis=(0, 1)).mean() > 20  # the photo's detail, not a flat band
    assert not any(t.ink[0] < x1 and t.ink[2] > x0 for t in out.texts)  # the copy sits beside it
    assert score.passes_hard_checks


def test_a_scene_is_refused_by_templates_that_do_not_take_scenes(fonts):
    scene = _scene_product()

    with pytest.raises(SceneNotSupported, match="scene"):
        _render(PODIUM, scene, fonts)
    multi_with_scenes = parse_template({**json.loads((TEMPLATES / "multi-grid.json").read_text()), "scene": "cover"})
    with pytest.raises(SceneNotSupported, match="alone"):
        _render(multi_with_scenes, scene, fonts, products=(scene, scene))


def test_candidate_search_offers_a_scene_only_to_templates_that_take_scenes(fonts):
    scene = _scene_product()
    theme = product_theme_colours(scene.image)

    result = search_creatives(
        [PODIUM, SINGLE_HERO], [scene], [COPY], [(1080, 1080)], theme=theme, fonts=fonts, assets=sample_assets(), n=6
    )
    assert {c.candidate.template.name for c in result.creatives} == {"single-hero"}
    with pytest.raises(NoSuitableTemplate, match="scene"):
        search_creatives(
            [PODIUM], [scene], [COPY], [(1080, 1080)], theme=theme, fonts=fonts, assets=sample_assets(), n=6
        )


def test_spec_reads_scene_and_stage_and_refuses_bad_values():
    raw = json.loads((TEMPLATES / "scene-podium.json").read_text())
    assert load_template(TEMPLATES / "scene-podium.json").layers[0].fill.stage is not None
    raw["scene"] = "sometimes"
    raw["layers"][1]["fill"] = {"type": "colour", "stage": {"x": 0.1, "y": 0.5, "w": 0.5, "h": 0.1}}
    with pytest.raises(TemplateSpecError) as excinfo:
        parse_template(raw)
    assert "scene" in str(excinfo.value) and "stage" in str(excinfo.value)


def test_products_of_known_height_stand_to_scale_on_one_baseline(fonts):
    """A cup beside a motorcycle is drawn smaller, never larger, when both give their real heights (heights
    follow the square root of the real ones, so the cup is still seen); without them each product fills
    its own slot (the layout cannot know)."""

    cup = prepare_product(product_photo((196, 48, 43), shape="box", size=500, seed=1).image)
    bike = prepare_product(product_photo((31, 58, 110), shape="bottle", size=500, seed=2).image)
    sized = (dataclasses.replace(cup, real_height_cm=10.0), dataclasses.replace(bike, real_height_cm=110.0))

    unknown, _ = _render(MULTI, cup, fonts, size=(1200, 628), products=(cup, bike))
    to_scale, score = _render(MULTI, cup, fonts, size=(1200, 628), products=sized)

    def heights(out):
        boxes = sorted((e for e in out.elements if e.role == "product"), key=lambda e: e.layer_id)
        return [b.bbox[3] - b.bbox[1] for b in boxes], [b.bbox[3] for b in boxes]

    (cup_h, bike_h), _ = heights(unknown)
    assert cup_h / bike_h > 0.3  # each fills its slot: nothing says the cup is small
    (cup_h, bike_h), bottoms = heights(to_scale)
    assert cup_h / bike_h == pytest.approx((10 / 110) ** 0.5, abs=0.03)
    assert abs(bottoms[0] - bottoms[1]) <= 0.05 * bike_h  # standing on one baseline
    assert score.passes_hard_checks


def _red_jacket_and_blue_bottle(template, size, palette_name, fonts):
    """The two products rendered together in the red jacket's palette `palette_name`: (render, score)."""
    jacket = prepare_product(product_photo((178, 34, 52), shape="jacket", size=600).image)
    bottle = prepare_product(product_photo((30, 60, 140), shape="bottle", size=600).image)
    theme = product_theme_colours(jacket.image)
    palette = {p.name: p for p in palette_variants(theme, n=6)}[palette_name]
    out = render(
        template,
        size,
        products=(jacket, bottle),
        copy=AdCopy("Winter Essentials Bundle", "", "$199"),
        choices=RenderChoices(palette=palette),
        fonts=fonts,
        assets=sample_assets(),
    )
    return out, aesthetic_score(out, theme=theme, palette=palette)


def test_a_product_drawn_on_a_band_of_its_own_colour_is_marked_lost_in_the_background(fonts):
    """A designer's band in the palette's primary, the red jacket's own red, drawn behind the products:
    the jacket vanishes (the hero's figure_ground alone did not mark it, beside a blue bottle) and the
    ad must not outrank the same design on a dark band; the bottle is not marked."""
    raw = json.loads((TEMPLATES / "multi-grid.json").read_text())
    for layer in raw["layers"]:
        if layer["id"] == "header":
            layer["boxes"]["square"] = {"x": 0, "y": 0, "w": 1, "h": 1}
    behind = parse_template(raw)

    _, lost = _red_jacket_and_blue_bottle(behind, (1080, 1080), "tint", fonts)
    _, standing_out = _red_jacket_and_blue_bottle(behind, (1080, 1080), "deep", fonts)

    assert "product_lost_in_background:product[0]" in lost.violations
    assert not any(v.startswith("product_lost_in_background:product[1]") for v in lost.violations)
    assert not any(v.startswith("product_lost_in_background") for v in standing_out.violations)
    assert (standing_out.passes_hard_checks, standing_out.total) > (lost.passes_hard_checks, lost.total)


def test_a_banners_band_runs_behind_the_copy_not_behind_the_products(fonts):
    """On a 728x90 banner the multi-grid's band (its primary, the red jacket's own colour) filled the
    canvas and swallowed the jacket; it now starts right of the products, behind the title and price."""
    out, score = _red_jacket_and_blue_bottle(MULTI, (728, 90), "tint", fonts)

    band = out.layout.boxes["header"]
    assert band[0] >= max(x1 for _, _, x1, _ in out.product_bboxes)
    title = next(t for t in out.texts if t.role == "title")
    assert band[0] <= title.ink[0]
    assert not any(v.startswith("product_") for v in score.violations)


def _lifestyle_with_subject_at(x_share: float) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A wide lifestyle shot: a product in focus at `x_share` of the width, before a blurred real photo."""
    backdrop = Image.fromarray(load_sample_image("china.jpg")).resize((1200, 600)).filter(ImageFilter.GaussianBlur(8))
    product = product_photo((214, 120, 40), shape="bag", backdrop="white", size=300).image
    cut = prepare_product(product).image
    x0, y0 = round(x_share * 1200 - cut.width / 2), 300 - cut.height // 2
    photo = backdrop.convert("RGBA")
    photo.alpha_composite(cut, (x0, y0))
    return photo.convert("RGB"), (x0, y0, x0 + cut.width, y0 + cut.height)


@pytest.mark.parametrize("x_share", [0.2, 0.8])
def test_a_scenes_subject_is_found_where_it_stands_off_centre(x_share):
    photo, (x0, y0, x1, y1) = _lifestyle_with_subject_at(x_share)

    box = prepare_scene(photo).subject_box

    assert box is not None
    cx, cy = (box[0] + box[2]) / 2 * photo.width, (box[1] + box[3]) / 2 * photo.height
    assert x0 <= cx <= x1 and y0 <= cy <= y1, (box, (x0, y0, x1, y1))


@pytest.mark.parametrize("x_share", [0.2, 0.8])
def test_a_tall_crop_of_a_wide_scene_keeps_its_subject_in_view(fonts, x_share):
    """1080x1920 from a 2:1 photo shows a quarter of its width: centred, it cut a product standing at a
    fifth of the width out of the ad; the crop follows the subject instead."""
    photo, (x0, y0, x1, y1) = _lifestyle_with_subject_at(x_share)
    scene = prepare_scene(photo)

    out, _ = _render(SINGLE_HERO, scene, fonts, size=(1080, 1920))

    assert out.scene_fit == "full-bleed" and out.scene_subject is not None
    sx0, _, sx1, _ = out.scene_subject
    assert sx1 - sx0 >= 0.8 * (x1 - x0) * 1920 / photo.height  # the product, nearly whole, on the canvas
    centred_left = (round(photo.width * 1920 / photo.height) - 1080) // 2
    assert not (centred_left <= (x0 + x1) / 2 * 1920 / photo.height <= centred_left + 1080)  # a centred crop missed it


def test_occlusion_reads_a_full_bleed_scenes_subject(fonts):

    from synthesis.score import occlusion

    out, _ = _render(SINGLE_HERO, _scene_product(), fonts, size=(1080, 1350))
    title = next(t for t in out.texts if t.role == "title")
    under_title = dataclasses.replace(out, scene_subject=title.ink)
    clear = max((t.ink for t in out.texts), key=lambda ink: ink[3])[3] + 10
    away = dataclasses.replace(out, scene_subject=(0, clear, 1080, 1350))

    assert occlusion(under_title) < 0.5
    assert occlusion(away) > occlusion(under_title)


@pytest.mark.parametrize("size", [(1080, 1920), (1080, 1350), (160, 600)])
def test_a_pale_product_on_white_the_cut_out_refused_is_shown_whole_on_its_sweep(fonts, size):
    """A white sneaker on a white sweep has no clean cut-out, so it is a scene; covering a tall canvas
    (1080x1920, 1080x1350, 160x600) cut off its toe and heel. Its sweep is plain, so the crop extends
    it past the photo's edges instead: the whole sneaker shows, on the sweep's own colour."""
    from synthesis.photo_samples import labelled_photo

    photo = labelled_photo("white", shape="sneaker", body_rgb=(232, 232, 232), seed=102)
    scene = prepare_product(photo.image)
    assert scene.scene and scene.on_sweep, "the sample is a pale body the cut-out refuses"
    ys, xs = np.nonzero(photo.mask > 0.5)
    truth = (xs.min() / 800, ys.min() / 800, (xs.max() + 1) / 800, (ys.max() + 1) / 800)

    out, score = _render(SINGLE_HERO, scene, fonts, size=size)

    shown = next(e for e in out.elements if e.role == "scene")
    zone = (0, 0, *size) if out.scene_fit == "full-bleed" else shown.bbox
    photo_on_canvas, subject, scale = (
        scene_crop(scene, (zone[2] - zone[0], zone[3] - zone[1]), out.layout.boxes[SINGLE_HERO.layer("product").id])
        if out.scene_fit == "full-bleed"
        else scene_crop(scene, (zone[2] - zone[0], zone[3] - zone[1]))
    )
    # The sneaker's true extent, on the canvas, lies inside it: nothing of it is cropped away.
    x0, y0, x1, y1 = subject
    sw, sh = scene.image.width * scale, scene.image.height * scale
    left, top = x0 - scene.subject_box[0] * sw, y0 - scene.subject_box[1] * sh
    tx0, ty0 = left + truth[0] * sw, top + truth[1] * sh
    tx1, ty1 = left + truth[2] * sw, top + truth[3] * sh
    width, height = photo_on_canvas.size
    assert tx0 >= -1 and ty0 >= -1 and tx1 <= width + 1 and ty1 <= height + 1, ((tx0, ty0, tx1, ty1), (width, height))
    # Where the sweep was extended, it is the sweep: pale and even, no streaks.
    corner = np.asarray(photo_on_canvas.convert("RGB"), dtype=float)[: max(4, height // 12), : max(4, width // 12)]
    assert corner.mean() > 200 and corner.std() < 6
    assert score.passes_hard_checks


@pytest.mark.parametrize("size", [(160, 600), (1080, 1920), (300, 600)])
def test_a_scene_subject_wider_than_a_tall_canvas_is_fitted_whole_not_cut(size):
    """A product across a landscape photo (here 80% of its width): covering a tall canvas would show a
    slice of it (at 160x600 a fifth of the photo's width). The photo is fitted so the whole subject
    shows, spanning the canvas's width, and the canvas above and below is the photo's own colours
    out of focus: no second, blurred copy of its shapes, no empty band."""
    photo = Image.fromarray(load_sample_image("flower.jpg"))  # 640x427, detail across the frame
    scene = dataclasses.replace(prepare_scene(photo), subject_box=(0.1, 0.3, 0.9, 0.7))
    w, h = size

    canvas, subject, scale = scene_crop(scene, size)

    x0, y0, x1, y1 = subject
    assert canvas.size == size
    # Must hold: all of the subject is on the canvas (unclipped: its width is the box's at the scale used).
    assert x1 - x0 == pytest.approx(0.8 * scene.image.width * scale, abs=2) and 0 <= x0 and x1 <= w
    assert (x1 - x0) <= 0.9 * w + 1
    # The photo spans the canvas's width (not a print floating in a frame) and is not enlarged past covering it.
    assert scene.image.width * scale >= w - 1 and scale <= max(w / scene.image.width, h / scene.image.height)
    # Above the photo the canvas is soft (its own colours, out of focus), below it the photo's detail.
    top = round(y0 - 0.3 * scene.image.height * scale)
    rgb = np.asarray(canvas.convert("RGB"), dtype=float)
    assert top > 0.1 * h
    detail = np.abs(np.diff(rgb, axis=1)).mean(axis=2)
    assert detail[: int(top * 0.8)].mean() < 0.25 * detail[top : top + int(0.4 * scene.image.height * scale)].mean()
    # The wash goes on in the photo's own colours at its top edge, not in a fill of its own.
    edge = rgb[top + 2 : top + 2 + max(2, int(0.05 * scene.image.height * scale))].mean(axis=(0, 1))
    assert np.abs(rgb[: int(top * 0.8)].mean(axis=(0, 1)) - edge).max() < 12


def _found_on(canvas: Image.Image, photo: Image.Image, part: tuple[float, float, float, float], scale: float) -> float:
    """How well `part` of `photo` (fractions x0, y0, x1, y1), at `scale`, is matched somewhere on `canvas`
    (the best normalised cross-correlation, 1 for the same pixels)."""
    import cv2

    x0, y0, x1, y1 = (round(f * s) for f, s in zip(part, photo.size * 2, strict=True))
    piece = photo.crop((x0, y0, x1, y1)).convert("L")
    piece = piece.resize((max(8, round(piece.width * scale)), max(8, round(piece.height * scale))), Image.BILINEAR)
    found = cv2.matchTemplate(np.asarray(canvas.convert("L")), np.asarray(piece), cv2.TM_CCOEFF_NORMED)
    return float(found.max())


def _skimage_photo(name: str) -> Image.Image:
    import skimage

    return Image.open(Path(skimage.__file__).parent / "data" / name).convert("RGB")


@pytest.mark.parametrize("name", ["motorcycle_left.png", "motorcycle_right.png"])
def test_a_motorcycle_scene_on_a_story_shows_both_wheels_not_its_tank_alone(name):
    """The scene's most salient part is a motorcycle's red tank; its chrome and black wheels stand out less.
    Covering a 1080x1920 story centred on the tank kept the tank and cut the rear wheel in half. The crop
    must keep most of all of the subject (`subject_mass`), so the photo is fitted: both wheels whole.
    Each wheel, as in the photo (the rear one with the tail light, the front one with its fork), is found
    on the canvas."""
    photo = _skimage_photo(name)
    scene = prepare_scene(photo)

    canvas, subject, scale = scene_crop(scene, (1080, 1920))

    assert scale < max(1080 / scene.image.width, 1920 / scene.image.height)  # fitted, not covered
    scale_from_source = scale * scene.image.width / photo.width
    rear, front = ((0.12, 0.4, 0.3, 0.9), (0.75, 0.35, 0.93, 0.9))  # each wheel, with the tail light, with the fork
    if name == "motorcycle_right.png":  # the right camera sees the motorcycle shifted left
        rear, front = ((0.07, 0.4, 0.25, 0.9), (0.7, 0.35, 0.88, 0.9))
    assert _found_on(canvas, photo, rear, scale_from_source) > 0.9
    assert _found_on(canvas, photo, front, scale_from_source) > 0.9
    # The subject the copy keeps off is the whole motorcycle, not its tank.
    assert subject[2] - subject[0] >= 0.6 * 1080


def test_a_person_in_a_wide_crop_keeps_her_head():
    """The astronaut's orange suit and dark helmet stood out most by colour and detail, so a 1200x628 crop
    centred on them cut her head off at the eyes. Her face and hair are walled off from the frame by an
    outline (the barrier distance), so the subject reaches them: her whole face, forehead to chin, as in the
    photo, is found on the canvas."""
    photo = _skimage_photo("astronaut.png")
    scene = prepare_scene(photo)

    canvas, _, scale = scene_crop(scene, (1200, 628))

    face = (0.36, 0.12, 0.6, 0.36)  # forehead to chin
    assert _found_on(canvas, photo, face, scale * scene.image.width / photo.width) > 0.9


@pytest.mark.parametrize("size", [(1080, 1920), (160, 600)])
def test_a_compact_subject_with_lights_far_around_it_is_still_covered(size):
    """A rocket on its pad at night: the pad's lights, as salient as the rocket, lie several rocket widths
    away. They are the scene's, not the subject's: the crop still covers the canvas with the rocket."""
    photo = _skimage_photo("rocket.jpg")
    scene = prepare_scene(photo)

    canvas, subject, scale = scene_crop(scene, size)

    assert scale == pytest.approx(max(size[0] / scene.image.width, size[1] / scene.image.height), rel=0.01)
    assert subject is not None and subject[2] - subject[0] <= 0.6 * size[0]


def test_a_fitted_scenes_wash_continues_its_edges_with_no_ghost_of_its_subject():
    """A dark tree on a hill under a pale sky, fitted to a 1080x1920 story: above the photo the canvas
    goes on as its sky, below as its grass. A wash of the whole photo enlarged to the canvas put a dark
    ghost of the tree in the sky above it and in the grass below."""
    from synthesis.colour import srgb8_to_lab

    rgb = np.zeros((480, 720, 3), np.uint8)
    rgb[:300] = (150, 195, 235)  # sky
    rgb[300:] = (90, 160, 50)  # grass
    yy, xx = np.mgrid[0:480, 0:720]
    rgb[((xx - 360) / 150) ** 2 + ((yy - 190) / 130) ** 2 <= 1] = (40, 45, 35)  # the crown
    rgb[190:320, 345:375] = (50, 40, 30)  # the trunk
    scene = dataclasses.replace(
        prepare_scene(Image.fromarray(rgb)), subject_box=(0.25, 0.1, 0.75, 0.7), subject_mass=None
    )

    canvas, subject, scale = scene_crop(scene, (1080, 1920))

    assert scale < 1920 / 480  # fitted
    lab = srgb8_to_lab(np.asarray(canvas.convert("RGB")))
    top = round(subject[1] - 0.1 * 480 * scale)  # the photo's top edge on the canvas
    bottom = round(subject[3] + 0.3 * 480 * scale)
    sky, grass = (
        srgb8_to_lab(np.array([[150, 195, 235]], np.uint8))[0],
        srgb8_to_lab(np.array([[90, 160, 50]], np.uint8))[0],
    )
    above, below = lab[: int(0.8 * top)], lab[bottom + int(0.2 * (1920 - bottom)) :]
    assert top > 150 and 1920 - bottom > 150
    assert np.linalg.norm(above - sky, axis=-1).max() < 8, "the sky goes on above the photo"
    assert np.linalg.norm(below - grass, axis=-1).max() < 8, "the grass goes on below it"


def test_a_scene_subject_the_cover_crop_shows_is_still_covered():
    """The fit is only for subjects a crop would cut: a pagoda that fits the canvas still covers it edge to edge."""
    photo = Image.fromarray(load_sample_image("china.jpg"))
    scene = dataclasses.replace(prepare_scene(photo), subject_box=(0.4, 0.2, 0.6, 0.8))

    canvas, subject, scale = scene_crop(scene, (1080, 1350))

    assert scale == pytest.approx(1350 / scene.image.height, rel=0.01)
    assert subject[0] > 0 and subject[2] < 1080


def test_a_fitted_scene_renders_with_its_subject_whole_and_its_copy_on_plates(fonts):
    scene = dataclasses.replace(
        prepare_scene(Image.fromarray(load_sample_image("flower.jpg"))), subject_box=(0.1, 0.3, 0.9, 0.7)
    )

    out, score = _render(SINGLE_HERO, scene, fonts, size=(160, 600))

    assert out.scene_fit == "full-bleed" and out.scene_subject is not None
    x0, _, x1, _ = out.scene_subject
    assert x1 - x0 >= 0.7 * 160  # the subject across the canvas, not a fifth of it
    assert out.texts and all(t.plate != "none" for t in out.texts)
    assert score.passes_hard_checks, score.violations


@functools.cache
def _flower_scene() -> PreparedProduct:
    """A small scene photo, made once: the property below crops it 150 times."""
    return prepare_scene(Image.fromarray(load_sample_image("flower.jpg")).resize((160, 107)))


@settings(max_examples=150, deadline=None)
@given(
    width=st.integers(20, 1920),
    height=st.integers(20, 1920),
    zone=st.tuples(st.floats(0, 0.9), st.floats(0, 0.9), st.floats(0.1, 1), st.floats(0.1, 1)),
    box=st.tuples(st.floats(0, 0.95), st.floats(0, 0.95), st.floats(0.02, 1), st.floats(0.02, 1)),
    with_mass=st.booleans(),
)
def test_a_scene_crop_fills_any_canvas_and_shows_the_subject_it_keeps(width, height, zone, box, with_mass):
    """Any canvas, product zone and subject (a core box, with or without the photo's own subject mass): the
    crop fills the canvas exactly, never enlarges the photo past covering it, and the subject box it
    reports lies on the canvas. When it fits the photo (the cover crop would cut the subject), the
    subject is whole on the canvas unless the zone itself is too small to hold it at the photo's
    covering scale: the core box exactly, or with the mass a box holding it."""
    zx, zy = round(zone[0] * width), round(zone[1] * height)
    zw, zh = max(1, min(width - zx, round(zone[2] * width))), max(1, min(height - zy, round(zone[3] * height)))
    x0, y0 = box[0], box[1]
    x1, y1 = min(1.0, x0 + box[2]), min(1.0, y0 + box[3])
    mass = _flower_scene().subject_mass if with_mass else None
    scene = dataclasses.replace(_flower_scene(), subject_box=(x0, y0, x1, y1), subject_mass=mass)

    canvas, subject, scale = scene_crop(scene, (width, height), (zx, zy, zw, zh))

    assert canvas.size == (width, height) and canvas.mode == "RGBA"
    cover_scale = max(width / scene.image.width, height / scene.image.height)
    assert scale <= cover_scale + 1 / min(scene.image.size)  # within the rounding of a whole pixel
    if subject is not None:
        sx0, sy0, sx1, sy1 = subject
        assert 0 <= sx0 < sx1 <= width and 0 <= sy0 < sy1 <= height
    if subject is not None and scale < cover_scale - 1 / min(scene.image.size):
        # Fitted smaller than covering: the whole subject, unclipped, inside the product zone.
        sw, sh = scene.image.width * scale, scene.image.height * scale
        if mass is None:
            assert abs((sx1 - sx0) - (x1 - x0) * sw) <= 2 and abs((sy1 - sy0) - (y1 - y0) * sh) <= 2
        else:
            assert (sx1 - sx0) >= (x1 - x0) * sw - 2 and (sy1 - sy0) >= (y1 - y0) * sh - 2
        assert zx - 1 <= sx0 and sx1 <= zx + zw + 1 and zy - 1 <= sy0 and sy1 <= zy + zh + 1


@pytest.mark.parametrize("size", [(970, 250), (728, 90), (320, 50)])
def test_a_banners_scene_photo_bleeds_to_the_canvas_edges_not_framed_in_a_mat(fonts, size):
    """Cropped into the product zone inside the safe margin, a banner's scene photo sat in a frame of
    the palette's background (12 px round it at 970x250): a print in a mat. It runs to the canvas's
    top, bottom and left edges, and on its right meets the band behind the copy when there is one."""
    scene = _scene_product()

    out, score = _render(SINGLE_HERO, scene, fonts, size=size)

    (shown,) = [e for e in out.elements if e.role == "scene"]
    x0, y0, x1, y1 = shown.bbox
    assert (x0, y0, y1) == (0, 0, size[1])
    band = out.layout.boxes.get("band")  # single-hero's band behind the copy, when drawn
    if band is not None:
        assert x1 == band[0]
    # The corners of the canvas are the photo's, not a flat mat: the photo's detail reaches them.
    corner = np.asarray(out.image.convert("RGB").crop((0, 0, max(4, x1 // 6), max(4, size[1] // 6))), dtype=float)
    photo = np.asarray(scene_crop(scene, (x1 - x0, y1 - y0))[0].convert("RGB"), dtype=float)
    assert np.abs(corner.mean(axis=(0, 1)) - photo[: corner.shape[0], : corner.shape[1]].mean(axis=(0, 1))).max() < 12
    assert score.passes_hard_checks, score.violations
