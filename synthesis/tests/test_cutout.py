"""Cut-out from any backdrop: the product kept with its holes, shadows left behind, scenes declared.

Photos come with their true masks (synthesis.photo_samples) or are real photographs shipped in
installed packages; nothing is downloaded.
"""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from synthesis.colour import delta_e_2000, srgb_to_lab
from synthesis.cutout import _disk_opening, cut_out, in_focus_edges
from synthesis.errors import ImageRejected
from synthesis.photo_samples import labelled_photo
from synthesis.product import MIN_PRODUCT_SIDE, prepare_product, product_theme_colours, theme_colours_from_bytes
from synthesis.tests.reference_renders import real_photo

ROOT = Path(__file__).resolve().parents[2]


def _jpeg_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _jpeg(image: Image.Image) -> Image.Image:
    """The photo as an upload arrives: JPEG-encoded at quality 90 and decoded."""
    return Image.open(io.BytesIO(_jpeg_bytes(image))).convert("RGB")


def _iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    a, b = alpha > 0.5, truth > 0.5
    return float((a & b).sum() / max(1, (a | b).sum()))


def _de(a, b) -> float:
    return float(delta_e_2000(srgb_to_lab(np.array(a, float)), srgb_to_lab(np.array(b, float))))


@pytest.mark.parametrize(
    ("kind", "shape", "body", "seed"),
    [
        ("white", "jacket", (178, 34, 52), 1),
        ("white", "mug", (31, 58, 110), 2),
        ("light-grey", "bag", (46, 125, 90), 3),
        ("plain-colour", "bottle", (200, 60, 40), 4),
        ("plain-colour", "motorcycle", (196, 30, 45), 5),
        ("gradient", "box", (40, 90, 160), 6),
        ("gradient", "labelled-bottle", (28, 42, 96), 7),
        ("dark", "sneaker", (230, 120, 30), 8),
        ("dark", "jacket", (120, 160, 60), 9),
        ("wood", "bag", (40, 110, 170), 10),
        ("wood", "sneaker", (200, 40, 60), 11),
    ],
)
def test_a_product_is_cut_from_studio_backdrops_of_any_kind(kind, shape, body, seed):
    """Plain, coloured, gradient, dark and wood backdrops: the cut matches the true mask."""
    photo = labelled_photo(kind, shape=shape, body_rgb=body, seed=seed, size=600)

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert found.alpha.shape == photo.mask.shape
    assert _iou(found.alpha, photo.mask) >= 0.85


@pytest.mark.parametrize(
    ("shape", "body", "seed"),
    [
        ("jacket", (196, 110, 96), 42),
        ("bag", (196, 110, 96), 42),
        ("mug", (92, 34, 40), 43),
        ("labelled-bottle", (92, 34, 40), 43),
    ],
)
def test_a_product_in_the_woods_own_colours_is_cut_by_its_smooth_surface(shape, body, seed):
    """Terracotta and burgundy products on wood share the backdrop's colours but not its grain: the cut
    follows the product, it is not declared a scene for want of colour contrast."""
    photo = labelled_photo("wood", shape=shape, body_rgb=body, seed=seed, size=600)

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.85


def test_a_label_on_a_product_lost_in_the_wood_is_never_cut_as_the_product():
    """A brown box running out of the frame on brown wood: only its white label stands out. The label is
    part of something that is not the backdrop, so the photo is declared a scene, never cut to the label."""
    photo = labelled_photo("wood", shape="box", body_rgb=(122, 62, 40), seed=41, size=600)

    found = cut_out(_jpeg(photo.image))

    assert found.scene and found.reason


@pytest.mark.parametrize(
    ("colour", "shape"), [((232, 232, 232), "jacket"), ((240, 240, 240), "box"), ((240, 240, 240), "sneaker")]
)
def test_a_near_white_product_the_refits_swallow_is_refused_not_cut_as_its_label(colour, shape):
    """The engine's own sample of a pale product on a grey sweep was cut as its label and a sliver (an art
    director's pass): what first stood out from the border's surface, the product, was taken in by the
    backdrop's refits. Such a photo is a scene, with the reason, never a label passed off as the product."""
    from synthesis.samples import product_photo

    photo = product_photo(colour, shape=shape, backdrop="grey", size=800).image

    found = cut_out(_jpeg(photo))

    assert found.scene and "refits" in found.reason


@pytest.mark.parametrize(
    ("kind", "shape", "body", "seed"),
    [
        ("white", "bottle", (245, 245, 245), 100),
        ("white", "sneaker", (232, 232, 232), 102),
        ("white", "mug", (244, 240, 228), 203),
        ("light-grey", "jacket", (238, 236, 230), 101),
        ("light-grey", "bag", (232, 232, 232), 102),
        # Cut as the outline drawn as a line round a body left as backdrop (IoU 0.14-0.58):
        ("white", "mug", (228, 230, 234), 104),
        ("light-grey", "mug", (238, 236, 230), 101),
        ("white", "labelled-bottle", (245, 245, 245), 100),
        ("light-grey", "box", (238, 236, 230), 201),
        # Running out of the frame's lower edge, cut as its cap or collar (IoU 0.10-0.15): the body's own
        # outline crossing the border counted as the sweep's specks, as a fabric's weave does.
        ("light-grey", "bottle", (228, 230, 234), 204),
        ("white", "jacket", (232, 232, 232), 102),
        ("white", "labelled-bottle", (245, 245, 245), 200),
    ],
)
def test_a_pale_body_on_a_pale_sweep_is_cut_whole_or_refused(kind, shape, body, seed):
    """A near-white body on a white or light-grey sweep: its lit side passes for the backdrop and its
    shaded side for a shadow, and these were cut as their cap, cuffs or sole stripe (IoU 0.09-0.32).
    The body's outline, a faint but crisp step, runs on far from such a cut: the photo is a scene,
    with the reason, or cut whole; never a fragment passed off as the product."""
    photo = labelled_photo(kind, shape=shape, body_rgb=body, seed=seed)

    found = cut_out(_jpeg(photo.image))

    assert (found.scene and found.reason) or _iou(found.alpha, photo.mask) >= 0.85


def test_an_outline_cut_as_a_line_is_told_from_a_thin_part():
    """A pale body's edge on a pale sweep is a one-sided step: a cut holding it as a 1 px line round a body
    it left as backdrop draws the outline, not the product. A spoke or a strap as thin is darker than
    both of its sides, which match: a product's own thin part."""
    from synthesis.cutout import _OUTLINE_LINES, _outline_as_lines

    lab = np.zeros((120, 120, 3))
    lab[..., 0] = 93.0  # the sweep
    lab[20:100, 30:90, 0] = 88.0  # the body, 5 dE darker: its outline is a step
    solid = np.zeros((120, 120), bool)
    solid[20:26, 30:90] = True  # the rim, cut
    solid[26:100, 30] = solid[26:100, 89] = solid[99, 30:90] = True  # the body's sides and base as lines
    outline = np.zeros_like(solid)
    outline[20:100, [29, 30, 89, 90]] = outline[[99, 100], 30:90] = True

    assert _outline_as_lines(lab, solid, outline) > 10 * _OUTLINE_LINES

    spoked = np.zeros((120, 120, 3))
    spoked[..., 0] = 93.0
    spoke = np.zeros((120, 120), bool)
    spoke[10:20, 20:100] = spoke[100:110, 20:100] = True  # the tyre's top and bottom, thick
    spoke[20:100, [40, 60, 80]] = True  # three spokes between them, 1 px, with the sweep on both sides
    spoked[spoke, 0] = 60.0
    assert _outline_as_lines(spoked, spoke, spoke) < _OUTLINE_LINES  # only the square corners are steps


def test_a_tyre_the_frame_cuts_round_its_spokes_stays_with_them():
    """A pale wheel whose cream rim was taken for a hole is two parts: its tyre and its spokes with the hub,
    both running out of the lower edge. The tyre closes round the spokes where the frame does not cut it:
    the same product, kept (it was dropped as another object the frame cuts, IoU 0.24-0.26). Something
    else the frame cuts beside the product, closing round nothing, still goes."""
    from synthesis.cutout import _ring_mask, _without_others_cut_by_frame

    h = w = 200
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - 130, xx - 100)
    tyre = (r >= 80) & (r <= 92)
    hub = r <= 14
    spokes = hub | ((r < 65) & ((np.abs(yy - 130) <= 1) | (np.abs(xx - 100) <= 1)))
    ring = _ring_mask(h, w)

    lamp = np.zeros((h, w), bool)
    lamp[190:200, 180:190] = True  # a lamp on the same lower edge, beside the wheel

    kept = _without_others_cut_by_frame(tyre | spokes | lamp, ring)

    assert kept[tyre].all() and kept[spokes].all()
    assert not kept[lamp].any(), "the frame closes the wheel only where the wheel crosses it"

    beside = np.zeros((h, w), bool)
    beside[40:200, 5:30] = True  # a pole the lower edge cuts, beside a mug standing whole
    mug = np.zeros((h, w), bool)
    mug[80:170, 80:170] = True

    kept = _without_others_cut_by_frame(beside | mug, ring)

    assert kept[mug].all() and not kept[beside].any()


def test_a_strip_the_cut_missed_inside_a_faint_outline_along_it_is_closed():
    """A white label's end on a light-grey sweep: the cut stopped 10 px short of the label's edge, a faint
    crisp line whose top and bottom show no step against the sweep. The strip between is closed onto
    the cut; an outline running 30 px away is a part the cut cannot see, and nothing is closed."""
    from synthesis.cutout import _closed_over_outline

    solid = np.zeros((200, 200), bool)
    solid[40:180, 80:140] = True
    solid[90:140, 80:90] = False  # the label's strip the backdrop's fit took
    outline = np.zeros_like(solid)
    outline[90:140, 80] = True  # the label's edge, flush with the bottle's: 10 px from the cut

    closed = _closed_over_outline(solid, outline)

    assert closed is not None
    assert closed[90:140, 80:90].all(), "the strip between the outline and the cut is closed"
    assert not closed[:, :80].any(), "nothing beyond the outline is added"
    assert (closed[:, 90:] == solid[:, 90:]).all()

    far = np.zeros_like(solid)
    far[90:140, 60] = True  # 30 px from the cut
    assert _closed_over_outline(solid, far) is None


def test_a_white_label_on_a_white_backdrop_stays_product():
    """The label's colour is within the backdrop's noise, but the bottle's outline runs on along it unbroken:
    the label is sealed off from the open backdrop and stays product."""
    photo = labelled_photo("white", shape="labelled-bottle", body_rgb=(30, 90, 50), seed=54, size=600)
    rgb = np.asarray(photo.image).astype(int)
    label = (photo.mask > 0.99) & (np.abs(rgb - [242, 240, 232]).sum(axis=-1) < 40)
    assert label.sum() > 5000, "the sample has a label"

    found = cut_out(_jpeg(photo.image))

    assert (found.alpha[label] > 0.5).mean() >= 0.85


