"""The reference creatives still look the same (within a perceptual tolerance)."""

import pytest
from PIL import Image

from synthesis.tests.reference_renders import (
    CASES,
    PHOTO_CASES,
    REFERENCE_DIR,
    perceptual_difference,
    render_references,
)


@pytest.fixture(scope="module")
def renders():
    return render_references()


@pytest.mark.parametrize("name", sorted([*CASES, *PHOTO_CASES]))
def test_render_matches_its_reference(renders, name):
    reference = Image.open(REFERENCE_DIR / f"{name}.png")

    mean_de, share_changed = perceptual_difference(renders[name], reference)

    assert renders[name].size == reference.size
    assert mean_de < 1.0 and share_changed < 0.005, (
        f"{name} changed (mean dE {mean_de:.2f}, {share_changed:.2%} of pixels differ); if intended, run "
        "`make reference-renders` and review the PNGs"
    )
