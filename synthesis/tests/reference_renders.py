"""Reference renders: a few fixed creatives kept as PNGs, compared with a perceptual tolerance.

When a change to the engine is meant to change how ads look, regenerate them with
`make reference-renders` (python -m synthesis.tests.reference_renders), look at the PNGs,
and commit them with the change.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from synthesis.colour import palette_variants, srgb_to_lab
from synthesis.fonts import discover_fonts
from synthesis.product import prepare_product, product_theme_colours
from synthesis.render import AdCopy, RenderChoices, render
from synthesis.samples import product_photo, sample_assets
from synthesis.spec import load_template

HERE = Path(__file__).resolve().parent
REFERENCE_DIR = HERE / "reference"
TEMPLATE_DIR = HERE.parent / "templates"
CASES = {
    "single-hero-1080x1080": ("single-hero", (540, 540), 1),
    "single-hero-728x90": ("single-hero", (728, 90), 1),
    "scene-podium-1080x1920": ("scene-podium", (360, 640), 1),
    "multi-grid-1200x628": ("multi-grid", (600, 314), 3),
}


def render_references() -> dict[str, Image.Image]:
    fonts, assets = discover_fonts(), sample_assets()
    products = tuple(
        prepare_product(product_photo(c, shape=s, size=500, seed=i).image)
        for i, (c, s) in enumerate([((178, 34, 52), "jacket"), ((31, 58, 110), "bottle"), ((46, 125, 90), "sneaker")])
    )
    theme = product_theme_colours(products[0].image)
    palette = palette_variants(theme, n=1)[0]
    copy = AdCopy("网易严选 冬季羽绒服 限时直降", "90% 白鹅绒 · -20°C 保暖", "¥699", "限时直降")
    out = {}
    for name, (template_name, size, count) in CASES.items():
        template = load_template(TEMPLATE_DIR / f"{template_name}.json")
        out[name] = render(
            template,
            size,
            products=products[:count],
            copy=copy,
            choices=RenderChoices(palette=palette),
            fonts=fonts,
            assets=assets,
        ).image
    return out


def perceptual_difference(a: Image.Image, b: Image.Image) -> tuple[float, float]:
    """(mean CIELAB dE76, share of pixels with dE76 > 10) between two same-size images."""
    la = srgb_to_lab(np.asarray(a.convert("RGB"), dtype=np.float64))
    lb = srgb_to_lab(np.asarray(b.convert("RGB"), dtype=np.float64))
    de = np.sqrt(((la - lb) ** 2).sum(axis=2))
    return float(de.mean()), float((de > 10).mean())


def main() -> None:
    REFERENCE_DIR.mkdir(exist_ok=True)
    for name, image in render_references().items():
        path = REFERENCE_DIR / f"{name}.png"
        image.save(path, optimize=True)
        print(path)


if __name__ == "__main__":
    main()
