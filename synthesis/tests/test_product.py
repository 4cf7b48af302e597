"""Product preparation: the studio backdrop goes, the product and its label stay, colours come from the product."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sklearn.datasets import load_sample_image

from synthesis.colour import delta_e_2000, srgb_to_lab
from synthesis.errors import ImageRejected
from synthesis.product import prepare_product, product_theme_colours, theme_colours_from_bytes
from synthesis.samples import BACKDROPS, SHAPES, product_photo


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def test_cut_out_makes_the_backdrop_transparent_and_keeps_the_label():
    photo = product_photo((46, 125, 90), shape="box", backdrop="warm", size=400)

    prepared = prepare_product(photo.image)

    alpha = np.asarray(prepared.image.getchannel("A"))
    h, w = alpha.shape
    assert prepared.cut_out
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0
    assert alpha[h // 2, w // 2] == 255
    assert (alpha[int(h * 0.55) : int(h * 0.62), int(w * 0.56) : int(w * 0.66)] > 200).all()  # the white label
    assert prepared.image.width < 400 and prepared.image.height < 400  # trimmed


def test_transparent_png_keeps_its_alpha():
    img = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    img.paste((200, 30, 30, 255), (50, 50, 150, 150))

    prepared = prepare_product(img)

    assert not prepared.cut_out
    assert prepared.image.size == (104, 104)  # 100 px product + 2 px pad each side


def _with_exported_alpha(photo: Image.Image, edge: str) -> Image.Image:
    """`photo` with the alpha an image editor leaves on an exported photo: a soft first row and column
    (half-transparent), or rounded corners (radius 8% of the short side)."""
    rgba = photo.convert("RGBA")
    alpha = Image.new("L", photo.size, 255)
    if edge == "soft-edge":
        alpha.paste(127, (0, 0, photo.width, 1))
        alpha.paste(127, (0, 0, 1, photo.height))
    else:
        alpha = Image.new("L", photo.size, 0)
        ImageDraw.Draw(alpha).rounded_rectangle(
            (0, 0, photo.width - 1, photo.height - 1), round(0.08 * min(photo.size)), 255
        )
    rgba.putalpha(alpha)
    return rgba


@pytest.mark.parametrize("edge", ["soft-edge", "rounded-corners"])
def test_a_photo_whose_alpha_only_softens_its_edge_is_a_photo_not_a_cut_out(edge):
    """A portrait photo exported with a half-transparent first row and column (0.4% of it) was taken as a
    cut-out: its alpha the product, and the whole photo drawn as a framed rectangle on the podium. Such an
    alpha cuts nothing out: the photo goes through the cut-out like any other (here a lifestyle shot, a
    scene), while a product cut out of its backdrop keeps its alpha exactly (the test above)."""
    photo = Image.fromarray(load_sample_image("china.jpg"))

    prepared = prepare_product(_with_exported_alpha(photo, edge))

    assert prepared.backdrop != "transparent"
    assert prepared.scene and prepared.scene_reason


@pytest.mark.parametrize("img", [Image.new("RGBA", (64, 64), (0, 0, 0, 0)), Image.new("RGB", (64, 64), "white")])
def test_empty_images_are_refused(img):
    with pytest.raises(ImageRejected) as excinfo:
        prepare_product(img)

    assert excinfo.value.reason == "empty"


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("backdrop", BACKDROPS)
def test_theme_colour_is_the_product_body_not_the_backdrop(shape, backdrop):
    photo = product_photo((31, 58, 110), shape=shape, backdrop=backdrop, size=600, seed=7)

    theme = theme_colours_from_bytes(_jpeg(photo.image))

    error = float(delta_e_2000(srgb_to_lab(np.array(theme.theme)), srgb_to_lab(np.array(photo.body_rgb))))
    assert error < 5, (theme.theme, photo.body_rgb)


def test_a_motorcycle_scene_is_named_red_not_its_garages_grey():
    """A red motorcycle in a grey garage (scikit-image's photo) is a scene: no clean cut-out. Read whole,
    weighted towards the centre, its theme was the garage's and the engine's grey (137, 125, 119). Read
    where the scene's subject is, it is the red a shopper names."""
    import skimage

    photo = Image.open(Path(skimage.__file__).parent / "data" / "motorcycle_left.png").convert("RGB")

    theme = theme_colours_from_bytes(_jpeg(photo))

    _, a, b = srgb_to_lab(np.array(theme.theme))
    hue = float(np.degrees(np.arctan2(b, a)))
    assert float(np.hypot(a, b)) >= 35 and -10 <= hue <= 50, theme.theme  # a strong red, not a grey


def test_theme_colours_of_a_prepared_cut_out_match_the_photo():
    photo = product_photo((235, 120, 30), shape="sneaker", size=500)

    from_photo = product_theme_colours(photo.image)
    from_cut_out = product_theme_colours(prepare_product(photo.image).image)

    assert float(delta_e_2000(srgb_to_lab(np.array(from_photo.theme)), srgb_to_lab(np.array(from_cut_out.theme)))) < 3


@pytest.mark.parametrize("body", [(200, 30, 40), (40, 170, 120), (230, 170, 30), (60, 80, 200)])
def test_thin_parts_give_their_own_colour_not_their_blend_with_the_next_part(body):
    """A wheel of thin coloured rims between black tyres: the pixels straddling rim and tyre blend the
    two (darker); the theme is the rim's colour, not that blend."""
    img = Image.new("RGBA", (480, 480), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for i, r in enumerate(range(230, 30, -10)):
        draw.ellipse((240 - r, 240 - r, 240 + r, 240 + r), fill=(*body, 255) if i % 2 == 0 else (28, 28, 30, 255))

    theme = product_theme_colours(img).theme

    assert float(delta_e_2000(srgb_to_lab(np.array(theme, float)), srgb_to_lab(np.array(body, float)))) < 2.0


@pytest.mark.parametrize("body", [(200, 30, 40), (40, 170, 120), (120, 120, 125)])
def test_the_theme_is_the_lit_surface_not_its_shading(body):
    """A cylinder lit from the front darkens towards its sides; the colour a shopper names is the
    surface under the light, not the average of it and its shade."""
    k = 1 - 0.5 * np.linspace(-1, 1, 300) ** 2
    pixels = np.zeros((480, 380, 4), np.uint8)
    pixels[40:440, 40:340, :3] = np.round(np.asarray(body, float)[None, None, :] * k[None, :, None])
    pixels[40:440, 40:340, 3] = 255

    theme = product_theme_colours(Image.fromarray(pixels)).theme

    assert float(delta_e_2000(srgb_to_lab(np.array(theme, float)), srgb_to_lab(np.array(body, float)))) < 1.6


@pytest.mark.parametrize(("h", "w", "levels"), [(72, 72, 256), (40, 72, 4), (1, 9, 256), (5, 1, 2)])
def test_purity_takes_each_neighbour_pair_once_with_the_same_result(h, w, levels):
    """`_purity` measures each pair of neighbours once; the weights are those of measuring both ways."""
    from synthesis.colour import srgb8_to_lab
    from synthesis.product import MIXED_DE, _purity

    rgb = (np.random.default_rng(h * w).integers(0, levels, (h, w, 3)) * (255 // max(1, levels - 1))).astype(np.uint8)
    lab = np.pad(srgb8_to_lab(rgb), ((1, 1), (1, 1), (0, 0)), mode="edge")
    centre = lab[1 : h + 1, 1 : w + 1]

    def dist2(dy, dx):
        d = centre - lab[1 + dy : h + 1 + dy, 1 + dx : w + 1 + dx]
        return np.einsum("ijk,ijk->ij", d, d)

    e2 = np.zeros((h, w), np.float32)
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        e2 = np.maximum(e2, np.minimum(dist2(dy, dx), dist2(-dy, -dx)))

    np.testing.assert_array_equal(_purity(rgb), 1.0 / (1.0 + e2 / MIXED_DE**2))
