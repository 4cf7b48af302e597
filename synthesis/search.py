"""Candidate search: many cheap low-resolution renders, scored; only the best rendered in full.

For each requested size: candidates combine a template (one that suits the product count),
a palette derived from the product's theme colour, an arrangement for the canvas shape, a
copy variant and one choice per declared layer variation. Each is rendered at a scoring
resolution (about 180 x 180 pixels' worth), scored, and the top K are rendered at full
size and scored again. Everything random comes from one seeded generator per size, so the
same inputs and seed give byte-identical images.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from . import __version__
from .colour import Palette, ThemeColours, hex_to_rgb, palette_variants, rank_palettes
from .copyfit import PriceDoesNotFit
from .errors import SynthesisError, TimeBudgetExceeded
from .fonts import FontRegistry
from .layout import aspect_class
from .product import PreparedProduct
from .render import AdCopy, LayerChoice, RenderChoices, Rendered, render
from .score import AestheticScore, Scorer, aesthetic_score, context_features
from .spec import ARRANGEMENTS, PRODUCT_GROUPINGS, Template

SCORE_SCALE = 180.0  # sqrt(W*H) of the scoring render


class NoSuitableTemplate(SynthesisError):
    code = "no_suitable_template"


@dataclass(frozen=True)
class Candidate:
    template: Template
    copy_index: int
    copy: AdCopy
    choices: RenderChoices

    def provenance(self) -> dict[str, Any]:
        """Everything needed to re-render this candidate byte for byte (with the same assets and fonts)."""
        return {
            "engine_version": __version__,
            "template": self.template.name,
            "copy_index": self.copy_index,
            "palette": {"name": self.choices.palette.name, **self.choices.palette.as_hex()},
            "arrangement": self.choices.arrangement,
            "grouping": self.choices.grouping,
            "layers": {k: dataclasses.asdict(v) for k, v in sorted(self.choices.layers.items())},
        }


@dataclass(frozen=True)
class Creative:
    size: tuple[int, int]
    rendered: Rendered
    score: AestheticScore
    candidate: Candidate
    rank: int
    provenance: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    creatives: tuple[Creative, ...]  # best first, per size in request order
    candidates_scored: int


def palette_from_template(template: Template, fallback: Palette) -> Palette | None:
    """The designer's own palette, completed from `fallback` for roles it leaves out."""
    if not template.default_palette:
        return None
    roles = {k: hex_to_rgb(v) for k, v in template.default_palette.items()}
    fields = {
        f.name: roles.get(f.name, getattr(fallback, f.name)) for f in dataclasses.fields(Palette) if f.name != "name"
    }
    return Palette(name=f"{template.name}:designer", **fields)


def _pick(rng: np.random.Generator, options: Sequence):
    return options[int(rng.integers(len(options)))] if len(options) > 1 else (options[0] if options else None)


def generate_candidates(
    templates: Sequence[Template],
    *,
    theme: ThemeColours,
    copies: Sequence[AdCopy],
    product_count: int,
    size: tuple[int, int],
    n: int,
    seed: int,
    palettes_per_template: int = 4,
    scene: bool = False,
) -> list[Candidate]:
    """`n` distinct-as-possible candidates for one canvas size, deterministic for a seed.

    `scene`: the product photo has no clean cut-out, so only templates that show scenes qualify.
    """
    cls = aspect_class(*size)
    suitable = [t for t in templates if t.products_min <= product_count <= t.products_max and cls in t.shapes]
    if scene:
        suitable = [t for t in suitable if t.takes_scenes and product_count == 1]
        if not suitable:
            raise NoSuitableTemplate(
                "The product photo has no clean cut-out (a scene) and no template here shows scene photos "
                f'alone on a {cls} canvas ({size[0]}x{size[1]}): add one with "scene": "full-bleed" or '
                '"cover", or upload a photo of the product on a plain backdrop or with transparency.'
            )
    if not suitable:
        raise NoSuitableTemplate(
            f"No template supports {product_count} product(s) on a {cls} canvas ({size[0]}x{size[1]})."
        )
    if not copies:
        raise SynthesisError("At least one ad copy is needed.")
    rng = np.random.default_rng([seed, size[0], size[1], product_count])
    variants = [p for p, _ in rank_palettes(theme, palette_variants(theme, n=palettes_per_template))]
    combos: list[tuple[Template, Palette, int]] = []
    for template in suitable:
        palettes = list(variants)
        designer = palette_from_template(template, variants[0])
        if designer is not None:
            palettes.insert(0, designer)
        for palette in palettes:
            for copy_index in range(len(copies)):
                combos.append((template, palette, copy_index))
    order = rng.permutation(len(combos))
    candidates: list[Candidate] = []
    for i in range(n):
        template, palette, copy_index = combos[int(order[i % len(combos)])]
        arrangement = _pick(rng, template.arrangement_options(cls)) or ARRANGEMENTS[cls][0]
        grouping = _pick(rng, template.product_grouping) or PRODUCT_GROUPINGS[0]
        layers: dict[str, LayerChoice] = {}
        for layer in template.layers:
            v = layer.variations
            choice = LayerChoice(
                visible=bool(_pick(rng, v.visible)),
                align=_pick(rng, v.align),
                asset=_pick(rng, v.assets),
                size_scale=float(_pick(rng, v.size_scale)),
                colour=_pick(rng, v.colour),
                plate=_pick(rng, v.plate),
            )
            if choice != LayerChoice():
                layers[layer.id] = choice
        choices = RenderChoices(palette=palette, arrangement=arrangement, grouping=grouping, layers=layers)
        candidates.append(Candidate(template, copy_index, copies[copy_index], choices))
    return candidates


