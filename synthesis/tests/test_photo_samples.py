"""The labelled photo set is what it says: true masks, holes, shadows outside the product, every kind."""

import numpy as np
import pytest
from scipy import ndimage

from synthesis.colour import delta_e_2000, srgb_to_lab
from synthesis.photo_samples import KINDS, PHOTO_SHAPES, SCENE_KINDS, labelled_photo, photo_set


@pytest.fixture(scope="module")
def small_set():
    return photo_set(per_kind=len(PHOTO_SHAPES), size=160, seed=7)


def test_every_backdrop_kind_and_every_shape_is_in_the_set(small_set):
    assert {p.kind for p in small_set} == set(KINDS)
    assert {p.shape for p in small_set if p.subject} == set(PHOTO_SHAPES)
    assert all(p.image.size == (160, 160) and p.mask.shape == (160, 160) for p in small_set)


def test_products_have_masks_and_landscapes_have_none(small_set):
    for photo in small_set:
        if photo.kind == "landscape":
            assert not photo.subject and photo.shape is None and photo.body_rgb is None
            assert not photo.mask.any()
        else:
            assert photo.subject and photo.mask.dtype == np.float32
            assert (photo.mask > 0.5).mean() > 0.02, (photo.kind, photo.shape)
            assert photo.mask.min() >= 0 and photo.mask.max() <= 1


def test_masks_have_soft_anti_aliased_edges():
    photo = labelled_photo("white", shape="bottle", body_rgb=(30, 60, 140), seed=1, size=400)

    edge = (photo.mask > 0.05) & (photo.mask < 0.95)

    assert edge.sum() > 200  # a ramp along the outline, not a hard step
    assert edge.sum() < 0.2 * (photo.mask > 0.5).sum()


@pytest.mark.parametrize("shape", ["mug", "wheel", "bag"])
def test_holes_in_the_product_are_not_product_and_show_the_backdrop(shape):
    photo = labelled_photo("light-grey", shape=shape, body_rgb=(200, 40, 40), seed=3, size=400, shadows=False)
    solid = photo.mask > 0.5

    holes = ndimage.binary_fill_holes(solid) & (photo.mask == 0)

    assert holes.sum() > 200
    rgb = np.asarray(photo.image, dtype=np.float32)
    corner = rgb[:20, :20].reshape(-1, 3).mean(axis=0)
    assert np.abs(rgb[holes].mean(axis=0) - corner).max() < 15  # the grey backdrop, not the red product


@pytest.mark.parametrize("kind", ["white", "plain-colour", "wood", "scene-photo"])
def test_shadows_darken_the_backdrop_and_stay_out_of_the_mask(kind):
    args = dict(shape="box", body_rgb=(46, 125, 90), seed=5, size=400)
    lit = labelled_photo(kind, shadows=False, **args)
    shaded = labelled_photo(kind, **args)

    darker = np.asarray(lit.image, dtype=np.int16) - np.asarray(shaded.image, dtype=np.int16)

    np.testing.assert_array_equal(lit.mask, shaded.mask)
    assert (darker >= 0).all()
    assert darker[shaded.mask == 1].max() == 0  # the product itself is untouched
    shadow = darker.max(axis=2) > 8
    assert shadow.sum() > 0.05 * (shaded.mask > 0.5).sum() and darker.max() > 20
    assert (shaded.mask[shadow] < 0.5).mean() > 0.9
    # A soft edge pixel is part backdrop, and only that part darkens.
    assert (darker.max(axis=2) <= np.ceil((1 - shaded.mask) * 255) + 1).all()


def test_same_seed_same_photo_and_a_new_seed_a_new_one():
    a = labelled_photo("wood", shape="mug", body_rgb=(20, 40, 120), seed=11, size=200)
    b = labelled_photo("wood", shape="mug", body_rgb=(20, 40, 120), seed=11, size=200)
    c = labelled_photo("wood", shape="mug", body_rgb=(20, 40, 120), seed=12, size=200)

    assert a.image.tobytes() == b.image.tobytes() and np.array_equal(a.mask, b.mask)
    assert a.image.tobytes() != c.image.tobytes()
    first, again = photo_set(per_kind=1, size=96), photo_set(per_kind=1, size=96)
    assert [p.image.tobytes() for p in first] == [p.image.tobytes() for p in again]


@pytest.mark.parametrize("shape", ["motorcycle", "labelled-bottle"])
def test_two_tone_products_show_both_colours_with_the_named_one_leading(shape):
    photo = labelled_photo("white", shape=shape, body_rgb=(190, 30, 45), seed=2, size=300)
    lab = srgb_to_lab(np.asarray(photo.image, dtype=np.float64)[photo.mask == 1])

    near_body = (delta_e_2000(lab, srgb_to_lab(np.array(photo.body_rgb, float))) < 8).mean()
    near_second = (delta_e_2000(lab, srgb_to_lab(np.array(photo.secondary_rgb, float))) < 8).mean()

    assert photo.secondary_rgb is not None
    assert near_body > 0.3 and near_second > 0.12
    assert near_body > near_second


def test_some_products_are_small_some_cropped_and_scene_subjects_fill_15_to_45_percent():
    photos = photo_set(per_kind=12, size=96)
    studio = [p for p in photos if p.kind not in SCENE_KINDS]

    shares = [float(p.mask.mean()) for p in studio]
    touching = [
        p for p in studio if max(p.mask[0].max(), p.mask[-1].max(), p.mask[:, 0].max(), p.mask[:, -1].max()) > 0.5
    ]

    assert sum(s < 0.11 for s in shares) >= 3
    assert len(touching) >= 3
    scene = [float(p.mask.mean()) for p in photos if p.kind == "scene-photo"]
    assert all(0.13 <= s <= 0.47 for s in scene), scene