@pytest.mark.parametrize("seed", [53, 55])
@pytest.mark.parametrize("body", [(30, 90, 50), (28, 40, 92)])
def test_a_white_label_across_a_bottle_is_not_taken_for_the_backdrop(seed, body):
    """A white label wrapped round a bottle on a white sweep meets the backdrop with no edge at its
    ends, and only the body's shaded sides, a pixel or two, run past it: by colour it is backdrop,
    a band cutting the bottle in two. The parts above and below it line up, so it is bridged and
    kept (these photos lost 98-100% of their label before)."""
    photo = labelled_photo("white", shape="labelled-bottle", body_rgb=body, seed=seed, size=600)
    rgb = np.asarray(photo.image).astype(int)
    label = (photo.mask > 0.99) & (np.abs(rgb - [242, 240, 232]).sum(axis=-1) < 40)
    assert label.sum() > 10000, "the sample has a label"

    found = cut_out(_jpeg(photo.image))

    assert (found.alpha[label] > 0.5).mean() >= 0.9
    assert _iou(found.alpha, photo.mask) >= 0.95


@pytest.mark.parametrize("body", [(15, 78, 48), (20, 70, 45), (12, 60, 40)])
def test_a_dark_product_in_the_backdrops_hue_is_not_its_own_shadow(body):
    """A dark green bag on a green sweep has the backdrop's chromaticity, darker, like a shadow, and
    meets its contact shadow with no edge. Its own sharp outline against the open backdrop counts
    in the shadow test, so it is not left behind as a shadow (it was: IoU 0.16-0.24)."""
    photo = labelled_photo("plain-colour", shape="bag", body_rgb=body, seed=1860098430, size=800)

    found = cut_out(_jpeg(photo.image))

    assert _iou(found.alpha, photo.mask) >= 0.85


@pytest.mark.parametrize(("shape", "seed"), [("bag", 60), ("bag", 61), ("wheel", 60)])
def test_a_glow_centred_behind_the_product_is_backdrop(shape, seed):
    """A radial glow the product half hides: the border alone cannot show it, so the backdrop is refitted
    until the open backdrop stops growing, and the glow around the product is not cut out with it."""
    photo = labelled_photo("gradient", shape=shape, body_rgb=(40, 60, 150), seed=seed, size=600)

    found = cut_out(_jpeg(photo.image))

    assert _iou(found.alpha, photo.mask) >= 0.9


@pytest.mark.parametrize(
    ("shape", "body", "seed"), [("bag", (109, 108, 187), 572397562), ("box", (156, 49, 177), 539016777)]
)
def test_a_product_covering_much_of_an_edge_does_not_bend_a_graded_backdrop(shape, body, seed):
    """A violet bag covering most of the lower edge of an olive-to-pink radial gradient: where it
    crosses the frame its hue is unlike the rest of that side, so the backdrop fit never takes it
    in (a cubic bent to it, and half the bag went with the backdrop while the glow became product)."""
    photo = labelled_photo("gradient", shape=shape, body_rgb=body, seed=seed, size=800)
    assert (photo.mask[-2:] > 0.5).any(), "the sample runs out of the frame"

    found = cut_out(_jpeg(photo.image))

    assert _iou(found.alpha, photo.mask) >= 0.87  # 0.61 and 0.86 before


def test_a_glow_in_a_hue_of_its_own_reaching_the_frame_stays_backdrop():
    """A purple glow fading into a lime gradient at the top right corner: it differs from the rest
    of its sides in hue, but fades in, so it is backdrop, not a product crossing the frame."""
    photo = labelled_photo("gradient", shape="jacket", body_rgb=(80, 14, 99), seed=1768975004, size=800)

    found = cut_out(_jpeg(photo.image))

    assert _iou(found.alpha, photo.mask) >= 0.97


def test_corners_a_radial_gradient_outruns_are_not_cut_with_the_product():
    """An amber bottle before a green glow on violet: the fitted surface misses the two lower
    corners, which stood out as product, cut by the frame beside a bottle that is not."""
    photo = labelled_photo("gradient", shape="labelled-bottle", body_rgb=(172, 90, 35), seed=1948315548, size=800)
    assert not (photo.mask[[0, -1]] > 0.5).any() and not (photo.mask[:, [0, -1]] > 0.5).any()

    found = cut_out(_jpeg(photo.image))

    assert (found.alpha[-100:, :100] >= 0.5).mean() < 0.01 and (found.alpha[-100:, -100:] >= 0.5).mean() < 0.01
    assert _iou(found.alpha, photo.mask) >= 0.9  # 0.73 with the corners


@pytest.mark.parametrize(
    ("shape", "body", "seed", "most_outside", "least_iou"),
    [
        # 0.27 of the bottle's area beside it, IoU 0.76; 0.958 with its edge measured against the glowless surface
        ("labelled-bottle", (17, 34, 89), 1993987241, 0.02, 0.97),
        ("wheel", (164, 29, 26), 1130301595, 0.02, 0.8),  # 0.09; 0.77
        ("mug", (167, 117, 50), 699611955, 0.005, 0.97),  # 0.016; 0.966
    ],
)
def test_the_glow_of_a_radial_gradient_beside_the_product_is_not_cut_with_it(
    shape, body, seed, most_outside, least_iou
):
    """A cyan glow centred just beside a navy bottle's shoulder, a wheel or a mug: the fitted surface,
    seeing the glow only round the product, fell short of its peak, and the rise joined the product as
    a blob beside it. The backdrop's own smooth field, reached from the open backdrop without crossing
    an outline, is left behind; what stays beyond the product's outline (6 px out) is a sliver. The
    alpha's edge is then measured against the backdrop with its glow, so the edge keeps no cyan rim."""
    photo = labelled_photo("gradient", shape=shape, body_rgb=body, seed=seed, size=800)
    truth = photo.mask > 0.5
    outside = ~ndimage.binary_dilation(ndimage.binary_fill_holes(truth), iterations=6)

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert ((found.alpha > 0.5) & outside).sum() <= most_outside * truth.sum()
    assert _iou(found.alpha, photo.mask) >= least_iou


@pytest.mark.parametrize("kind", ["white", "plain-colour", "dark"])
def test_holes_stay_transparent(kind):
    """A mug's handle and the gaps between a wheel's spokes show the backdrop: they stay transparent."""
    for shape, seed in (("mug", 21), ("wheel", 22)):
        photo = labelled_photo(kind, shape=shape, body_rgb=(190, 40, 50), seed=seed, size=600)
        found = cut_out(_jpeg(photo.image))

        solid = photo.mask > 0.5
        from scipy import ndimage

        holes = ndimage.binary_fill_holes(solid) & ~ndimage.binary_dilation(solid, iterations=3)
        assert holes.sum() > 200, "the sample has holes"
        assert (found.alpha[holes] < 0.5).mean() >= 0.9, (shape, kind)


@pytest.mark.parametrize("kind", ["white", "light-grey", "plain-colour", "gradient"])
def test_shadows_are_left_behind(kind):
    """Contact and cast shadows darken the backdrop but are not product (on light grey the bag's
    contact shadow is a thin band, about 90% darker than the backdrop, which used to be kept)."""
    photo = labelled_photo(kind, shape="bag", body_rgb=(46, 125, 90), seed=31, size=600)
    plain = labelled_photo(kind, shape="bag", body_rgb=(46, 125, 90), seed=31, size=600, shadows=False)
    difference = np.abs(np.asarray(photo.image, float) - np.asarray(plain.image, float)).sum(axis=2)
    shadow = (difference > 25) & (photo.mask < 0.05)
    assert shadow.sum() > 500, "the sample has a visible shadow"

    found = cut_out(_jpeg(photo.image))

    assert (found.alpha[shadow] < 0.5).mean() >= 0.9


