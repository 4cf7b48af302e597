"""Candidate search: many cheap low-resolution renders, scored; only the best rendered in full.

A product set's candidates are design families, drawn once for all its sizes: a template (one
that suits the product count), a palette derived from the product's theme colour, a copy
variant and one choice per declared layer variation, with an arrangement per canvas shape. Each
family is rendered at a scoring resolution (about 180 x 180 pixels' worth) at every size and
scored across them; the top K families are rendered at full size and scored again. So the
sizes of one product set share one look, and only their layout differs. Everything random
comes from one seeded generator, so the same inputs and seed give byte-identical images.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
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
from .render import AdCopy, FitMemo, LayerChoice, RenderChoices, Rendered, TextMemo, render, resized_to
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
    family: str = ""  # the design family it belongs to (Family.id): one look across the set's sizes


@dataclass(frozen=True)
class SearchResult:
    creatives: tuple[Creative, ...]  # best first, per size in request order
    candidates_scored: int
    refused: Mapping[tuple[int, int], str] = field(default_factory=dict)  # size -> why nothing was made there


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


SHAPES = tuple(ARRANGEMENTS)  # every canvas shape, in a fixed order: a family's draws never depend on the sizes asked


@dataclass(frozen=True)
class Family:
    """One look for a product set across sizes: the template, palette, copy and every layer choice.

    A product set's creatives at each size come from one family; only the arrangement (the
    layout the template declares for that canvas shape) differs between its sizes.
    """

    template: Template
    copy_index: int
    copy: AdCopy
    palette: Palette
    grouping: str
    layers: Mapping[str, LayerChoice]
    arrangements: Mapping[str, str]  # canvas shape -> arrangement

    def covers(self, size: tuple[int, int]) -> bool:
        return aspect_class(*size) in self.template.shapes

    def at(self, size: tuple[int, int]) -> Candidate:
        """The family's candidate at one size: its choices with the arrangement for that canvas shape."""
        choices = RenderChoices(
            palette=self.palette,
            arrangement=self.arrangements[aspect_class(*size)],
            grouping=self.grouping,
            layers=self.layers,
        )
        return Candidate(self.template, self.copy_index, self.copy, choices)

    @property
    def id(self) -> str:
        """A short stable name for the family (12 hex digits of a hash of its choices)."""
        identity = repr(
            (
                self.template.name,
                self.copy_index,
                self.palette.name,
                self.palette.as_hex(),
                self.grouping,
                sorted((k, dataclasses.astuple(v)) for k, v in self.layers.items()),
                sorted(self.arrangements.items()),
            )
        )
        return hashlib.sha256(identity.encode()).hexdigest()[:12]


def generate_families(
    templates: Sequence[Template],
    *,
    theme: ThemeColours,
    copies: Sequence[AdCopy],
    product_count: int,
    n: int,
    seed: int,
    palettes_per_template: int = 4,
    scene: bool = False,
    shapes: Sequence[str] = SHAPES,
) -> list[Family]:
    """`n` distinct-as-possible design families, deterministic for a seed.

    Templates that suit the product count and at least one of `shapes` take part. `scene`: the
    product photo has no clean cut-out, so only templates that show scenes qualify.
    """
    suitable = [
        t for t in templates if t.products_min <= product_count <= t.products_max and any(s in t.shapes for s in shapes)
    ]
    where = "/".join(shapes)
    if scene:
        suitable = [t for t in suitable if t.takes_scenes and product_count == 1]
        if not suitable:
            raise NoSuitableTemplate(
                "The product photo has no clean cut-out (a scene) and no template here shows scene photos "
                f'alone on a {where} canvas: add one with "scene": "full-bleed" or '
                '"cover", or upload a photo of the product on a plain backdrop or with transparency.'
            )
    if not suitable:
        raise NoSuitableTemplate(f"No template supports {product_count} product(s) on a {where} canvas.")
    if not copies:
        raise SynthesisError("At least one ad copy is needed.")
    rng = np.random.default_rng([seed, product_count])
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
    families: list[Family] = []
    for i in range(n):
        template, palette, copy_index = combos[int(order[i % len(combos)])]
        arrangements = {s: _pick(rng, template.arrangement_options(s)) or ARRANGEMENTS[s][0] for s in SHAPES}
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
        families.append(Family(template, copy_index, copies[copy_index], palette, grouping, layers, arrangements))
    return families


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
    """`n` candidates for one canvas size: the families drawn for its shape, each at that size."""
    shape = aspect_class(*size)
    families = generate_families(
        templates,
        theme=theme,
        copies=copies,
        product_count=product_count,
        n=n,
        seed=seed,
        palettes_per_template=palettes_per_template,
        scene=scene,
        shapes=(shape,),
    )
    return [f.at(size) for f in families]  # each family's template is made for this shape


