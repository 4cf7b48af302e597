"""The bridge from stored design material to the synthesis engine: fonts, assets, products.

The engine takes everything explicitly; this module builds those inputs from settings and
storage, once per process where they do not change (fonts) and per call where they do.
`engine_inputs` gathers them for one render or search: generation, previews and the editor.
"""

import functools
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from PIL import Image

from creativeadmin.stages import stage
from synthesis.colour import ThemeColours
from synthesis.fonts import SYSTEM_FONT_DIRS, FontRegistry, discover_fonts
from synthesis.images import load_image
from synthesis.product import PreparedProduct, prepare_product, prepare_scene, product_theme_colours
from synthesis.samples import sample_assets

from .models import Asset


@functools.lru_cache(maxsize=1)
def font_registry() -> FontRegistry:
    """The fonts templates can name: CREATIVE_FONT_DIRS, then the system's."""
    return discover_fonts([*map(Path, settings.CREATIVE_FONT_DIRS), *SYSTEM_FONT_DIRS])


@functools.lru_cache(maxsize=1)
def _builtin_assets() -> dict[str, Image.Image]:
    return sample_assets()


@functools.lru_cache(maxsize=256)
def _stored_image(name: str) -> Image.Image:
    # Stored names are content-addressed (sha256), so a name always means the same pixels.
    from django.core.files.storage import default_storage

    with stage("decode"), default_storage.open(name, "rb") as fh:
        return load_image(fh.read(), max_pixels=settings.CREATIVE_MAX_IMAGE_PIXELS)


def asset_images() -> dict[str, Image.Image]:
    """Assets by name: the built-in samples, overridden by uploaded assets of the same name."""
    images = dict(_builtin_assets())
    for name, file_name in (
        Asset.objects.exclude(kind=Asset.Kind.FOOTAGE).order_by("created_at").values_list("name", "file")
    ):
        images[name] = _stored_image(file_name)
    return images


@functools.lru_cache(maxsize=128)
def prepared_product(image_name: str) -> PreparedProduct:
    """A product's main image, cut out and trimmed; cached by its content-addressed storage name."""
    image = _stored_image(image_name)
    with stage("cut-out"):
        return prepare_product(image)


@functools.lru_cache(maxsize=32)
def prepared_scene(image_name: str) -> PreparedProduct:
    """A product's lifestyle photo, shown whole (never cut out); cached by its storage name."""
    image = _stored_image(image_name)
    with stage("cut-out"):  # trimmed and reduced like a product, though never cut out
        return prepare_scene(image, reason="a lifestyle photo of the product")


def footage_file(asset_name: str) -> Path:
    """A local path to the newest footage asset of that name, for ffmpeg to read.

    Local storage hands out its own path; remote storage (S3) is downloaded once into
    VAR_DIR/footage-cache under the content-addressed name, written to a temporary name first.
    """
    from django.core.files.storage import default_storage

    from synthesis.ffmpeg import FootageError

    asset = Asset.objects.filter(kind=Asset.Kind.FOOTAGE, name=asset_name).order_by("-created_at").first()
    if asset is None:
        raise FootageError(f"No footage asset named {asset_name!r} has been uploaded")
    try:
        return Path(default_storage.path(asset.file.name))
    except NotImplementedError:
        pass
    cached = Path(settings.VAR_DIR) / "footage-cache" / Path(asset.file.name).name
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")
        with default_storage.open(asset.file.name, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(partial, cached)
    return cached


@functools.lru_cache(maxsize=1)
def sample_products() -> tuple[PreparedProduct, ...]:
    """Four product photos drawn by code (jacket, bottle, sneaker, bag) for previews and the preview sheet."""
    from synthesis.samples import product_photo

    made = [((178, 34, 52), "jacket"), ((31, 111, 74), "bottle"), ((40, 70, 160), "sneaker"), ((230, 170, 40), "bag")]
    return tuple(prepare_product(product_photo(c, shape=s, size=600, seed=i).image) for i, (c, s) in enumerate(made))


# The assets' reductions for scoring renders, kept by the search between product sets (this process's).
_ASSET_MEMO: dict = {}


@dataclass(frozen=True)
class EngineInputs:
    """What the engine renders a set of products with."""

    products: tuple[PreparedProduct, ...]
    theme: ThemeColours  # the first product's colours (the first sample's when there are no products)
    fonts: FontRegistry
    assets: dict[str, Image.Image]
    asset_memo: dict = field(default_factory=lambda: _ASSET_MEMO)  # search_creatives(asset_memo=...)


def engine_inputs(
    *, product_images: Sequence[str] | None = None, samples: int = 0, scene_image: str | None = None
) -> EngineInputs:
    """The engine's inputs for stored product images (their storage names), or for the first `samples`
    sample products when no images are given: the products prepared, their theme colours, the fonts and
    the assets. `scene_image`: one product shown in its lifestyle photo instead (the theme colours still
    come from its main image, the colour a shopper names). Raises the engine's errors for an image it
    cannot prepare."""
    if scene_image is not None:
        main = prepared_product(product_images[0]) if product_images else None
        scene = prepared_scene(scene_image)
        with stage("theme"):
            theme = product_theme_colours((main or scene).image)
        return EngineInputs(products=(scene,), theme=theme, fonts=font_registry(), assets=asset_images())
    if product_images is not None:
        products = tuple(prepared_product(name) for name in product_images)
    else:
        products = sample_products()[:samples]
    first = (products or sample_products())[0]
    with stage("theme"):
        theme = product_theme_colours(first.image)
    return EngineInputs(products=products, theme=theme, fonts=font_registry(), assets=asset_images())