def _product_on_a_floor(
    backdrop: tuple[int, int, int], base: tuple[int, int, int]
) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """A red box standing on a 30 px base in `base`'s colour, with a dark contact shadow under it.
    Returns the photo, the product's mask and the shadow's mask."""
    from PIL import ImageDraw, ImageFilter

    size = 600
    yy, xx = np.mgrid[0:size, 0:size]
    # The contact shadow: an ellipse under the base, darkest at the floor line (90% darker), fading out.
    falloff = np.clip(1 - np.hypot((xx - 300) / 150.0, (yy - 431) / 14.0), 0, 1) ** 0.7
    shade = Image.fromarray((falloff * 0.9 * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))
    shade_k = np.asarray(shade, np.float32) / 255
    floor = np.asarray(Image.new("RGB", (size, size), backdrop), np.float32) * (1 - shade_k[..., None])
    photo = Image.fromarray(np.clip(floor, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(photo)
    d.rectangle((200, 200, 399, 399), fill=(190, 40, 50))
    d.rectangle((200, 400, 399, 429), fill=base)
    mask = np.zeros((size, size), np.float32)
    mask[200:430, 200:400] = 1.0
    shadow = (shade_k > 0.3) & (mask == 0)
    return photo, mask, shadow


@pytest.mark.parametrize("backdrop", [(236, 236, 236), (120, 60, 170)])
def test_a_dark_contact_shadow_is_left_behind_and_a_black_base_is_kept(backdrop):
    """Where a product meets the floor its shadow can be nearly black: it is not product. A black
    base as dark as the shadow's core, flat and at the bottom like it, is product. (The core's
    darkest line, where base and floor meet, cannot be told from the base: up to 20% is kept.)"""
    photo, mask, shadow = _product_on_a_floor(backdrop, base=(20, 20, 22))

    found = cut_out(_jpeg(photo))

    assert (found.alpha[shadow] < 0.5).mean() >= 0.75
    base = np.zeros_like(mask, bool)
    base[402:428, 202:398] = True
    assert (found.alpha[base] >= 0.5).mean() >= 0.95
    assert _iou(found.alpha, mask) >= 0.95


def test_a_pale_sole_on_a_white_sweep_is_product():
    """A sneaker's off-white sole differs from a white sweep by under 2 dE; a gap of a few pixels in
    its faint outline, where its corner meets the contact shadow, must not let the backdrop in.
    (10% of the sole was kept before; its two ends, where the outline fades most, are still lost.)"""
    photo = labelled_photo("white", shape="sneaker", body_rgb=(39, 120, 32), seed=168265065, size=800)
    found = cut_out(_jpeg(photo.image))

    rgb = np.asarray(photo.image, np.float32)
    sole = (photo.mask > 0.99) & (rgb.min(axis=2) > 200)  # the product's pale pixels
    assert sole.sum() > 3000, "the sample has a pale sole"
    assert (found.alpha[sole] >= 0.5).mean() >= 0.5
    assert _iou(found.alpha, photo.mask) >= 0.85


def test_a_pale_sole_whose_corner_fades_into_its_shadow_on_light_grey_is_product():
    """A purple sneaker's near-white sole on a light-grey sweep: its faint outline breaks for 5-8 working
    pixels where the sole's lower corner fades into the contact shadow, wider than the gaps the sole
    flood was closed for, and the backdrop flooded in (a quarter of the sole kept, IoU 0.78; its two
    ends, shaded darker, are still partly lost)."""
    photo = labelled_photo("light-grey", shape="sneaker", body_rgb=(90, 76, 145), seed=561680890, size=800)
    found = cut_out(_jpeg(photo.image))

    rgb = np.asarray(photo.image, np.float32)
    sole = (photo.mask > 0.99) & (np.abs(rgb - 240).max(axis=2) < 30)  # the sole's off-white
    assert sole.sum() > 10000, "the sample has a pale sole"
    assert (found.alpha[sole] >= 0.5).mean() >= 0.8
    assert _iou(found.alpha, photo.mask) >= 0.9


def test_a_product_running_out_of_the_frame_on_wood_is_cut():
    """A navy box cut by the frame's lower edge, on walnut: where it crosses the border, the border
    is product, not backdrop (it used to seed GrabCut's backdrop model with navy and lose the face)."""
    photo = labelled_photo("wood", shape="box", body_rgb=(28, 38, 89), seed=1231885052, size=800)
    assert photo.mask[-4:].any(), "the sample runs out of the frame"

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.9


@pytest.mark.parametrize(
    ("shape", "body", "seed"),
    [("mug", (99, 162, 200), 973086653), ("motorcycle", (173, 167, 47), 1624544601)],
)
def test_a_products_rim_where_it_crosses_the_frame_is_not_forced_into_the_backdrop(shape, body, seed):
    """A blue mug cut by the left edge of walnut, its rim's dark inside binning with dark grain; an
    olive motorcycle cut by the top edge. Product pixels left in the border's backdrop made GrabCut
    learn the product's colours as backdrop: the mug lost its left third (0.61), the motorcycle
    became a scene."""
    photo = labelled_photo("wood", shape=shape, body_rgb=body, seed=seed, size=800)
    assert any(edge.any() for edge in (photo.mask[:4], photo.mask[-4:], photo.mask[:, :4], photo.mask[:, -4:]))

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.85


@pytest.mark.parametrize(
    ("shape", "body", "seed", "sides"),
    [("box", (29, 213, 52), 1588924659, "left"), ("motorcycle", (45, 8, 134), 1579454975, "right")],
)
def test_a_product_running_out_of_one_side_on_wood_is_cut_not_declared_a_scene(shape, body, seed, sides):
    """A green box covering two thirds of the left edge, a motorcycle cut by the right edge: the
    border's sides differ only where the product crosses them (they used to make the photo a scene)."""
    photo = labelled_photo("wood", shape=shape, body_rgb=body, seed=seed, size=800)
    edge = photo.mask[:, :4] if sides == "left" else photo.mask[:, -4:]
    assert edge.any(), "the sample runs out of the frame"

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.9


def test_a_product_in_the_woods_colours_is_found_by_its_smooth_surface():
    """A brown jacket on walnut: none of its colours is rare on the border, but its surface is smooth
    where the grain is not (it used to be declared a scene: "nothing stands apart")."""
    photo = labelled_photo("wood", shape="jacket", body_rgb=(95, 74, 41), seed=412292504, size=800)

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.83


def test_a_product_before_a_view_whose_border_is_nearly_smooth_stays_a_scene():
    """A jacket before a temple that fills the right side of a hazy view: leaving the temple out of
    the border would make the rest look like a studio sweep, and the temple would be cut with the jacket."""
    photo = labelled_photo("scene-photo", shape="jacket", body_rgb=(98, 54, 76), seed=1709068303, size=800)

    found = cut_out(_jpeg(photo.image))

    assert found.scene or _iou(found.alpha, photo.mask) >= 0.85


def test_a_product_before_a_flower_cut_by_the_frame_stays_a_scene():
    """A sneaker reaching the left edge in front of a dahlia (a real photograph): a product running
    out of the frame must stand clear of what is around it, or the flower is cut along with it."""
    photo = labelled_photo("scene-photo", shape="sneaker", body_rgb=(196, 84, 185), seed=1456968043, size=800)
    assert photo.mask[:, :32].any(), "the sample reaches into the border"

    found = cut_out(_jpeg(photo.image))

    assert found.scene or _iou(found.alpha, photo.mask) >= 0.85


def test_a_second_subject_cut_by_the_frame_is_not_part_of_the_product():
    """scikit-learn's dahlia: a second flower, cut by the lower edge, is not the hero."""
    found = cut_out(real_photo("flower"))

    assert not found.scene
    assert (found.alpha[-40:] >= 0.5).mean() < 0.01
    assert (found.alpha[150:250, 250:350] >= 0.5).mean() > 0.95  # the hero's heart


def test_an_image_with_alpha_keeps_it_exactly():
    rgba = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    rgba.paste((200, 30, 30, 255), (40, 40, 160, 160))
    rgba.putpixel((100, 100), (200, 30, 30, 128))  # a soft pixel stays soft

    found = cut_out(rgba)

    assert found.backdrop == "transparent"
    np.testing.assert_array_equal(np.round(found.alpha * 255).astype(np.uint8), np.asarray(rgba.getchannel("A")))


@pytest.mark.parametrize("name", ["coffee", "motorcycle", "china"])
def test_real_scenes_are_declared_with_a_reason_never_guessed(name):
    """A cup on a table, a motorcycle in a garage, a landscape: no clean separation, so a scene."""
    found = cut_out(real_photo(name))

    assert found.scene
    assert len(found.reason) > 20


def test_many_small_subjects_with_no_hero_are_a_scene_not_a_product():
    """A real photograph of a deep-sky field (scikit-image's sample, a dark, smooth backdrop): hundreds of
    galaxies, none the product. It is declared a scene with the reason, never cut to a cloud of specks."""
    import skimage

    photo = Image.open(Path(skimage.__file__).parent / "data" / "hubble_deep_field.jpg").convert("RGB")

    found = cut_out(photo)

    assert found.scene
    assert "Several separate subjects" in found.reason


@pytest.mark.parametrize(("body", "seed"), [((132, 98, 21), 1884381089), ((172, 84, 23), 198453541)])
def test_a_bottle_in_the_woods_own_browns_is_cut_along_its_outline(body, seed):
    """A brown bottle on walnut: inside and outside its outline the colours overlap, so they stand
    apart by less than their spread, yet GrabCut's outline runs along an edge all the way round.
    It is cut (it was declared a scene: "the outline had to be guessed")."""
    photo = labelled_photo("wood", shape="bottle", body_rgb=body, seed=seed, size=800)

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.9


def test_a_mauve_bottle_sharing_the_woods_tones_is_cut_when_its_outline_follows_an_edge_all_round():
    """A mauve bottle on walnut: its colours and textures overlap the wood's (0.60), which made the photo
    a scene, though GrabCut's outline agreed with the colour evidence and ran along an edge all round."""
    photo = labelled_photo("wood", shape="bottle", body_rgb=(140, 90, 86), seed=269394457, size=800)

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.95


@pytest.mark.parametrize(
    ("kind", "body", "seed"), [("fabric", (41, 37, 136), 1163228107), ("wood", (146, 181, 43), 1198751670)]
)
def test_a_wheel_whose_colours_are_the_backdrops_is_never_cut_along_a_guessed_outline(kind, body, seed):
    """Wheels on linen and walnut whose GrabCut outline shares the backdrop's colours and either leaves
    the edges (0.76 of the way round) or the colour evidence (agreeing 47%): cut, they were a sliver
    of wheel or a slab of backdrop (IoU 0.02 and 0.38). They stay scenes, or are cut well."""
    photo = labelled_photo(kind, shape="wheel", body_rgb=body, seed=seed, size=800)

    found = cut_out(_jpeg(photo.image))

    assert found.scene or _iou(found.alpha, photo.mask) >= 0.85, found.reason


@pytest.mark.parametrize(
    ("body", "seed"),
    [
        ((40, 149, 141), 1222933734),
        # At GrabCut's 200 px these spokes blend with the wood between them, so their colour is no
        # longer rare; they are looked for again at 400 px (IoU 0.81-0.86 -> 0.88-0.90).
        ((118, 40, 90), 1056223304),
        ((137, 165, 36), 2140428147),
        ((78, 12, 148), 202037521),
    ],
)
def test_a_wheel_on_wood_keeps_its_spokes_and_hub_and_its_gaps_stay_open(body, seed):
    """A wheel on walnut: the spokes' grey is rare on the wood, but GrabCut's smoothing drops lines a
    working pixel wide, and the hub with them, which left a bare rim (IoU 0.74)."""
    photo = labelled_photo("wood", shape="wheel", body_rgb=body, seed=seed, size=800)
    truth = photo.mask > 0.5
    filled = ndimage.binary_fill_holes(truth)
    inner = ndimage.binary_erosion(filled, iterations=40)  # clear of the rim: spokes, hub and gaps

    found = cut_out(_jpeg(photo.image))

    cut = found.alpha > 0.5
    assert cut[truth & inner].mean() >= 0.85, "the spokes and hub are part of the product"
    assert cut[filled & ~truth].mean() <= 0.1, "the gaps between the spokes show the wood"
    assert _iou(found.alpha, photo.mask) >= 0.85


@pytest.mark.parametrize(("body", "seed"), [((63, 154, 185), 455557447), ((57, 7, 124), 870828742)])
def test_a_wheel_whose_shadow_darkens_one_side_of_the_wood_keeps_its_dark_tyre(body, seed):
    """A wheel filling most of a wood photo, its shadow darkening the bottom or left of the border: the
    sides differed in lightness alone and made the photo a scene; cut, the black tyre went with the
    wood's dark grain and shadow (IoU 0.57-0.61), leaving a bare rim no brand would run. The tyre is
    smooth all round the product's outline, the grain beside a product only in stretches."""
    photo = labelled_photo("wood", shape="wheel", body_rgb=body, seed=seed, size=800)
    truth = photo.mask > 0.5
    tyre = truth & ~ndimage.binary_erosion(ndimage.binary_fill_holes(truth), iterations=20)

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert (found.alpha > 0.5)[tyre].mean() >= 0.9, "the tyre is part of the wheel"
    assert _iou(found.alpha, photo.mask) >= 0.88


@pytest.mark.parametrize(
    ("kind", "body", "seed"),
    [
        ("plain-colour", (118, 45, 32), 1948207565),
        ("gradient", (68, 224, 75), 470263146),
        ("white", (66, 129, 207), 758651974),
    ],
)
def test_the_backdrop_between_a_motorcycles_wheels_above_its_shadow_is_not_kept(kind, body, seed):
    """Between the wheels, under the engine, the backdrop is closed off by the wheels, the engine and
    the upper edge of the shadow the bike casts. Sealed off like a pale label, it was kept: a slab of
    backdrop (10-12% of the bike's area) hung under every motorcycle in an ad. It is the backdrop's
    own colour, so it goes; what the bike covers stays."""
    photo = labelled_photo(kind, shape="motorcycle", body_rgb=body, seed=seed, size=800)
    truth = photo.mask > 0.5

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    kept = found.alpha > 0.5
    assert (kept & ~truth).sum() <= 0.06 * truth.sum(), "backdrop kept beside the bike"
    assert _iou(found.alpha, photo.mask) >= 0.94


@pytest.mark.parametrize(
    ("kind", "shape", "body", "seed", "most_kept", "least_iou"),
    [
        ("white", "mug", (200, 74, 214), 1100332639, 0.2, 0.93),
        ("plain-colour", "wheel", (33, 150, 194), 1887498315, 0.2, 0.84),
        ("gradient", "motorcycle", (70, 210, 227), 1446000215, 0.6, 0.90),
        ("white", "motorcycle", (52, 205, 220), 76622815, 0.6, 0.84),
    ],
)
def test_the_shadow_seen_through_a_handle_or_between_spokes_is_not_kept(kind, shape, body, seed, most_kept, least_iou):
    """A mug's handle and a motorcycle's wheels frame the shadow the product casts behind them. Walled in
    by the product, it never met the open backdrop, so it was never judged a shadow and was kept: the
    handle and the wheels came out filled solid (all of their holes kept, IoU 0.80-0.88). The holes
    must show whatever the ad puts behind the product; a motorcycle's holes include the band under its
    engine above the ground shadow, which is still kept (a limit)."""
    photo = labelled_photo(kind, shape=shape, body_rgb=body, seed=seed, size=800)
    truth = photo.mask > 0.5
    holes = ndimage.binary_fill_holes(truth) & ~truth

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert (found.alpha > 0.5)[holes].mean() <= most_kept, "the product's holes are open"
    assert _iou(found.alpha, photo.mask) >= least_iou


@pytest.mark.parametrize(
    ("body", "seed"),
    [((92, 89, 22), 970934606), ((73, 147, 24), 331702645), ((171, 122, 21), 1916210714)],
)
def test_a_white_sole_on_a_white_sweep_is_kept_above_its_contact_shadow(body, seed):
    """A sneaker's white sole, a few dE darker than the white sweep, in two flat bands either side of
    its stripe: each band joined the contact shadow under the sole into one soft-edged region, and was
    dropped with it (IoU 0.79-0.87). A flat band over a sharp step down, capped by a sharp edge, with
    no product under it past the step, is the product's pale base."""
    photo = labelled_photo("white", shape="sneaker", body_rgb=body, seed=seed, size=800)
    sole = photo.mask > 0.5
    lowest = np.nonzero(sole.any(axis=1))[0].max()
    sole[: lowest - 40] = False  # the sole's two bands, under the upper

    found = cut_out(_jpeg(photo.image))

    assert (found.alpha[sole] > 0.5).mean() >= 0.83, "the sole is kept"  # 0.33-0.72 dropped with the shadow
    assert _iou(found.alpha, photo.mask) >= 0.92


def test_the_shadow_between_a_wheels_spokes_is_not_taken_for_a_pale_base():
    """The guard on the rule above: the shadow seen between a wheel's spokes also lies in flat wedges
    over a spoke's sharp step down, capped by another spoke; but spokes and the rim lie under each
    wedge, so none is the bottom of the product (without the guard, IoU 0.89 -> 0.84)."""
    photo = labelled_photo("light-grey", shape="wheel", body_rgb=(82, 206, 144), seed=1239479252, size=800)

    found = cut_out(_jpeg(photo.image))

    assert _iou(found.alpha, photo.mask) >= 0.88


@pytest.mark.parametrize(
    ("kind", "shape", "body", "seed", "bound"),
    [
        ("plain-colour", "wheel", (31, 16, 149), 1725216208, 0.87),  # 0.749 with them sealed in, 0.896 now
        ("fabric", "wheel", (136, 25, 136), 658011708, 0.74),  # 0.679, 0.763 now
        ("fabric", "motorcycle", (14, 158, 102), 663135450, 0.93),  # 0.889, 0.954 now
        ("light-grey", "motorcycle", (49, 158, 172), 651924317, 0.91),  # 0.888, 0.926 now
        ("gradient", "motorcycle", (145, 52, 20), 874601551, 0.96),  # 0.924, 0.977 now
    ],
)
def test_the_backdrop_walled_in_by_spokes_or_under_an_engine_is_not_sealed_into_the_product(
    kind, shape, body, seed, bound
):
    """Between a wheel's spokes, walled in by spokes, rim and the edge of the shadow inside the wheel
    (a wheel the frame cuts, so the gaps are not enclosed holes), and under a motorcycle's engine,
    closed off by its wheels and its shadow, the backdrop is its own colour, yet every edge around it
    sealed it off from the open backdrop, and it was kept as product: wedges of backdrop between the
    spokes, a slab under the engine. Inside or under the product, a region sealed off by edges must
    differ from the backdrop by more than the border's own noise to be a part of it (a label does)."""
    photo = labelled_photo(kind, shape=shape, body_rgb=body, seed=seed, size=800)

    found = cut_out(_jpeg(photo.image))

    assert _iou(found.alpha, photo.mask) >= bound


@pytest.mark.parametrize(
    ("kind", "body", "seed"),
    [
        ("white", (183, 71, 76), 1583018049),
        ("white", (25, 184, 158), 558895225),
        ("light-grey", (8, 121, 53), 899430114),
    ],
)
def test_a_grey_engine_over_the_shadow_of_a_motorcycle_on_a_pale_sweep_is_kept(kind, body, seed):
    """A grey engine and exhaust on a white or light-grey sweep step from the backdrop by 10-15 dE
    within a pixel: under the absolute gradient a sharp outline needs, so they passed for the soft rim
    of the shadow under the bike, joined it, and the whole engine block was dropped as shadow (IoU
    0.77-0.79: a motorcycle with a hole where its engine is). A crisp step is sharp at any contrast.
    The pale exhaust pipe is still lost on two of the three (a limit), and on light grey more of it
    since a white sole's pale base is told from its shadow (IoU 0.878 -> 0.863)."""
    photo = labelled_photo(kind, shape="motorcycle", body_rgb=body, seed=seed, size=800)
    truth = photo.mask > 0.5

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert (found.alpha > 0.5)[truth].mean() >= 0.93, "the engine is part of the bike"
    assert _iou(found.alpha, photo.mask) >= 0.85


@pytest.mark.parametrize("rim", [(190, 40, 50), (40, 80, 160)])
def test_the_pale_inside_of_a_mug_seen_from_above_stays_part_of_the_mug(rim):
    """A coloured mug seen from above shows its white inside, shaded by its wall, walled in by its rim:
    in colour, a light shadow of a white backdrop, like the shadow seen through a handle. But lit
    backdrop lies all round it, where a shadow seen through a gap continues the one cast around the
    product; cut as one, the mug lost its inside (alpha 0.09 there)."""
    size = 800
    shadow = Image.new("L", (size, size), 0)
    ImageDraw.Draw(shadow).rounded_rectangle((300, 300, 560, 640), 30, fill=90)
    shade = np.asarray(shadow.filter(ImageFilter.GaussianBlur(18)), np.float32)[..., None] / 255
    photo = Image.fromarray(
        (np.full((size, size, 3), (244, 244, 242), np.float32) * (1 - 0.35 * shade)).astype(np.uint8)
    )
    draw = ImageDraw.Draw(photo)
    draw.rectangle((260, 300, 520, 600), fill=rim)
    draw.ellipse((260, 540, 520, 660), fill=rim)
    draw.ellipse((260, 240, 520, 360), fill=rim)
    inside = Image.new("L", (size, size), 0)
    ImageDraw.Draw(inside).ellipse((275, 250, 505, 350), fill=255)
    inside = np.asarray(inside) > 0
    pixels = np.asarray(photo).copy()
    pixels[inside] = np.linspace(200, 236, size)[:, None].repeat(size, 1)[inside][:, None].astype(np.uint8)

    found = cut_out(_jpeg(Image.fromarray(pixels)))

    assert not found.scene, found.reason
    assert found.alpha[inside].mean() >= 0.9, "the mug's inside is part of the mug"


@pytest.mark.parametrize(
    ("kind", "shape", "body", "seed"),
    [("fabric", "jacket", (145, 139, 19), 1046169838), ("wood", "box", (105, 88, 44), 1841519128)],
)
def test_a_products_own_shadow_beside_it_does_not_make_it_part_of_something_larger(kind, shape, body, seed):
    """An olive jacket on grey linen and an olive box on light oak throw soft shadows that are rare on
    the border: counted as something else around the product, they made both photos scenes."""
    photo = labelled_photo(kind, shape=shape, body_rgb=body, seed=seed, size=800)

    found = cut_out(photo.image)  # as drawn: JPEG noise happens to break these shadows up

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.85


def test_a_rocket_between_its_towers_at_dusk_is_a_scene_not_a_guessed_cut():
    """A real photograph (scikit-image's sample): GrabCut settles on half the rocket and three lamps,
    an outline that runs along edges but agrees with the colour evidence only 36%: a guess, so the
    photo is a scene (a cut was accepted on its edges alone)."""
    found = cut_out(real_photo("rocket"))

    assert found.scene, "a guessed outline was cut"


@pytest.mark.parametrize(
    ("crop", "shape", "body", "seed"),
    [
        ((3, 1, 405), "box", (216, 81, 29), 1164893670),
        ((243, 47, 327), "sneaker", (181, 74, 131), 758610754),
    ],
)
def test_a_product_in_front_of_blurred_towers_is_cut_without_them(crop, shape, body, seed):
    """A product in focus in front of scikit-image's rocket at dusk, out of focus behind it: the
    sky is smooth enough for the studio path, and the towers and the rocket, running from behind
    the product out of the frame, were cut with it as stalks (IoU 0.77 and 0.81). They are dropped for
    their soft outline; the product, clear of the frame, is cut alone."""
    from PIL import ImageFilter

    from synthesis.photo_samples import product_on_backdrop

    x0, y0, side = crop
    backdrop = real_photo("rocket").crop((x0, y0, x0 + side, y0 + side)).resize((800, 800), Image.BICUBIC)
    backdrop = backdrop.filter(ImageFilter.GaussianBlur(3))
    image, mask = product_on_backdrop(backdrop, shape=shape, body_rgb=body, seed=seed)

    found = cut_out(_jpeg(image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, mask) >= 0.9


@pytest.mark.parametrize(
    ("crop", "shape", "body", "seed"),
    [
        ((105, 80, 311), "mug", (85, 210, 212), 2059736349),
        ((99, 76, 320), "mug", (185, 127, 46), 1146392876),
    ],
)
def test_a_tower_ending_in_a_blurred_lamp_is_cut_away_from_the_mug_before_it(crop, shape, body, seed):
    """A mug before a tower at dusk, both running into the frame's lower edge: the lamp's flare at the
    tower's foot, out of focus, is as thick as the mug's body, and the flare standing on the frame made
    the whole subject look cropped by it, so the tower was kept with the mug (IoU 0.52 and 0.50). The
    product's body is the largest of its thick parts; the tower and its flare, soft, go."""
    from PIL import ImageFilter

    from synthesis.photo_samples import product_on_backdrop

    x0, y0, side = crop
    backdrop = real_photo("rocket").crop((x0, y0, x0 + side, y0 + side)).resize((800, 800), Image.BICUBIC)
    image, mask = product_on_backdrop(
        backdrop.filter(ImageFilter.GaussianBlur(3)), shape=shape, body_rgb=body, seed=seed
    )
    below_product = int(np.nonzero((mask > 0.5).any(axis=1))[0].max()) + 40

    found = cut_out(_jpeg(image))

    assert not found.scene, found.reason
    assert (found.alpha[below_product:] > 0.5).sum() <= 0.01 * (mask > 0.5).sum(), "the tower is not the product"
    assert _iou(found.alpha, mask) >= 0.8


@pytest.mark.parametrize(
    ("crop", "shape", "body", "seed", "most_outside"),
    [
        ((98, 37, 288), "jacket", (48, 168, 202), 1199728790, 0.3),  # 0.48 of the jacket's area beside it
        ((159, 14, 335), "motorcycle", (150, 104, 33), 662980298, 0.15),  # 0.18
        ((243, 47, 327), "sneaker", (181, 74, 131), 758610754, 0.03),  # 0.048
    ],
)
def test_a_blurred_rocket_is_cut_away_on_both_sides_of_the_product_before_it(crop, shape, body, seed, most_outside):
    """A rocket out of focus behind a jacket's sleeve, a motorcycle or a sneaker: its lower part, running
    out of the frame, was dropped as a stalk, but its nose above the product, clear of the frame, was
    kept. A soft part as narrow as a dropped stalk and in line with it, across the side of the frame
    the stalk runs out of, is the same stalk."""
    from PIL import ImageFilter

    from synthesis.photo_samples import product_on_backdrop

    x0, y0, side = crop
    backdrop = real_photo("rocket").crop((x0, y0, x0 + side, y0 + side)).resize((800, 800), Image.BICUBIC)
    image, mask = product_on_backdrop(
        backdrop.filter(ImageFilter.GaussianBlur(3)), shape=shape, body_rgb=body, seed=seed
    )
    truth = mask > 0.5
    outside = ~ndimage.binary_dilation(ndimage.binary_fill_holes(truth), iterations=6)

    found = cut_out(_jpeg(image))

    assert not found.scene, found.reason
    assert ((found.alpha > 0.5) & outside).sum() <= most_outside * truth.sum()


@pytest.mark.parametrize(
    ("crop", "shape", "body", "seed"),
    [((10, 30, 392), "wheel", (197, 73, 47), 528324587), ((12, 35, 391), "jacket", (64, 137, 148), 227644506)],
)
def test_a_product_beside_a_larger_subject_the_frame_cuts_off_is_cut_without_it(crop, shape, body, seed):
    """A wheel and a jacket before scikit-image's rocket at dusk, out of focus: the rocket, standing on
    the lower edge of the frame, came out larger than the product, and as the largest part it was kept
    as the hero beside it (IoU 0.38 and 0.37). A part half the largest's size or more standing whole in
    the frame is the product; what runs out of the frame beside it goes."""
    from PIL import ImageFilter

    from synthesis.photo_samples import product_on_backdrop

    x0, y0, side = crop
    backdrop = real_photo("rocket").crop((x0, y0, x0 + side, y0 + side)).resize((800, 800), Image.BICUBIC)
    image, mask = product_on_backdrop(
        backdrop.filter(ImageFilter.GaussianBlur(3)), shape=shape, body_rgb=body, seed=seed
    )
    truth = mask > 0.5
    right_of_product = int(np.nonzero(truth.any(axis=0))[0].max()) + 20

    found = cut_out(_jpeg(image))

    assert not found.scene, found.reason
    assert (found.alpha[:, right_of_product:] > 0.5).sum() <= 0.01 * truth.sum(), "the rocket is not the product"
    assert _iou(found.alpha, mask) >= 0.75


def _on_a_blurred_sample(name: str, blur: float, crop: tuple[int, int, int], shape: str, body, seed: int):
    """A product photographed before a crop of one of scikit-image's sample photos, out of focus."""
    import skimage

    from synthesis.photo_samples import product_on_backdrop

    x0, y0, side = crop
    photo = Image.open(Path(skimage.__file__).parent / "data" / name).convert("RGB")
    backdrop = photo.crop((x0, y0, x0 + side, y0 + side)).resize((800, 800), Image.BICUBIC)
    return product_on_backdrop(backdrop.filter(ImageFilter.GaussianBlur(blur)), shape=shape, body_rgb=body, seed=seed)


@pytest.mark.parametrize(
    ("name", "blur", "crop", "shape", "body", "seed"),
    [
        ("chelsea.png", 4, (25, 2, 285), "motorcycle", (118, 42, 205), 1482634408),  # wheels, engine left out: 0.66
        ("chelsea.png", 4, (192, 55, 213), "motorcycle", (123, 71, 191), 870831191),  # half a wheel: 0.86
        ("chelsea.png", 4, (145, 10, 226), "wheel", (122, 80, 214), 765731474),  # spokes and tyre: 0.76
        ("coffee.png", 3, (41, 60, 332), "motorcycle", (26, 30, 220), 185590502),  # wheels: 0.78
    ],
)
def test_a_product_on_a_blurred_photo_is_never_cut_without_its_sharp_parts(name, blur, crop, shape, body, seed):
    """A motorcycle before a blurred cat: its grey engine and black tyres share the fur's colours, so
    the cut took the purple body and left them out, a motorcycle without wheels that no brand would
    run. They are in focus and the cat is not: sharp detail just outside a cut on a softer background
    is product left out, and the photo is a scene (or cut whole)."""
    image, mask = _on_a_blurred_sample(name, blur, crop, shape, body, seed)

    found = cut_out(_jpeg(image))

    assert found.scene or _iou(found.alpha, mask) >= 0.9, "a product cut without its sharp parts"


@pytest.mark.parametrize(
    ("name", "blur", "crop", "shape", "body", "seed"),
    [
        ("coffee.png", 3, (44, 39, 338), "labelled-bottle", (201, 174, 61), 1936829764),  # label and saucer: 0.29
        ("chelsea.png", 4, (217, 53, 196), "labelled-bottle", (85, 85, 55), 1732124341),  # the label: 0.45
    ],
)
def test_a_bottle_in_its_blurred_backdrops_colours_is_never_cut_as_its_label(name, blur, crop, shape, body, seed):
    """An olive bottle before a blurred cat or coffee cup: the colours rare on the border are its
    label's, and the label cut alone passed every colour rule. But the bottle's outline is in focus
    and the backdrop is not, so every in-focus edge there is product: a cut that leaves a fifth of
    them outside is part of a product, and the photo is a scene (or cut whole)."""
    image, mask = _on_a_blurred_sample(name, blur, crop, shape, body, seed)

    found = cut_out(_jpeg(image))

    assert found.scene or _iou(found.alpha, mask) >= 0.9, "a bottle cut as its label"


def test_an_edge_is_in_focus_by_its_steepness_not_its_contrast():
    """The measure behind the rule above: a faint step within a pixel (navy on a night blue, 8 dE) is
    in focus; a strong step blurred by 1.5 px on the 400 px copy (3 px at 800 px) is not."""
    field = np.zeros((64, 64, 3), np.float32)
    field[..., 0] = 20.0
    faint = field.copy()
    faint[:, 32:, 2] = -8.0  # 8 dE bluer from column 32 on
    strong = field.copy()
    strong[:, 32:, 0] = 80.0  # 60 dE lighter, then blurred
    strong = np.stack([ndimage.gaussian_filter(strong[..., c], 1.5) for c in range(3)], axis=-1)

    assert in_focus_edges(faint)[:, 31:33].all()
    assert not in_focus_edges(strong).any()
    assert not in_focus_edges(field + np.random.default_rng(0).normal(0, 1.2, field.shape)).any()  # sensor noise


@pytest.mark.parametrize(
    ("name", "blur", "crop", "shape", "body", "seed"),
    [
        ("chelsea.png", 4, (67, 34, 212), "bottle", (81, 84, 144), 902017673),
        ("chelsea.png", 4, (108, 19, 259), "sneaker", (60, 58, 186), 695596143),
        ("chelsea.png", 4, (71, 2, 296), "bottle", (93, 33, 36), 94998017),
    ],
)
def test_a_product_cut_whole_from_a_blurred_photo_stays_cut(name, blur, crop, shape, body, seed):
    """The guard on the rule above: round a product cut whole, the blurred cat has no detail as sharp
    as the product's (0.00-0.02 of the band), so the cut stands."""
    image, mask = _on_a_blurred_sample(name, blur, crop, shape, body, seed)

    found = cut_out(_jpeg(image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, mask) >= 0.95


def test_a_wheel_on_a_brick_pavement_is_not_cut_out_of_the_mortar_as_if_it_stood_beside_it():
    """A green wheel on scikit-image's brick pavement: the mortar, a net larger than the wheel, runs out
    of every side. Taking the wheel for a hero before something larger the frame cuts off left the
    pattern unseen, and a cut with the wheel's dark tyre lost in the bricks (IoU 0.52) was made."""
    import skimage

    from synthesis.photo_samples import product_on_backdrop

    x0, y0, side = 94, 80, 378
    bricks = Image.open(Path(skimage.__file__).parent / "data" / "brick.png").convert("RGB")
    backdrop = bricks.crop((x0, y0, x0 + side, y0 + side)).resize((800, 800), Image.BICUBIC)
    image, mask = product_on_backdrop(backdrop, shape="wheel", body_rgb=(15, 115, 41), seed=1717385810)

    found = cut_out(_jpeg(image))

    assert found.scene or _iou(found.alpha, mask) >= 0.85, "a guessed cut"


def test_a_brick_pavement_is_a_pattern_not_a_product():
    """A real photograph of a brick pavement (scikit-image's sample): the bricks are as even as a
    sweep, and their mortar, a net running out of every side of the frame, was cut as a product."""
    import skimage

    photo = Image.open(Path(skimage.__file__).parent / "data" / "brick.png").convert("RGB")

    found = cut_out(photo)

    assert found.scene
    assert "every side" in found.reason


@pytest.mark.parametrize("seed", [3, 264427512])
def test_a_landscape_with_no_product_is_a_scene(seed):
    """264427512: the sky over a lake beside a temple, cut along the left and top, is the open part
    of a view, not a product running out of a corner."""
    photo = labelled_photo("landscape", shape="jacket", body_rgb=(0, 0, 0), seed=seed)

    assert cut_out(_jpeg(photo.image)).scene


@pytest.mark.parametrize("seed", [1492755550, 874010038, 1509986264, 753773772])
def test_a_building_against_the_sky_cut_by_the_frame_is_a_view_not_a_product(seed):
    """Crops of a real photograph (a temple on a hill over a lake): the sky is as smooth as a studio
    sweep, but the frame cuts the building along a whole side's length, so it is a scene, not a cut-out."""
    photo = labelled_photo("landscape", shape="jacket", body_rgb=(0, 0, 0), seed=seed, size=800)

    found = cut_out(_jpeg(photo.image))

    assert found.scene, "a view was cut out as if it were a product"
    assert "view" in found.reason


@pytest.mark.parametrize("seed", [1601821758, 1740945339, 620681515, 2138507779])
def test_ground_and_a_temple_running_out_of_a_corner_below_the_sky_are_a_view(seed):
    """Crops of a real photograph: a temple's eaves or a tree and the lake shore fill a lower corner,
    cut by the frame along both sides that meet there, under a sky as smooth as a studio sweep.
    No product is cut from a view (each was cut as one before)."""
    photo = labelled_photo("landscape", shape="jacket", body_rgb=(0, 0, 0), seed=seed, size=800)

    found = cut_out(_jpeg(photo.image))

    assert found.scene, "a view was cut out as if it were a product"
    assert "view" in found.reason


def test_a_sliver_of_roof_at_the_edge_of_the_sky_is_not_a_product():
    """A crop of sky whose only other content is the tip of a temple's eaves, cut by the left edge
    (1% of the frame): there is no product, so the photo is a scene with the reason."""
    photo = labelled_photo("landscape", shape="jacket", body_rgb=(0, 0, 0), seed=1260941422, size=800)

    found = cut_out(_jpeg(photo.image))

    assert found.scene
    assert "sliver" in found.reason


@pytest.mark.parametrize(
    ("shape", "body", "seed"),
    [
        ("motorcycle", (177, 50, 18), 901451213),
        ("mug", (164, 89, 56), 1632547765),
        ("motorcycle", (143, 28, 97), 545186759),
    ],
)
def test_a_product_before_a_view_is_never_cut_with_the_shore_below_it(shape, body, seed):
    """A product in front of a hazy lake view: the sky is smooth enough to pass for a sweep, so the
    shore, trees and temple below were cut along with the product, out of a lower corner (IoU
    0.66-0.74). Either the product is cut cleanly or the photo stays a scene."""
    photo = labelled_photo("scene-photo", shape=shape, body_rgb=body, seed=seed, size=800)

    found = cut_out(_jpeg(photo.image))

    assert found.scene or _iou(found.alpha, photo.mask) >= 0.85


def test_a_product_cropped_along_its_height_is_still_cut():
    """A bottle cut by the right edge from shoulder to base and by the top: a product close-up, not a view."""
    photo = labelled_photo("plain-colour", shape="bottle", body_rgb=(91, 187, 99), seed=693387243, size=800)
    assert photo.mask[:, -2:].mean() > 0.6, "the sample is cut along its height"

    found = cut_out(_jpeg(photo.image))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.95


def test_a_plain_backdrop_with_nothing_on_it_is_refused():
    with pytest.raises(ImageRejected) as excinfo:
        cut_out(Image.new("RGB", (400, 300), (236, 236, 238)))

    assert excinfo.value.reason == "empty"


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.sampled_from(["jacket", "bottle", "box", "bag", "mug"]),
    hue=st.floats(0, 1),
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(["white", "light-grey", "plain-colour", "dark"]),
)
def test_property_cut_out_on_plain_studio_backdrops(shape, hue, seed, kind):
    """Any saturated product colour on any plain backdrop that differs from it is cut at IoU >= 0.85.

    Radial gradients are left out on purpose: a strong off-centre one can still leak into the cut
    (the cubic backdrop surface does not follow it), a known gap of issue 15.
    """
    import colorsys

    body = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.75, 0.7))
    photo = labelled_photo(kind, shape=shape, body_rgb=body, seed=seed, size=400)
    corner = np.asarray(photo.image)[:8, :8].reshape(-1, 3).mean(axis=0)
    assume(_de(body, corner) > 25)

    found = cut_out(_jpeg(photo.image))

    assert not found.scene
    assert _iou(found.alpha, photo.mask) >= 0.85


@pytest.mark.parametrize("kind", ["plain-colour", "gradient", "dark"])
def test_theme_colour_is_the_named_colour_not_the_backdrop_or_the_grey_parts(kind):
    """A red motorcycle with a grey engine is red; a navy bottle with a white label is navy."""
    for shape, body in (("motorcycle", (196, 30, 45)), ("labelled-bottle", (28, 42, 96))):
        photo = labelled_photo(kind, shape=shape, body_rgb=body, seed=41, size=600)

        theme = theme_colours_from_bytes(_jpeg_bytes(photo.image))

        assert _de(theme.theme, body) < 3, (shape, kind, theme.theme)


def test_a_tiny_product_in_a_large_frame_is_cropped_or_refused():
    big = Image.new("RGB", (1000, 1000), (250, 250, 250))
    big.paste((200, 30, 40), (400, 400, 600, 640))  # 200 x 240 px: enough pixels, cropped to them
    small = Image.new("RGB", (1000, 1000), (250, 250, 250))
    small.paste((200, 30, 40), (470, 470, 530, 530))  # 60 px: a speck

    prepared = prepare_product(big)
    with pytest.raises(ImageRejected) as excinfo:
        prepare_product(small)

    assert max(prepared.image.size) < 300
    assert excinfo.value.reason == "too_small"
    assert f"{MIN_PRODUCT_SIDE} px" in str(excinfo.value)


def test_greyscale_cmyk_and_edge_touching_photos_work():
    # Must hold: each gives a sensible result, a good cut or a scene, never a wrong cut. The CMYK copy is cut;
    # the greyscale one (its bag a neutral grey, the sweep's own chromaticity, taken in by the backdrop's
    # refits: a 0.16 IoU cut before) is a scene.
    labelled = labelled_photo("white", shape="bag", body_rgb=(178, 34, 52), seed=5, size=500)
    photo = labelled.image
    for image in (photo.convert("L"), photo.convert("CMYK")):
        prepared = prepare_product(image)
        found = cut_out(image.convert("RGB"))
        assert prepared.scene or _iou(found.alpha, labelled.mask) >= 0.85
    assert prepare_product(photo.convert("CMYK")).cut_out
    cropped = photo.crop((0, 0, 500, 330))  # the bag runs off the bottom edge
    found = cut_out(cropped)
    assert not found.scene and found.alpha[-1].max() > 0.5
    assert product_theme_colours(prepare_product(cropped).image).theme


@pytest.mark.parametrize("command", ["cutout", "theme-colour", "render"])
def test_a_fully_transparent_png_gives_a_clear_error_in_every_command(tmp_path, command):
    empty = tmp_path / "empty.png"
    Image.new("RGBA", (200, 200), (0, 0, 0, 0)).save(empty)
    args = {
        "cutout": ["cutout", str(empty), "-o", str(tmp_path / "out.png")],
        "theme-colour": ["theme-colour", str(empty)],
        "render": [
            "render",
            "--template",
            str(ROOT / "synthesis" / "templates" / "single-hero.json"),
            "--product",
            str(empty),
            "--title",
            "t",
            "--size",
            "300x250",
            "-o",
            str(tmp_path / "ad.jpg"),
        ],
    }[command]

    run = subprocess.run([sys.executable, "-m", "synthesis", *args], capture_output=True, text=True, cwd=ROOT)

    assert run.returncode == 2
    assert "transparent" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_cutout_command_writes_the_product_or_exits_3_with_the_reason(tmp_path):
    product = tmp_path / "bag.jpg"
    labelled_photo("plain-colour", shape="bag", body_rgb=(46, 125, 90), seed=2, size=400).image.save(product)
    scene = tmp_path / "coffee.jpg"
    real_photo("coffee").save(scene)

    ok = subprocess.run(
        [sys.executable, "-m", "synthesis", "cutout", str(product), "-o", str(tmp_path / "bag.png")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    refused = subprocess.run(
        [sys.executable, "-m", "synthesis", "cutout", str(scene), "-o", str(tmp_path / "coffee.png")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )

    assert ok.returncode == 0
    out = Image.open(tmp_path / "bag.png")
    assert out.mode == "RGBA" and out.size == (400, 400)
    assert out.getchannel("A").getextrema() == (0, 255)
    assert refused.returncode == 3
    assert "no clean cut-out" in refused.stderr
    assert not (tmp_path / "coffee.png").exists()


def test_the_same_photo_always_gives_the_same_cut():
    """Renders are re-made byte for byte from provenance, so a cut may not depend on what ran before."""
    import cv2

    photo = real_photo("flower")
    first = cut_out(photo).alpha
    cv2.randu(np.zeros((64, 64), np.float32), 0, 1)  # other OpenCV work moves its generator
    other = np.full((32, 32), cv2.GC_PR_FGD, np.uint8)
    other[:4] = cv2.GC_BGD
    cv2.grabCut(
        np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8),
        other,
        None,
        np.zeros((1, 65)),
        np.zeros((1, 65)),
        1,
        cv2.GC_INIT_WITH_MASK,
    )

    np.testing.assert_array_equal(cut_out(photo).alpha, first)


@pytest.mark.parametrize(("body", "seed"), [((209, 158, 35), 8), ((209, 158, 35), 9), ((40, 120, 200), 9)])
def test_the_backdrop_seen_between_spokes_is_not_the_theme(body, seed):
    """A spoked wheel on a coloured backdrop: at the theme's small working size the spokes blend with
    the backdrop behind them; neither that backdrop nor its blend with the grey spokes is the colour."""
    photo = labelled_photo("plain-colour", shape="wheel", body_rgb=body, seed=seed, size=800)

    theme = theme_colours_from_bytes(_jpeg_bytes(photo.image))

    assert _de(theme.theme, body) < 4


@pytest.mark.parametrize(
    ("kind", "body", "seed"),
    [
        ("plain-colour", (31, 16, 149), 1725216208),  # 30 dE off: a blend of the blue rim and the red sweep
        ("plain-colour", (11, 165, 16), 1182585291),  # 75 dE off: the sweep's red
        ("gradient", (104, 42, 176), 1638217978),  # 59 dE off: the gradient's pale centre
    ],
)
def test_a_wheel_the_small_copy_takes_for_a_scene_gets_its_own_colour(kind, body, seed):
    """A wheel running off a corner or a side: at the theme's 72 px its rim, a pixel or two wide, no
    longer shows the backdrop going on round it, the copy was a scene, and the theme was read off the
    whole photo, the backdrop's colour. A photo the small copy takes for a scene gets a second look at
    200 px (decoded at 1/4 scale from a JPEG), where the wheel is cut out."""
    photo = labelled_photo(kind, shape="wheel", body_rgb=body, seed=seed, size=800)

    theme = theme_colours_from_bytes(_jpeg_bytes(photo.image))

    assert _de(theme.theme, body) < 3, theme.theme


@pytest.mark.parametrize(
    ("kind", "shape", "body", "seed", "crop"),
    [
        ("dark", "sneaker", (76, 175, 108), 1074798108, False),  # 50 dE off: the sweep's black
        ("dark", "sneaker", (200, 60, 40), 3, True),
        ("light-grey", "bag", (120, 30, 160), 3, True),
    ],
)
def test_a_product_the_frame_crops_into_a_scene_names_the_products_colour(kind, shape, body, seed, crop):
    """A sneaker cropped to its upper on a black sweep: the frame cuts it along whole sides, so the
    photo is a scene (shown whole, never cut), and its theme was read off the whole photo weighted
    to the centre, where the sweep is: black. The subject the cut-out saw stand apart from the sweep
    names the colour; the photo stays a scene. The cropped ones were named right before and must stay so."""
    photo = labelled_photo(kind, shape=shape, body_rgb=body, seed=seed, size=800)
    image = photo.image
    if crop:  # the product across the whole width, the sweep below it
        ys, xs = np.nonzero(photo.mask > 0.5)
        width = xs.max() - xs.min()
        image = image.crop((xs.min() + width // 6, max(0, ys.min() - 60), xs.max() - width // 6, ys.max() + 200))

    found = cut_out(_jpeg(image))
    theme = theme_colours_from_bytes(_jpeg_bytes(image))

    assert found.scene, "not cut: the frame cuts the subject along whole sides"
    assert _de(theme.theme, body) < 3, theme.theme


def test_a_navy_bottle_on_a_blue_sweep_is_navy_not_its_white_label():
    """A navy bottle on a lighter blue: its colour is the backdrop's hue, darker, which also describes
    thin grey parts blended with the backdrop, so the whole body was left out of the theme and the
    white label was named (60 dE off). A blob that large on the product's outline is the product."""
    photo = labelled_photo("plain-colour", shape="labelled-bottle", body_rgb=(62, 66, 149), seed=263908779, size=800)

    theme = theme_colours_from_bytes(_jpeg_bytes(photo.image))

    assert _de(theme.theme, (62, 66, 149)) < 3, theme.theme


def test_a_motorcycle_on_a_two_colour_gradient_takes_its_own_colour_not_the_gradients():
    """A wine-red motorcycle on a violet-to-lime gradient: at the theme's 72 px copy one fit of the
    backdrop surface, seen only at the border, left a band of violet beside the bike as product, and
    the theme came out violet (27 dE off). Refitted through the open backdrop it saw (at most 3
    times there), the surface follows the gradient."""
    photo = labelled_photo("gradient", shape="motorcycle", body_rgb=(116, 24, 59), seed=1648902932, size=800)

    theme = theme_colours_from_bytes(_jpeg_bytes(photo.image))

    assert _de(theme.theme, (116, 24, 59)) < 3, theme.theme


def test_a_glow_beside_the_product_on_a_radial_gradient_is_backdrop():
    """A radial gradient whose bright centre sits beside the product: the backdrop surface refitted
    through the open backdrop follows it (quartic), so the glow is not cut out with the product."""
    photo = labelled_photo("gradient", shape="jacket", body_rgb=(38, 58, 90), seed=5604635, size=800)

    found = cut_out(_jpeg(photo.image))

    assert not found.scene
    assert _iou(found.alpha, photo.mask) >= 0.85


# The cut-out's shortcuts for SciPy's morphology and NumPy's statistics (they spare the argument
# checks that dominate on the theme colour's 72 px copy) must give exactly their numbers, or the
# cut-outs and theme colours measured with the library calls would no longer hold.

_masks = st.tuples(st.integers(1, 24), st.integers(1, 24), st.integers(0, 2**32 - 1), st.floats(0.2, 0.8))


def _mask(h, w, seed, share):
    from scipy import ndimage

    noise = np.random.default_rng(seed).random((h, w))
    return ndimage.uniform_filter(noise, 3) > share  # blobs, thin parts and specks


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_masks, st.integers(1, 3))
def test_the_cut_outs_morphology_is_scipys(mask_args, iterations):
    from scipy import ndimage

    from synthesis import cutout

    mask = _mask(*mask_args)
    values = np.random.default_rng(mask_args[2]).random(mask.shape).astype(np.float32)

    dilated = ndimage.binary_dilation(mask, iterations=iterations)
    eroded = ndimage.binary_erosion(mask, iterations=iterations)
    np.testing.assert_array_equal(cutout._dilate(mask, iterations), dilated)
    np.testing.assert_array_equal(cutout._erode(mask, iterations), eroded)
    np.testing.assert_array_equal(cutout._opening(mask), ndimage.binary_opening(mask))
    within = _mask(*mask_args[:2], mask_args[2] + 1, 0.4)
    np.testing.assert_array_equal(
        cutout._dilate(mask, iterations, within=within),
        ndimage.binary_dilation(mask, iterations=iterations, mask=within),
    )
    np.testing.assert_array_equal(cutout._filled(mask), ndimage.binary_fill_holes(mask))
    np.testing.assert_array_equal(
        cutout._erode_square_open_border(mask),
        ndimage.binary_erosion(mask, structure=np.ones((3, 3), bool), border_value=1),
    )
    np.testing.assert_array_equal(
        cutout._square_closing(mask, iterations + 1),
        ndimage.binary_closing(mask, structure=np.ones((3, 3), bool), iterations=iterations + 1),
    )
    np.testing.assert_array_equal(cutout._max3(values), ndimage.grey_dilation(values, size=3))
    labels = ndimage.label(mask)[0]
    np.testing.assert_array_equal(cutout._max3(cutout._max3(labels)), ndimage.grey_dilation(labels, size=5))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_masks)
def test_the_cut_outs_hole_filling_is_scipys(mask_args):
    """Enclosed holes, those that look like backdrop kept open, the rest filled: as with
    ndimage.binary_fill_holes and a second labelling."""
    from scipy import ndimage

    from synthesis import cutout

    mask = _mask(*mask_args)
    backdrop_like = np.random.default_rng(mask_args[2] + 1).random(mask.shape) > 0.5
    # The previous implementation, inline.
    regions, n = ndimage.label(mask)
    expected = mask
    if n:
        sizes = np.bincount(regions.ravel(), weights=mask.ravel().astype(float), minlength=n + 1)[1:]
        expected = (sizes >= max(16, 0.02 * sizes.max()))[regions - 1] & (regions > 0)
        holes, m = ndimage.label(ndimage.binary_fill_holes(expected) & ~expected)
        if m:
            hole_sizes = np.bincount(holes.ravel(), minlength=m + 1)[1:]
            share = np.bincount(holes.ravel(), weights=backdrop_like.ravel().astype(float), minlength=m + 1)[1:]
            fill = np.zeros(m + 1, bool)
            fill[1:] = ~((hole_sizes >= 3) & (share / np.maximum(hole_sizes, 1) >= 0.6))
            expected = expected | fill[holes]

    np.testing.assert_array_equal(cutout._clean_mask(mask, backdrop_like, min_hole=3), expected)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.integers(1, 400),
    st.sampled_from([np.float32, np.float64]),
    st.integers(0, 2**32 - 1),
    st.booleans(),
    st.sampled_from([10, 50, 60, 90]),
)
def test_the_cut_outs_statistics_are_numpys(n, dtype, seed, ties, q):
    from synthesis import cutout

    values = (np.random.default_rng(seed).random((n, 3)) * 100).astype(dtype)
    if ties:
        values = np.round(values / 10).astype(dtype)
    column = values[:, 0].copy()

    assert cutout._percentile(column, q) == float(np.percentile(column, q))
    median = cutout._median(column)
    assert median == np.median(column) and median.dtype == np.median(column).dtype
    np.testing.assert_array_equal(cutout._median(values), np.median(values, axis=0))
    np.testing.assert_array_equal(cutout._norm(values), np.linalg.norm(values, axis=-1))


@pytest.mark.parametrize(("h", "w", "degree"), [(72, 72, 2), (72, 54, 3), (17, 40, 4), (320, 213, 4)])
def test_the_backdrop_surfaces_cached_terms_give_the_same_numbers(h, w, degree):
    from synthesis import cutout

    rng = np.random.default_rng(h * w + degree)
    n = (degree + 1) * (degree + 2) // 2
    coef = rng.normal(size=(n, 3)) * [40, 10, 10]
    x = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    y = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    terms = cutout._terms(x, y, degree)
    expected = np.stack([sum(c[i] * t for i, t in enumerate(terms)) for c in coef.T.astype(np.float32)], axis=-1)
    ys, xs = np.nonzero(rng.random((h, w)) > 0.3)

    np.testing.assert_array_equal(cutout._surface(coef, h, w), expected)
    np.testing.assert_array_equal(
        cutout._monomials(ys, xs, h, w, degree),
        np.stack(cutout._terms(xs / max(1, w - 1) * 2 - 1, ys / max(1, h - 1) * 2 - 1, degree), axis=-1),
    )
    np.testing.assert_allclose(
        cutout._surface_at(coef, ys, xs, h, w), cutout._monomials(ys, xs, h, w, degree) @ coef, rtol=0, atol=1e-9
    )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(8, 90), st.integers(8, 90)),
    radius=st.integers(1, 14),
    blur=st.floats(0.8, 6.0),
)
def test_the_disk_opening_is_scipys_frame_included(seed, shape, radius, blur):
    """The stalk rule's opening by a wide disk, done with distance transforms (10 ms where scipy took
    0.9 s on a product photo), is scipy's binary opening pixel for pixel, also where the mask runs
    out of the frame (scipy counts the outside as background), so every cut-out stays the same."""
    rng = np.random.default_rng(seed)
    mask = ndimage.gaussian_filter(rng.random(shape), blur) > 0.5
    mask[:, : int(rng.integers(0, 6))] = True  # a part cut by the frame
    disk = np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius

    assert np.array_equal(_disk_opening(mask, radius), ndimage.binary_opening(mask, disk))