def _scaled_products(products: Sequence[PreparedProduct], factor: float) -> tuple[PreparedProduct, ...]:
    """Products reduced for a scoring render; source_scale keeps upscale judged against the source."""
    out = []
    for product in products:
        target = max(8, round(max(product.image.size) * factor * 1.2))
        if target >= max(product.image.size):
            out.append(product)
            continue
        small = product.image.copy()
        small.thumbnail((target, target), Image.BILINEAR)
        ratio = small.width / product.image.width
        out.append(dataclasses.replace(product, image=small, source_scale=product.source_scale * ratio))
    return tuple(out)


def _scaled_assets(assets: Mapping[str, Image.Image], factor: float) -> dict[str, Image.Image]:
    """Assets reduced for scoring renders, so each candidate does not resize a full-size scene."""
    out = {}
    for name, img in assets.items():
        target = max(16, round(max(img.size) * factor * 1.5))
        if target < max(img.size):
            img = img.copy()
            img.thumbnail((target, target), Image.BILINEAR)
        out[name] = img
    return out


DUPLICATE_BITS = 6  # perceptual hashes this close (of 256 bits) are the same picture to a viewer


def perceptual_hash(image: Image.Image) -> int:
    """A 256-bit difference hash (dHash): the image in grey at 17x16, one bit per pair of neighbours.

    Equal pictures hash equal whatever their encoding; pictures a viewer cannot tell apart at a
    glance (a colour one step off, a re-encode) differ in a few bits at most.
    """
    small = np.asarray(image.convert("L").resize((17, 16), Image.BOX), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def same_picture(a: int, b: int) -> bool:
    return (a ^ b).bit_count() <= DUPLICATE_BITS


def search_creatives(
    templates: Sequence[Template],
    products: Sequence[PreparedProduct],
    copies: Sequence[AdCopy],
    sizes: Sequence[tuple[int, int]],
    *,
    theme: ThemeColours,
    fonts: FontRegistry,
    assets: Mapping[str, Image.Image],
    n: int = 40,
    top_k: int = 1,
    seed: int = 0,
    scorer: Scorer | None = None,
    deadline: float | None = None,
) -> SearchResult:
    """Best `top_k` creatives per size; those passing the hard checks always rank first.

    With a `deadline` (time.monotonic()) the search stops between renders once it has passed and
    raises TimeBudgetExceeded (a preview answers within its budget, and no work outlives it).
    """
    creatives: list[Creative] = []
    scored = 0
    products = tuple(products)
    for size in sizes:
        factor = min(1.0, SCORE_SCALE / math.sqrt(size[0] * size[1]))
        small_size = (max(16, round(size[0] * factor)), max(16, round(size[1] * factor)))
        small_products = _scaled_products(products, factor)
        small_assets = _scaled_assets(assets, factor)
        candidates = generate_candidates(
            templates,
            theme=theme,
            copies=copies,
            product_count=len(products),
            size=size,
            n=n,
            seed=seed,
            scene=any(p.scene for p in products),
        )
        ranked: list[tuple[tuple, int, Candidate]] = []
        cache: dict = {}
        for index, candidate in enumerate(candidates):
            TimeBudgetExceeded.check(deadline, "The candidate search")
            low = render(
                candidate.template,
                small_size,
                products=small_products,
                copy=candidate.copy,
                choices=candidate.choices,
                fonts=fonts,
                assets=small_assets,
                cache=cache,
                deadline=deadline,
                target_size=size,  # legible minimums are judged at the size the creative is made for
            )
            context = context_features(
                template=candidate.template.name, palette=candidate.choices.palette.name, size=size
            )
            score = aesthetic_score(low, theme=theme, palette=candidate.choices.palette, scorer=scorer, context=context)
            scored += 1
            ranked.append(((score.passes_hard_checks, score.total), -index, candidate))
        ranked.sort(key=lambda item: (item[0], item[1]), reverse=True)
        seen: set[str] = set()
        fingerprints: list[tuple[int, AdCopy]] = []
        kept: list[tuple[Candidate, Rendered, AestheticScore]] = []
        held_back: list[tuple[Candidate, Rendered, AestheticScore]] = []
        # The full-size render can differ from the scoring one (text wraps at another size), so a
        # winner is checked again; one that now breaks a hard rule gives way to the next, up to 3 x K tries.
        for _, _, candidate in ranked:
            key = repr(candidate.provenance())
            if key in seen:  # the same combination drawn twice
                continue
            seen.add(key)
            TimeBudgetExceeded.check(deadline, "The candidate search")
            full = render(
                candidate.template,
                size,
                products=products,
                copy=candidate.copy,
                choices=candidate.choices,
                fonts=fonts,
                assets=assets,
                deadline=deadline,
            )
            context = context_features(
                template=candidate.template.name, palette=candidate.choices.palette.name, size=size
            )
            score = aesthetic_score(
                full, theme=theme, palette=candidate.choices.palette, scorer=scorer, context=context
            )
            fingerprint = (perceptual_hash(full.image), candidate.copy)
            if any(copy == fingerprint[1] and same_picture(fingerprint[0], h) for h, copy in fingerprints):
                continue  # another choice drew the same ad: top-K means K distinct creatives
            fingerprints.append(fingerprint)
            (kept if score.passes_hard_checks else held_back).append((candidate, full, score))
            if len(kept) >= top_k or len(seen) >= 4 * top_k:
                break
        # Ranked by the full-size score the reviewer sees (the scoring render's order can differ).
        kept.sort(key=lambda item: item[2].total, reverse=True)
        held_back.sort(key=lambda item: item[2].total, reverse=True)
        chosen = (kept + held_back)[:top_k]
        if chosen and all(_price_left_out(score) for _, _, score in chosen):
            raise PriceDoesNotFit(
                f"The price {chosen[0][0].copy.price!r} does not fit a {size[0]}x{size[1]} canvas whole and legible "
                "in any template, even with the subtitle, badge, decoration, logo and title left out: leave this "
                "size out of the placement or shorten the price."
            )
        for rank, (candidate, full, score) in enumerate(chosen):
            provenance = {**candidate.provenance(), "seed": seed, "size": list(size), "copy_fit": copy_fit(full)}
            creatives.append(Creative(size, full, score, candidate, rank, provenance))
    return SearchResult(tuple(creatives), scored)


def copy_fit(rendered: Rendered) -> dict[str, Any]:
    """What the canvas drew of the copy: per text layer the full text and the text drawn (they
    differ when a long title was cut at a phrase boundary), and the elements left out, with why."""
    return {
        "texts": {t.layer_id: {"full_text": t.full_text, "drawn_text": t.drawn_text} for t in rendered.texts},
        "dropped": {d.layer_id: d.reason for d in rendered.dropped},
    }


def _price_left_out(score: AestheticScore) -> bool:
    return any(v.startswith("price_does_not_fit:") for v in score.violations)


def design_choices(template: Template, *, theme: ThemeColours, size: tuple[int, int]) -> RenderChoices:
    """The template as its designer drew it: every variation at its first option, the designer's
    palette (else the best palette for the product's theme), the first arrangement and grouping.

    What an editor previews, so a change shows as that change and not as another random draw.
    """
    variants = [p for p, _ in rank_palettes(theme, palette_variants(theme, n=1))]
    palette = palette_from_template(template, variants[0]) or variants[0]
    arrangement = template.arrangement_options(aspect_class(*size))[0]
    return RenderChoices(palette=palette, arrangement=arrangement, grouping=template.product_grouping[0])


def design_preview(
    template: Template,
    size: tuple[int, int],
    *,
    products: Sequence[PreparedProduct],
    copy: AdCopy,
    theme: ThemeColours,
    fonts: FontRegistry,
    assets: Mapping[str, Image.Image],
    scorer: Scorer | None = None,
    deadline: float | None = None,
) -> tuple[Rendered, AestheticScore]:
    """One full-size render of `design_choices`, scored as candidate search would score it.

    With a `deadline` (time.monotonic()), TimeBudgetExceeded once it has passed (checked between layers
    and before scoring).
    """
    choices = design_choices(template, theme=theme, size=size)
    rendered = render(
        template,
        size,
        products=tuple(products),
        copy=copy,
        choices=choices,
        fonts=fonts,
        assets=assets,
        deadline=deadline,
    )
    TimeBudgetExceeded.check(deadline, "The preview")
    context = context_features(template=template.name, palette=choices.palette.name, size=size)
    return rendered, aesthetic_score(rendered, theme=theme, palette=choices.palette, scorer=scorer, context=context)