def thumbnail_size(size: tuple[int, int], target: int) -> tuple[int, int]:
    """The size `Image.thumbnail((target, target))` gives an image of `size` (its aspect kept, as Pillow rounds it)."""
    width, height = size
    if target >= width and target >= height:
        return size
    aspect = width / height

    def nearest(number: float, key) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    if 1 >= aspect:
        return nearest(target * aspect, key=lambda n: abs(aspect - n / target)), target
    return target, nearest(target / aspect, key=lambda n: 0 if n == 0 else abs(aspect - target / n))


def _scaled_products(
    products: Sequence[PreparedProduct], factor: float, cache: dict | None = None
) -> tuple[PreparedProduct, ...]:
    """Products reduced for a scoring render; source_scale keeps upscale judged against the source.

    Reduced as `Image.thumbnail` reduces them (the same pixels), from one premultiplied copy per
    product in `cache` (the search's: it reduces each product for every size and draws it at each).
    """
    out = []
    for product in products:
        target = max(8, round(max(product.image.size) * factor * 1.2))
        if target >= max(product.image.size):
            out.append(product)
            continue
        small = resized_to(product.image, thumbnail_size(product.image.size, target), cache)
        ratio = small.width / product.image.width
        out.append(dataclasses.replace(product, image=small, source_scale=product.source_scale * ratio))
    return tuple(out)


_BACKDROPS = "backdrops"  # the asset memo's entry for `render`'s backdrop memo (its other keys are tuples)
_TEXTS = "texts"  # the asset memo's entry for `render`'s text memo
_FITS = "fits"  # the asset memo's entry for `render`'s copy fits
ASSET_MEMO_MAX = 256  # reductions a caller's memo holds before it starts again (assets are few and rarely change)


def _scaled_assets(
    assets: Mapping[str, Image.Image], factor: float, memo: dict | None = None
) -> dict[str, Image.Image]:
    """Assets reduced for scoring renders, so each candidate does not resize a full-size scene.

    With `memo` (a dict the caller keeps between searches) each asset image is reduced to each
    target once: every product set of a campaign scores over the same template assets.
    """
    out = {}
    for name, img in assets.items():
        target = max(16, round(max(img.size) * factor * 1.5))
        if target < max(img.size):
            key = (id(img), target)
            # The memo holds the original too, so its id is never reused while the entry lives.
            kept = memo.get(key) if memo is not None else None
            if kept is not None and kept[0] is img:
                small = kept[1]
            else:
                small = img.copy()
                small.thumbnail((target, target), Image.BILINEAR)
                if memo is not None:
                    if len(memo) >= ASSET_MEMO_MAX:
                        memo.clear()
                    memo[key] = (img, small)
            img = small
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


@dataclass
class _SizeScoring:
    """One size's scoring render inputs (products and assets reduced once per search)."""

    size: tuple[int, int]
    small_size: tuple[int, int]
    products: tuple[PreparedProduct, ...]
    assets: dict[str, Image.Image]
    cache: dict = field(default_factory=dict)

    @classmethod
    def of(cls, size, products, assets, asset_memo: dict | None = None, cache: dict | None = None) -> _SizeScoring:
        factor = min(1.0, SCORE_SCALE / math.sqrt(size[0] * size[1]))
        small_size = (max(16, round(size[0] * factor)), max(16, round(size[1] * factor)))
        scaled = _scaled_products(products, factor, cache)
        return cls(size, small_size, scaled, _scaled_assets(assets, factor, asset_memo))


