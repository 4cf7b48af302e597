"""The palette the editor's preview is drawn with, role by role, and what each role is for.

The editor shows each colour role as a swatch with its meaning, and guards the designer's free
(brand) colours by WCAG contrast against the colour that role's text sits on.
"""

from __future__ import annotations

from collections.abc import Mapping

from synthesis.colour import AA, contrast_ratio, hex_to_rgb

ROLE_MEANINGS: Mapping[str, str] = {
    "primary": "The brand's main colour: large shapes, plates and gradients.",
    "accent": "A second colour for highlights: badges, price plates, decorations.",
    "background": "The canvas behind everything.",
    "text": "Copy set straight on the background.",
    "on_primary": "Copy set on a primary-coloured plate or shape.",
    "on_accent": "Copy set on an accent plate, such as a badge.",
}

# Each text role and the role it is read against: the pairs the contrast guard checks.
TEXT_ON: Mapping[str, str] = {"text": "background", "on_primary": "primary", "on_accent": "accent"}


def palette_contrasts(palette: Mapping[str, str]) -> dict[str, float]:
    """WCAG 2.x contrast of each text role on its ground, e.g. {"text": 7.2, ...} (roles present only)."""
    return {
        ink: round(float(contrast_ratio(hex_to_rgb(palette[ink]), hex_to_rgb(palette[ground]))), 2)
        for ink, ground in TEXT_ON.items()
        if ink in palette and ground in palette
    }


def editor_palette(*, parsed, size: tuple[int, int]) -> dict[str, str]:
    """The palette `design_preview` draws `parsed` with at `size`: the template's own colours, the rest
    from the first sample product's theme (as the preview's render does)."""
    from synthesis.product import product_theme_colours
    from synthesis.search import design_choices

    from .engine import sample_products

    theme = product_theme_colours(sample_products()[0].image)
    return design_choices(parsed, theme=theme, size=size).palette.as_hex()


def palette_problems(palette: Mapping[str, str], *, own: Mapping[str, str]):
    """A warning for each text role below AA (4.5:1) on its ground where the designer chose either colour."""
    from .problems import Problem

    out = []
    for ink, ratio in palette_contrasts(palette).items():
        ground = TEXT_ON[ink]
        if ratio < AA and (ink in own or ground in own):
            out.append(
                Problem(
                    "warning",
                    "palette_contrast",
                    "",
                    f"The brand colour {ink} {palette[ink]} on {ground} {palette[ground]} has contrast {ratio:.2f}:1; "
                    f"text needs 4.5:1, so the engine will draw that text in another palette colour.",
                )
            )
    return out
