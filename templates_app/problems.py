"""What a render's hard checks, weak score components and renderer warnings mean, in sentences.

The engine names each problem with a code and the layer it concerns (`text_over_product:title`,
`low_contrast:price:3.12`, `text_overlap:subtitle:title.plate`); designers, operators and reviewers
read "The title covers the product at 728×90." One function per kind of input, each returning
`Problem`s that keep the code and the layer so a page can select the layer a sentence is about.
Every code `synthesis.score` emits has a sentence here (a test greps them), and so do the text-rule
codes of the creative-set work and the placement's file-size check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

# A score component below this is reported as a warning (the score panel shows all of them).
WEAK_COMPONENT = 0.5

ROLE_NAMES = {"title", "subtitle", "price", "badge", "logo", "product", "decoration", "shape", "background"}


@dataclass(frozen=True)
class Problem:
    severity: str  # "error": a hard check that blocks serving and publishing; "warning": worth a look
    code: str  # the engine's code, e.g. "text_over_product"
    layer: str  # the layer it is about ("" when none)
    text: str  # the sentence a person reads

    def as_dict(self) -> dict:
        return asdict(self)


def layer_name(layer_id: str) -> str:
    """'the title', 'the title's plate', 'the layer “promo-2”'."""
    if layer_id.endswith(".plate"):
        return f"{layer_name(layer_id.removesuffix('.plate'))}'s plate"
    base, bracket, index = layer_id.partition("[")
    if bracket:  # one of a layer's products: "product[1]"
        nth = int(index.rstrip("]") or 0)
        ordinal = ("", "second ", "third ", "fourth ")[nth] if nth < 4 else f"#{nth + 1} "
        return f"the {ordinal}{'product' if base == 'product' else base + ' product'}"
    if layer_id in ROLE_NAMES:
        return f"the {layer_id}"
    return f"the layer “{layer_id}”"


def layer_id_of(element_id: str) -> str:
    """The spec layer an engine element belongs to: 'product[1]' -> 'product', 'title.plate' -> 'title'."""
    return element_id.partition("[")[0].removesuffix(".plate")


