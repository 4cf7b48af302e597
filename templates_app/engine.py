"""The bridge from stored design material to the synthesis engine: fonts, assets, products.

The engine takes everything explicitly; this module builds those inputs from settings and
storage, once per process where they do not change (fonts) and per call where they do.
"""

import functools
from pathlib import Path

from django.conf import settings
from PIL import Image

from synthesis.fonts import SYSTEM_FONT_DIRS, FontRegistry, discover_fonts
from synthesis.images import load_image
from synthesis.samples import sample_assets

from .models import Asset


@functools.lru_cache(maxsize=1)
def font_registry() -> FontRegistry:
    """The fonts templates can name: CREATIVE_FONT_DIRS, then the system's."""
    return discover_fonts([*map(Path, settings.CREATIVE_FONT_DIRS), *SYSTEM_FONT_DIRS])


def asset_images() -> dict[str, Image.Image]:
    """Assets by name: the built-in samples, overridden by uploaded assets of the same name."""
    images = sample_assets()
    for asset in Asset.objects.exclude(kind=Asset.Kind.FOOTAGE).order_by("created_at"):
        with asset.file.open("rb") as fh:
            images[asset.name] = load_image(fh.read(), max_pixels=settings.CREATIVE_MAX_IMAGE_PIXELS)
    return images