@dataclass(frozen=True)
class _FamilyRenders:
    """A family's full-size renders, one per size it covers, with their scores."""

    family: Family
    renders: dict[tuple[int, int], tuple[Rendered, AestheticScore]]

    @property
    def passes(self) -> bool:
        return all(score.passes_hard_checks for _, score in self.renders.values())

    @property
    def total(self) -> float:
        return sum(score.total for _, score in self.renders.values()) / max(1, len(self.renders))


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
    stage: Callable[[str], AbstractContextManager] | None = None,
    asset_memo: dict | None = None,
) -> SearchResult:
    """The best `top_k` design families for the product set, each laid out at every size.

    `n` families are drawn once for all the sizes; each is rendered at the scoring resolution at
    every size it covers and ranked by how many sizes it covers, whether it passes every hard
    check and its mean score. The best are rendered in full at every size and checked again: a
    family that now fails a hard check anywhere gives way to the next (up to 4 x K families
    tried), and one that draws the same picture with the same copy as a kept family at any size
    is skipped (top-K means K distinct creatives). So the creative ranked k at each size is
    family k, and a product set's sizes look related.

    A size at which every kept family has to leave the price out is refused (`SearchResult.refused`,
    the reason in words); PriceDoesNotFit is raised when every size is refused.

    With a `deadline` (time.monotonic()) the search stops between renders once it has passed and
    raises TimeBudgetExceeded (a preview answers within its budget, and no work outlives it).

    `stage` (optional, e.g. the caller's timer): called with "render" around each full-size render,
    so a caller can tell the finalists' renders from the search (scoring renders, scores, ranking).
    `asset_memo` (optional): a dict kept between searches over the same assets, which then reduces
    each asset for the scoring renders once, not once per search, fits each asset background
    to each canvas once (scoring and full size), not once per search, rasterises a text
    set in the same box (the campaign's title, badge, price) once, and fits a copy another
    product set had in a family's layout once.
    """
    timed = stage or (lambda name: nullcontext())
    products = tuple(products)
    sizes = list(dict.fromkeys(tuple(s) for s in sizes))
    shapes = tuple(dict.fromkeys(aspect_class(*s) for s in sizes))
    families = generate_families(
        templates,
        theme=theme,
        copies=copies,
        product_count=len(products),
        n=n,
        seed=seed,
        scene=any(p.scene for p in products),
        shapes=shapes,
    )
    # The full-size renders' resizes (products, assets, gradients), shared by every family at every size.
    full_cache: dict = {}
    scoring = {size: _SizeScoring.of(size, products, assets, asset_memo, full_cache) for size in sizes}
    backdrops = None if asset_memo is None else asset_memo.setdefault(_BACKDROPS, {})
    text_memo = None if asset_memo is None else asset_memo.setdefault(_TEXTS, TextMemo())
    fits = None if asset_memo is None else asset_memo.setdefault(_FITS, FitMemo())
    scored = 0
    ranked: list[tuple[tuple, int, Family]] = []
    seen: set[str] = set()
    for index, family in enumerate(families):
        if family.id in seen:  # the same combination drawn twice
            continue
        seen.add(family.id)
        covered = [size for size in sizes if family.covers(size)]
        totals, passes = [], True
        for size in covered:
            TimeBudgetExceeded.check(deadline, "The candidate search")
            low = scoring[size]
            candidate = family.at(size)
            rendered = render(
                family.template,
                low.small_size,
                products=low.products,
                copy=family.copy,
                choices=candidate.choices,
                fonts=fonts,
                assets=low.assets,
                cache=low.cache,
                backdrops=backdrops,
                text_memo=text_memo,
                fits=fits,
                deadline=deadline,
                target_size=size,  # legible minimums are judged at the size the creative is made for
            )
            score = _score(rendered, family, size, theme=theme, scorer=scorer)
            scored += 1
            totals.append(score.total)
            passes = passes and score.passes_hard_checks
        if covered:
            ranked.append(((len(covered), passes, sum(totals) / len(totals)), -index, family))
    ranked.sort(key=lambda item: (item[0], item[1]), reverse=True)

    kept: list[_FamilyRenders] = []
    held_back: list[_FamilyRenders] = []
    # Per size, the kept families' images with their copy; each image's perceptual hash is taken
    # only when another family with the same copy is compared with it (with K = 1, rarely).
    fingerprints: dict[tuple[int, int], list[tuple[Image.Image, AdCopy]]] = {size: [] for size in sizes}
    hashes: dict[int, tuple[Image.Image, int]] = {}

    def hashed(image: Image.Image) -> int:
        kept = hashes.get(id(image))
        if kept is None or kept[0] is not image:  # the entry holds the image: its id is not reused meanwhile
            kept = hashes[id(image)] = (image, perceptual_hash(image))
        return kept[1]

    # The full-size render can differ from the scoring one (text wraps at another size), so each
    # family is checked again in full; up to 4 x K families are tried per size.
    tried = dict.fromkeys(sizes, 0)
    for _, _, family in ranked:
        open_sizes = [s for s in sizes if sum(s in r.renders for r in kept) < top_k and tried[s] < 4 * top_k]
        if not open_sizes:
            break
        if not any(family.covers(s) for s in open_sizes):
            continue
        renders, prints = {}, {}
        for size in sizes:
            if not family.covers(size):
                continue
            TimeBudgetExceeded.check(deadline, "The candidate search")
            with timed("render"):
                full = render(
                    family.template,
                    size,
                    products=products,
                    copy=family.copy,
                    choices=family.at(size).choices,
                    fonts=fonts,
                    assets=assets,
                    cache=full_cache,
                    backdrops=backdrops,
                    text_memo=text_memo,
                    fits=fits,
                    deadline=deadline,
                )
            renders[size] = (full, _score(full, family, size, theme=theme, scorer=scorer))
            prints[size] = full.image
            tried[size] += 1
        if any(
            copy == family.copy and same_picture(hashed(prints[size]), hashed(image))
            for size in prints
            for image, copy in fingerprints[size]
        ):
            continue  # another family draws the same ad at some size
        for size, image in prints.items():
            fingerprints[size].append((image, family.copy))
        result = _FamilyRenders(family, renders)
        (kept if result.passes else held_back).append(result)
    # Ranked by the full-size scores the reviewer sees (the scoring renders' order can differ).
    kept.sort(key=lambda r: r.total, reverse=True)
    held_back.sort(key=lambda r: r.total, reverse=True)
    chosen = kept + held_back

    creatives: list[Creative] = []
    refused: dict[tuple[int, int], str] = {}
    for size in sizes:
        at_size = [(r, *r.renders[size]) for r in chosen if size in r.renders][:top_k]
        if not at_size:
            refused[size] = (
                f"No template of these supports {len(products)} product(s) on a {aspect_class(*size)} canvas "
                f"({size[0]}x{size[1]})."
            )
            continue
        if all(_price_left_out(score) for _, _, score in at_size):
            refused[size] = (
                f"The price {at_size[0][0].family.copy.price!r} does not fit a {size[0]}x{size[1]} canvas whole and "
                "legible in any template, even with the subtitle, badge, decoration, logo and title left out: leave "
                "this size out of the placement or shorten the price."
            )
            continue
        for rank, (result, full, score) in enumerate(at_size):
            family = result.family
            provenance = {
                **family.at(size).provenance(),
                "family": family.id,
                "seed": seed,
                "size": list(size),
                "copy_fit": copy_fit(full),
            }
            creatives.append(Creative(size, full, score, family.at(size), rank, provenance, family=family.id))
    if refused and len(refused) == len(sizes):
        reasons = list(dict.fromkeys(refused.values()))
        if any("does not fit" in r for r in reasons):
            raise PriceDoesNotFit(" ".join(reasons))
        raise NoSuitableTemplate(" ".join(reasons))
    return SearchResult(tuple(creatives), scored, refused)


def _score(rendered: Rendered, family: Family, size: tuple[int, int], *, theme, scorer) -> AestheticScore:
    context = context_features(template=family.template.name, palette=family.palette.name, size=size)
    return aesthetic_score(rendered, theme=theme, palette=family.palette, scorer=scorer, context=context)


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