def _cap(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


# code -> sentence template; {layer} is the layer's name, {other} the second layer's, {size} "at 728×90".
VIOLATIONS: Mapping[str, str] = {
    # synthesis.score.hard_violations
    "text_overflow": "{layer} runs outside its box{size}: shorten the copy or give it a larger box.",
    "outside_safe_area": "{layer} reaches into the safe margin{size}, where screens and frames may cut it.",
    "low_contrast": "{layer} is hard to read{size}: its contrast is {detail}:1, and text needs 4.5:1.",
    "text_over_product": "{layer} covers the product{size}.",
    "text_overlap": "{layer} overlaps {other}{size}.",
    "out_of_canvas": "{layer} goes off the canvas{size}.",
    # synthesis.score.presentation_violations
    "product_too_small": "{layer} is too small to see{size}.",
    "product_in_box": "{layer} is still in its photo's backdrop{size}: it needs a clean cut-out.",
    "product_off_stage": "{layer} floats beside the podium instead of standing on it{size}.",
    "product_lost_in_background": "{layer} is drawn in the colour around it{size}: it vanishes into the background.",
    # the text rules of the creative-set work
    "price_truncated": "{layer} is cut off{size}: a price is never shortened, give it more room.",
    "price_does_not_fit": "{layer} does not fit its box{size}, even at its smallest size.",
    "word_break": "{layer} breaks a word across two lines{size}.",
    "text_below_minimum": "{layer} would have to shrink below its minimum size to fit{size}.",
    "empty_plate": "{layer} is an empty plate{size}: it has no text to carry.",
    "title_smaller_than_subtitle": "The title is smaller than the subtitle{size}: the title should lead.",
    "text_cut_mid_phrase": "{layer} is cut off in the middle of a phrase{size}: give it more room or shorter copy.",
    # templates_app's preview sheet: the sample title shown whole before a template is published
    "title_cut": "{layer} is cut to “{detail}”{size}: the sample title must show whole before publishing; "
    "give the title a larger box or more lines.",
    # campaigns: a placement's file-size limit
    "over_file_size": "The file is too large for the placement ({detail}){size}.",
}

# component -> what a low value means, for the score panel's warnings.
COMPONENTS: Mapping[str, str] = {
    "readability": "Text is hard to read against what is behind it",
    "occlusion": "Text or graphics cover part of the product",
    "overlap": "Elements overlap one another",
    "alignment": "Elements do not line up with each other",
    "balance": "The layout is lopsided",
    "harmony": "The colours clash with the product's colours",
    "figure_ground": "The product blends into the background (figure-ground)",
    "prominence": "The product is not the most prominent thing",
    "sharpness": "The product is enlarged beyond its photo's pixels and looks soft",
    "text_fit": "Text is cramped in its boxes",
    "presentation": "A product is not shown as a designer would show it",
    "price_focus": "The price does not stand out: make it larger than the subtitle, or raise its contrast",
}


# Components about the product: their warning selects the product layer when clicked.
PRODUCT_COMPONENTS = {"figure_ground", "prominence", "sharpness", "presentation", "occlusion"}


def size_label(size: tuple[int, int] | list[int] | str | None) -> str:
    """' at 728×90' (or '' without a size)."""
    if not size:
        return ""
    if isinstance(size, str):
        size = tuple(int(v) for v in size.lower().split("x"))
    return f" at {size[0]}×{size[1]}"


def violation_problem(violation: str, *, size=None) -> Problem:
    """One hard-check code as a Problem; an unknown code still reads as a sentence naming it."""
    code, _, rest = violation.partition(":")
    parts = rest.split(":") if rest else []
    layer = parts[0] if parts and code != "over_file_size" else ""
    if code == "over_file_size":
        detail = rest.replace(">", " over ").replace("KB", " KB")
    else:
        detail = ":".join(parts[1:])
    other = parts[1] if code == "text_overlap" and len(parts) > 1 else ""
    template = VIOLATIONS.get(code)
    if template is None:
        subject = f" on {layer_name(layer)}" if layer else ""
        text = f"The hard check “{code}” failed{subject}{size_label(size)}."
    else:
        text = template.format(
            layer=layer_name(layer) if layer else "the layer",
            other=layer_name(other) if other else "another layer",
            size=size_label(size),
            detail=detail,
        )
    return Problem("error", code, layer_id_of(layer), _cap(text))


def violation_problems(violations: Iterable[str], *, size=None) -> list[Problem]:
    return [violation_problem(v, size=size) for v in violations]


def violation_sentences(violations: Iterable[str], *, size=None) -> list[str]:
    return [p.text for p in violation_problems(violations, size=size)]


def component_problems(components: Mapping[str, float], *, size=None) -> list[Problem]:
    """Each score component below WEAK_COMPONENT, weakest first, as a warning."""
    weak = sorted((v, k) for k, v in components.items() if k in COMPONENTS and v < WEAK_COMPONENT)
    return [
        Problem(
            "warning",
            f"weak_{name}",
            "product" if name in PRODUCT_COMPONENTS else "",
            f"{COMPONENTS[name]}{size_label(size)} (score {value:.2f} of 1).",
        )
        for value, name in weak
    ]


def warning_problems(warnings: Iterable[str]) -> list[Problem]:
    """The renderer's warnings ('title: box 300x20 is too small for one line at 24px')."""
    out = []
    for warning in warnings:
        layer, sep, message = warning.partition(": ")
        if not sep:
            layer, message = "", warning
        text = f"{_cap(layer_name(layer))}: {message}." if layer else f"{_cap(message)}."
        out.append(Problem("warning", "render_warning", layer_id_of(layer), text.replace("..", ".")))
    return out


def render_problems(
    *, violations: Iterable[str], components: Mapping[str, float], warnings: Iterable[str], size=None
) -> list[dict]:
    """Everything worth telling about one render, hard checks first, as dicts for JSON."""
    problems = violation_problems(violations, size=size) + component_problems(components, size=size)
    problems += warning_problems(warnings)
    return [p.as_dict() for p in problems]