def _gravel(size: int, seed: int) -> np.ndarray:
    """A busy grey backdrop: stones 8 px across, 70-190 grey, softened, with grain."""
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    stones = Image.fromarray(rng.uniform(70, 190, (size // 8, size // 8)).astype(np.uint8))
    grey = np.asarray(stones.resize((size, size), Image.NEAREST).filter(ImageFilter.GaussianBlur(1.2)), np.float64)
    grey = np.clip(grey + rng.normal(0, 6, (size, size)), 0, 255)
    return np.repeat(grey[..., None], 3, axis=2)


@pytest.mark.parametrize("seed", [0, 3])
def test_a_grey_sole_on_gravel_is_kept_and_its_shadow_left(seed):
    """A blue shoe with a smooth grey sole whose grey the gravel has, with a soft shadow under it:
    GrabCut, weighing colour alone, took the body and dropped the sole (IoU 0.79); the sole's
    smoothness on a backdrop busy at every pixel keeps it, and the shadow, busy still, stays out."""
    from PIL import ImageFilter

    size = 800
    photo = _gravel(size, seed)
    yy, xx = np.mgrid[:size, :size]
    shade = np.clip(((xx - 400) / 230.0) ** 2 + ((yy - 505) / 40.0) ** 2, 0, 1)
    shade = np.asarray(Image.fromarray((shade * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(8)), float) / 255
    photo *= (0.45 + 0.55 * shade)[..., None]
    truth = np.zeros((size, size), bool)
    body, sole = (slice(300, 460), slice(220, 580)), (slice(460, 500), slice(210, 590))
    photo[body], photo[sole] = (40, 70, 190), (150, 150, 150)
    truth[body], truth[sole] = True, True

    cut = cut_out(_jpeg(Image.fromarray(photo.astype(np.uint8))))

    assert not cut.scene
    alpha = cut.alpha
    assert float((alpha[sole] > 0.5).mean()) >= 0.95, "the sole was dropped"
    assert _iou(alpha, truth) >= 0.95
    assert float((alpha[(shade < 0.5) & ~truth] > 0.5).mean()) <= 0.02, "the shadow was taken as product"


@pytest.mark.parametrize("seed", [0, 2])
def test_a_motorcycle_on_gravel_keeps_its_grey_engine_and_wheels(seed):
    """A red motorcycle on grey gravel: GrabCut keeps the red bodywork; the grey engine, the exhaust
    and the tyres are the gravel's colours but smooth, and join the bodywork through each other
    (0.49-0.55 IoU with the body alone; 0.70-0.82 when only parts touching the body joined)."""
    from synthesis.photo_samples import product_on_backdrop

    backdrop = Image.fromarray(_gravel(800, seed).astype(np.uint8))
    photo, mask = product_on_backdrop(backdrop, shape="motorcycle", body_rgb=(150, 30, 20), seed=seed)

    cut = cut_out(_jpeg(photo))

    assert not cut.scene
    assert _iou(cut.alpha, mask) >= 0.85


@pytest.mark.parametrize(
    ("kind", "body", "seed"),
    [
        ("plain-colour", (31, 16, 149), 1725216208),
        ("gradient", (164, 29, 26), 1130301595),
        ("gradient", (128, 14, 71), 1603510933),
        ("gradient", (58, 141, 227), 1251285350),
    ],
)
def test_a_thin_part_on_a_coloured_backdrop_is_cut_without_a_fringe_of_the_backdrop(kind, body, seed):
    """A wheel's grey spokes on a saturated backdrop: the edge's alpha followed the ramp from the
    backdrop's noise, so a pixel 15% spoke was half opaque and every spoke kept an outline of the
    backdrop's colour (56-79% of the 2 px just outside the true outline were kept). Pasted on
    another background, that is a coloured halo round the product."""
    photo = labelled_photo(kind, shape="wheel", body_rgb=body, seed=seed, size=800)
    truth = photo.mask > 0.5
    just_outside = ndimage.binary_dilation(truth, iterations=2) & ~truth
    just_inside = truth & ~ndimage.binary_erosion(truth, iterations=2)

    found = cut_out(_jpeg(photo.image))

    cut = found.alpha > 0.5
    assert cut[just_outside].mean() <= 0.5, "the backdrop round the outline is left behind"
    assert cut[just_inside].mean() >= 0.88, "the product's own edge is kept"
    assert _iou(found.alpha, photo.mask) >= 0.85


@pytest.mark.parametrize(
    ("backdrop", "bar"),
    [
        ((150, 30, 60), (150, 150, 150)),
        ((230, 200, 60), (40, 40, 45)),
        ((40, 120, 70), (240, 240, 240)),
        ((200, 200, 205), (30, 60, 160)),
        ((245, 245, 245), (120, 120, 120)),
    ],
)
def test_antialiased_bars_are_cut_at_their_true_width(backdrop, bar):
    """Bars 6-12 px wide drawn with antialiasing (coverage from a 4x drawing): along them, clear of
    where they cross, the cut keeps the pixels the bars cover at least half, within an eighth of
    their area either way. The ramp from the backdrop's noise kept 31-41% more on the coloured
    backdrops: a pixel of backdrop each side. (Light bars on saturated blue still keep 24% more,
    the JPEG's dark ringing beside them taken for product: was 54%.)"""
    scale, size = 4, 640
    big = Image.new("RGB", (size * scale, size * scale), backdrop)
    cover = Image.new("L", big.size, 0)
    centre = size * scale // 2
    for k, width in enumerate((6, 8, 10, 12, 7, 9)):
        angle = np.pi * k / 6 + 0.1
        dx, dy = np.cos(angle) * 220 * scale, np.sin(angle) * 220 * scale
        line = [(centre - dx, centre - dy), (centre + dx, centre + dy)]
        ImageDraw.Draw(big).line(line, fill=bar, width=width * scale)
        ImageDraw.Draw(cover).line(line, fill=255, width=width * scale)
    photo = big.resize((size, size), Image.BOX)
    truth = np.asarray(cover.resize((size, size), Image.BOX), np.float32) / 255 > 0.5
    ys, xs = np.mgrid[:size, :size]
    along = np.hypot(ys - size / 2, xs - size / 2) >= 60  # the narrow gaps where they cross are another matter

    found = cut_out(_jpeg(photo))

    cut = (found.alpha > 0.5) & along
    assert abs(int(cut.sum()) - int(truth[along].sum())) <= 0.125 * truth[along].sum()
    assert _iou(cut, truth & along) >= 0.85


@pytest.mark.parametrize(
    ("shape", "body", "seed"),
    [
        ("box", (50, 106, 120), 1117061586),
        ("sneaker", (163, 116, 23), 1898985593),
        ("labelled-bottle", (149, 69, 132), 1577877348),
    ],
)
def test_a_product_cut_from_wood_has_the_photos_own_crisp_edge(shape, body, seed):
    """Off a textured backdrop the outline is GrabCut's at 200 px: scaled up to the photo it came in
    steps of 4 px, blurred over 3 more, with a rim of wood round it (the alpha within 4 px of the true
    outline was off the true coverage by 0.22-0.25 on average). Measured again at the photo's size
    between the product's colour and the wood's next to it, it follows the photo's own edge."""
    photo = labelled_photo("wood", shape=shape, body_rgb=body, seed=seed, size=800)
    truth = photo.mask > 0.5
    edge = ndimage.binary_dilation(truth, iterations=4) & ~ndimage.binary_erosion(truth, iterations=4)

    found = cut_out(_jpeg(photo.image))

    assert found.backdrop == "textured"
    assert float(np.abs(found.alpha - photo.mask)[edge].mean()) <= 0.15
    assert _iou(found.alpha, photo.mask) >= 0.98


@pytest.mark.parametrize("side", [1200, 2400])
def test_a_photo_at_camera_size_is_cut_as_its_800_px_copy_is(side):
    """Uploads come at 1000-4000 px. The cut-out's decisions are made on an 800 px copy and its alpha scaled
    back: cut at its own size, this bottle on wood was a scene from its 1200 px copy (IoU 0.24 against 0.999 at
    800 px), since more pixels averaged into a working pixel read its grain and shadow differently."""
    photo = labelled_photo("wood", shape="bottle", body_rgb=(138, 24, 201), seed=894579329, size=800)
    small = _jpeg(photo.image)
    large = small.resize((side, side), Image.BICUBIC)
    truth = np.asarray(Image.fromarray(photo.mask.astype(np.float32)).resize(large.size, Image.BILINEAR))

    at_800, at_side = cut_out(small), cut_out(large)

    assert not at_800.scene and not at_side.scene, at_side.reason
    assert at_side.alpha.shape == truth.shape
    assert _iou(at_800.alpha, photo.mask) >= 0.95
    assert _iou(at_side.alpha, truth) >= 0.95


@pytest.mark.parametrize(
    ("kind", "shape", "body", "seed"), [("white", "mug", (31, 58, 110), 2), ("dark", "sneaker", (230, 120, 30), 8)]
)
def test_a_large_photo_keeps_the_crisp_edge_of_its_own_size(kind, shape, body, seed):
    """Decided on an 800 px copy, a 2000 px photo's edge is still measured at 2000 px: the 800 px copy's alpha
    scaled up blurred the outline over 2-3 px and kept a line of the old backdrop round the product (the alpha
    within 4 px of the true outline off its coverage by 0.11-0.19 on average, 0.06-0.10 measured at full size)."""
    photo = labelled_photo(kind, shape=shape, body_rgb=body, seed=seed, size=2000)
    image = _jpeg(photo.image)
    edge = ndimage.binary_dilation(photo.mask > 0.5, iterations=4) & ~ndimage.binary_erosion(
        photo.mask > 0.5, iterations=4
    )

    found = cut_out(image)
    small = cut_out(image.resize((800, 800), Image.LANCZOS))
    scaled_up = np.asarray(Image.fromarray(small.alpha).resize(image.size, Image.BILINEAR))

    error = float(np.abs(found.alpha - photo.mask)[edge].mean())
    assert _iou(found.alpha, photo.mask) >= 0.98
    assert error <= 0.12
    assert error <= 0.7 * float(np.abs(scaled_up - photo.mask)[edge].mean())


def _blurred(image: Image.Image, radius: float) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius)) if radius else image


@pytest.mark.parametrize("blur", [0.0, 0.5])
@pytest.mark.parametrize(
    ("body", "seed"), [((72, 12, 140), 980530870), ((118, 36, 7), 784443686)], ids=["purple", "rust"]
)
def test_the_shadow_seen_whole_under_a_motorcycle_is_left_behind(body, seed, blur):
    """A motorcycle's shadow on a gradient sweep, seen between its wheels, is darkest in its middle. It was
    taken for a tyre when its darkest rows were not its top ones, and kept with the gaps it shows through
    (0.88 as photographed; 0.96 -> 0.81 for the other with a 0.5 px blur, the focus of a real lens)."""
    photo = labelled_photo("gradient", shape="motorcycle", body_rgb=body, seed=seed, size=800)

    found = cut_out(_jpeg(_blurred(photo.image, blur)))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.9


@pytest.mark.parametrize(("blur", "quality"), [(0.0, 90), (0.5, 90), (0.0, 75)])
def test_a_mug_on_walnut_is_cut_whether_a_little_soft_or_compressed(blur, quality):
    """The mug's outline runs along an edge 0.957-0.970 of the way round: it was a scene as soon as the photo
    was blurred by 0.5 px or saved at JPEG quality 75 (guessed outlines measure 0.65-0.93)."""
    photo = labelled_photo("wood", shape="mug", body_rgb=(197, 114, 106), seed=1183073273, size=800)
    buf = io.BytesIO()
    _blurred(photo.image, blur).save(buf, format="JPEG", quality=quality)

    found = cut_out(Image.open(buf).convert("RGB"))

    assert not found.scene, found.reason
    assert _iou(found.alpha, photo.mask) >= 0.85
